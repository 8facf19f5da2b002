package demo

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ServiceMap maps in-cluster service names (the hosts the manifests name, like
// "kafka-service" or "postgres-service") to the local host:port that serves them.
type ServiceMap map[string]string

// Validate rejects entries that are not a host name mapped to host:port.
func (m ServiceMap) Validate() error {
	for name, addr := range m {
		if name == "" || strings.ContainsAny(name, ":/ ,") {
			return fmt.Errorf("service name %q: must be a bare host name", name)
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return fmt.Errorf("service %q address %q: must be host:port", name, addr)
		}
	}
	return nil
}

// names sorted longest first, so "postgres-service-standby" wins over "postgres-service".
func (m ServiceMap) names() []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// RewriteEnv maps cluster names in env values to local endpoints. A name with a
// port ("kafka-service:9092") becomes the local host:port. A *_HOST variable
// that holds just a name becomes the local host, and its sibling *_PORT is set
// to the local port: the cluster's port means nothing on loopback. Other names
// standing alone in a value (a URL host, a list entry) become host:port.
func (m ServiceMap) RewriteEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	if len(m) == 0 {
		return out
	}
	names := m.names()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = m.rewriteValue(env[k], names)
	}
	// Second pass: a sibling _PORT set in the manifest must not win over the mapping.
	for _, k := range keys {
		if addr, ok := m[strings.TrimSpace(env[k])]; ok && strings.HasSuffix(k, "_HOST") {
			host, port, _ := net.SplitHostPort(addr)
			out[k] = host
			out[strings.TrimSuffix(k, "_HOST")+"_PORT"] = port
		}
	}
	return out
}

var hostToken = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9.\-]*(:[0-9]+)?`)

func (m ServiceMap) rewriteValue(v string, names []string) string {
	return hostToken.ReplaceAllStringFunc(v, func(tok string) string {
		host := tok
		if i := strings.LastIndexByte(tok, ':'); i >= 0 {
			host = tok[:i]
		}
		if addr, ok := m[host]; ok {
			return addr
		}
		// Fully qualified service names: kafka-service.wotr.svc.cluster.local.
		for _, n := range names {
			if strings.HasPrefix(host, n+".") && strings.Contains(host, ".svc") {
				return m[n]
			}
		}
		return tok
	})
}

// PodInfo carries what the downward API would give a container.
type PodInfo struct {
	Name, Namespace, Node, IP string
	Labels                    map[string]string
}

// ContainerEnv resolves a container's env the way the kubelet does for what
// can be resolved without a cluster network: plain values with $(VAR)
// references expanded, fieldRef to the pod's name, namespace, node and IP,
// and resourceFieldRef to the container's own requests and limits. Other
// valueFrom sources (secrets, config maps, an unset limit, which the kubelet
// would take from the node) are skipped and reported in the second result.
func ContainerEnv(c corev1.Container, pod PodInfo) (map[string]string, []string) {
	env := map[string]string{}
	var skipped []string
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandRefs(e.Value, env)
			continue
		}
		if fr := e.ValueFrom.FieldRef; fr != nil {
			if v, ok := fieldValue(fr.FieldPath, pod); ok {
				env[e.Name] = v
				continue
			}
		}
		if rr := e.ValueFrom.ResourceFieldRef; rr != nil {
			if v, ok := resourceValue(rr, c.Resources); ok {
				env[e.Name] = v
				continue
			}
		}
		skipped = append(skipped, e.Name)
	}
	return env, skipped
}

// resourceValue is the kubelet's rendering: the quantity divided by the
// divisor (default 1), rounded up; CPU is counted in millicores first.
func resourceValue(ref *corev1.ResourceFieldSelector, res corev1.ResourceRequirements) (string, bool) {
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", false
	}
	var list corev1.ResourceList
	switch kind {
	case "limits":
		list = res.Limits
	case "requests":
		list = res.Requests
	default:
		return "", false
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		return "", false
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		m, d := q.MilliValue(), divisor.MilliValue()
		return strconv.FormatInt((m+d-1)/d, 10), true
	}
	v, d := q.Value(), divisor.Value()
	return strconv.FormatInt((v+d-1)/d, 10), true
}

func fieldValue(path string, pod PodInfo) (string, bool) {
	switch path {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "spec.nodeName":
		return pod.Node, true
	case "status.podIP", "status.hostIP":
		return pod.IP, true
	}
	if strings.HasPrefix(path, "metadata.labels['") && strings.HasSuffix(path, "']") {
		v, ok := pod.Labels[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.labels['"), "']")]
		return v, ok
	}
	return "", false
}

// expandRefs expands $(NAME) from earlier variables; $$ escapes, unknown refs stay.
func expandRefs(v string, env map[string]string) string {
	if !strings.Contains(v, "$") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		switch v[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(v[i:], ')')
			if end < 0 {
				b.WriteString(v[i:])
				return b.String()
			}
			name := v[i+2 : i+end]
			if val, ok := env[name]; ok {
				b.WriteString(val)
			} else {
				b.WriteString(v[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// EnvList renders env as KEY=VALUE in a stable order.
func EnvList(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// HostPort splits "host:port" into its parts with a numeric port.
func HostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: port must be a number", addr)
	}
	return h, n, nil
}
