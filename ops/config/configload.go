package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// DefaultPath is $XDG_CONFIG_HOME/wotr/config.yaml ($HOME/.config when unset).
func DefaultPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "wotr", "config.yaml")
}

// Error is one violated rule, located in the file.
type Error struct {
	File  string
	Line  int
	Field string // e.g. contexts[0].regions[1].kafka.brokers[0]
	Rule  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Rule)
	}
	return fmt.Sprintf("%s: %s", loc, e.Rule)
}

// Load reads and validates the config file. Every violated rule is
// reported (joined), each naming the file, the line and the rule.
func Load(path string) (*Config, error) {
	if path == "" {
		path = DefaultPath()
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &NoConfigError{Path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Contexts {
		cfg.Contexts[i].Source = path
	}
	return cfg, nil
}

// MaxFileSize bounds a config file: contexts, not data.
const MaxFileSize = 1 << 20

// Parse validates data as the config file named path. No error it returns
// contains a secret: DSN passwords, URL credentials and the values of
// password keys are masked wherever they appear.
func Parse(path string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Rule: fmt.Sprintf("file is %d bytes; a config file is at most %d", len(data), MaxFileSize)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: path, Line: yamlErrLine(err), Rule: "not valid YAML: " + MaskSecrets(err.Error())}
	}
	cfg := &Config{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cfg, nil // empty file: no contexts
	}
	v := &configValidator{file: path, lines: map[string]int{}, secrets: secretsOf(&doc)}
	if err := RefuseAliases(&doc); err != nil {
		v.errs = append(v.errs, &Error{File: path, Line: err.Line, Rule: err.Rule})
		return nil, v.err()
	}
	root := doc.Content[0]
	v.walk(root, reflect.TypeOf(Config{}), "")
	if len(v.errs) > 0 {
		return nil, v.err()
	}
	if err := root.Decode(cfg); err != nil {
		v.errs = append(v.errs, &Error{File: path, Line: yamlErrLine(err), Rule: err.Error()})
		return nil, v.err()
	}
	v.validate(cfg)
	if len(v.errs) > 0 {
		return nil, v.err()
	}
	return cfg, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// Context returns the named context, or the current one when name is empty.
func (c *Config) Context(name string) (*ContextConfig, error) {
	if name == "" {
		name = c.CurrentContext
	}
	if name == "" {
		if len(c.Contexts) == 1 {
			return &c.Contexts[0], nil
		}
		return nil, errors.New("config: no context given and no current-context set")
	}
	var names []string
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i], nil
		}
		names = append(names, c.Contexts[i].Name)
	}
	return nil, fmt.Errorf("config: context %q not found (have: %s)", name, strings.Join(names, ", "))
}

// Primary returns the region whose role is primary, or nil.
func (c *ContextConfig) Primary() *RegionConfig {
	for i := range c.Regions {
		if c.Regions[i].Role == state.RolePrimary {
			return &c.Regions[i]
		}
	}
	return nil
}

// RegionsPrimaryFirst returns a copy of the regions with the primary first,
// the others in their configured order.
func (c *ContextConfig) RegionsPrimaryFirst() []RegionConfig {
	out := append([]RegionConfig(nil), c.Regions...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Role == state.RolePrimary && out[j].Role != state.RolePrimary })
	return out
}

type configValidator struct {
	file    string
	lines   map[string]int // field path -> line
	errs    []error
	secrets []string // values of password, dsn and query-dsn keys
}

func (v *configValidator) add(field, rule string) {
	line := v.lines[field]
	// fall back to the nearest parent that has a line
	for p := field; line == 0 && p != ""; {
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
		line = v.lines[p]
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Field: field, Rule: rule})
}

func (v *configValidator) err() error {
	for _, e := range v.errs {
		if ce, ok := e.(*Error); ok {
			ce.Field = MaskSecrets(ce.Field, v.secrets...)
			ce.Rule = MaskSecrets(ce.Rule, v.secrets...)
		}
	}
	sort.SliceStable(v.errs, func(i, j int) bool {
		return v.errs[i].(*Error).Line < v.errs[j].(*Error).Line
	})
	return errors.Join(v.errs...)
}

// walk checks node against the shape of t (unknown keys, wrong kinds) and
// records the line of every field path.
func (v *configValidator) walk(n *yaml.Node, t reflect.Type, path string) {
	v.lines[path] = n.Line
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			v.add(path, fmt.Sprintf("must be a mapping, got %s", nodeKind(n)))
			return
		}
		fields := map[string]reflect.StructField{}
		var known []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f
			known = append(known, name)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			sub := joinPath(path, k.Value)
			v.lines[sub] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				v.add(sub, fmt.Sprintf("unknown key %q (known: %s)", k.Value, strings.Join(known, ", ")))
				continue
			}
			if seen[k.Value] {
				v.add(sub, fmt.Sprintf("key %q given twice", k.Value))
			}
			seen[k.Value] = true
			v.walk(val, f.Type, sub)
			v.lines[sub] = k.Line
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			v.add(path, fmt.Sprintf("must be a mapping, got %s", nodeKind(n)))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			sub := joinPath(path, k.Value)
			v.lines[sub] = k.Line
			if seen[k.Value] {
				v.add(sub, fmt.Sprintf("key %q given twice", k.Value))
			}
			seen[k.Value] = true
			v.walk(val, t.Elem(), sub)
			v.lines[sub] = k.Line
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			v.add(path, fmt.Sprintf("must be a list, got %s", nodeKind(n)))
			return
		}
		for i, c := range n.Content {
			v.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!bool" && n.Tag != "!!null") {
			v.add(path, fmt.Sprintf("must be true or false, got %q", n.Value))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			v.add(path, fmt.Sprintf("must be a scalar, got %s", nodeKind(n)))
		}
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (v *configValidator) validate(cfg *Config) {
	names := map[string]bool{}
	for i, c := range cfg.Contexts {
		p := fmt.Sprintf("contexts[%d]", i)
		if c.Name == "" {
			v.add(p+".name", "missing: every context needs a name")
		} else if names[c.Name] {
			v.add(p+".name", fmt.Sprintf("context %q defined twice", c.Name))
		}
		names[c.Name] = true
		v.validateContext(p, &c)
	}
	if cfg.CurrentContext != "" && !names[cfg.CurrentContext] {
		v.add("current-context", fmt.Sprintf("names context %q, which is not defined", cfg.CurrentContext))
	}
}

func (v *configValidator) validateContext(p string, c *ContextConfig) {
	if len(c.Regions) == 0 {
		v.add(p+".regions", "missing: a context needs at least one region")
	}
	if c.HeaderColor != "" {
		if err := CheckColor(c.HeaderColor); err != nil {
			v.add(p+".header-color", err.Error())
		}
	}
	regions := map[string]bool{}
	primaries := 0
	for i, r := range c.Regions {
		rp := fmt.Sprintf("%s.regions[%d]", p, i)
		switch {
		case r.Name == "":
			v.add(rp+".name", "missing: every region needs a name")
		case regions[r.Name]:
			v.add(rp+".name", fmt.Sprintf("region %q defined twice", r.Name))
		}
		regions[r.Name] = true
		switch r.Role {
		case state.RolePrimary:
			primaries++
		case state.RoleSecondary:
		case "":
			v.add(rp+".role", "missing: role must be primary or secondary")
		default:
			v.add(rp+".role", fmt.Sprintf("role %q must be primary or secondary", r.Role))
		}
		if k := r.Kube; k != nil {
			if k.Kubeconfig == "" {
				v.add(rp+".kube.kubeconfig", "missing: path of the kubeconfig file")
			}
			if k.Namespace != "" && !dnsLabel.MatchString(k.Namespace) {
				v.add(rp+".kube.namespace", fmt.Sprintf("namespace %q is not a DNS label (lower-case letters, digits, '-')", k.Namespace))
			}
		}
		if k := r.Kafka; k != nil {
			if len(k.Brokers) == 0 {
				v.add(rp+".kafka.brokers", "missing: at least one broker host:port")
			}
			for j, b := range k.Brokers {
				v.checkHostPort(fmt.Sprintf("%s.kafka.brokers[%d]", rp, j), b)
			}
		}
		if pr := r.Prometheus; pr != nil {
			fp := rp + ".prometheus.url"
			if pr.URL == "" {
				v.add(fp, "missing: Prometheus base URL (http://host:port)")
			} else if u, err := url.Parse(pr.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.add(fp, fmt.Sprintf("url %q must be http:// or https:// with a host", pr.URL))
			}
		}
		if pg := r.Postgres; pg != nil {
			if pg.DSN == "" {
				v.add(rp+".postgres.dsn", "missing: PostgreSQL DSN (postgres://user@host:port/db)")
			} else if err := checkDSN(pg.DSN); err != nil {
				v.add(rp+".postgres.dsn", fmt.Sprintf("dsn %s: %v", MaskDSN(pg.DSN), err))
			}
			if pg.QueryDSN != "" {
				if err := checkDSN(pg.QueryDSN); err != nil {
					v.add(rp+".postgres.query-dsn", fmt.Sprintf("query-dsn %s: %v", MaskDSN(pg.QueryDSN), err))
				}
			}
		}
		if rd := r.Redis; rd != nil {
			if rd.Addr == "" {
				v.add(rp+".redis.addr", "missing: Redis host:port")
			} else {
				v.checkHostPort(rp+".redis.addr", rd.Addr)
			}
		}
		if chc := r.ClickHouse; chc != nil {
			if len(chc.Addrs) == 0 {
				v.add(rp+".clickhouse.addrs", "missing: at least one replica host:port (native protocol)")
			}
			for j, a := range chc.Addrs {
				v.checkHostPort(fmt.Sprintf("%s.clickhouse.addrs[%d]", rp, j), a)
			}
		}
		if h := r.HAProxy; h != nil {
			if h.Socket == "" {
				v.add(rp+".haproxy.socket", "missing: path of the runtime API unix socket")
			} else if !filepath.IsAbs(h.Socket) {
				v.add(rp+".haproxy.socket", fmt.Sprintf("socket %q must be an absolute path", h.Socket))
			}
		}
	}
	if primaries > 1 {
		v.add(p+".regions", fmt.Sprintf("%d regions have role primary; at most one may", primaries))
	}
	v.validateThresholds(p+".thresholds", c.Thresholds)
}

// validateThresholds applies each override to the defaults, so a bad key, a
// bad value and warn above crit are each named with their line.
func (v *configValidator) validateThresholds(p string, ts map[string]ThresholdOverride) {
	for _, name := range sortedKeys(ts) {
		o := ts[name]
		kp := p + "." + name
		k, ok := health.Lookup(name)
		if !ok {
			v.add(kp, fmt.Sprintf("unknown threshold %q (known: %s)", name, strings.Join(health.KeyNames(), ", ")))
			continue
		}
		if o.Warn == "" && o.Crit == "" {
			v.add(kp, "missing: give warn, crit or both")
			continue
		}
		bad := false
		for _, f := range []struct{ field, val string }{{"warn", o.Warn}, {"crit", o.Crit}} {
			if f.val == "" {
				continue
			}
			if _, err := health.ParseValue(k.Unit, f.val); err != nil {
				v.add(kp+"."+f.field, err.Error())
				bad = true
			}
		}
		if bad {
			continue
		}
		th := health.Defaults()
		if err := th.Override(name, o.Warn, o.Crit); err != nil {
			v.add(kp, err.Error())
		}
	}
}

func (v *configValidator) checkHostPort(field, addr string) {
	if err := CheckHostPort(addr); err != nil {
		v.add(field, err.Error())
	}
}

// CheckHostPort validates "host:port" with a port in 1..65535.
func CheckHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q must be host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		// Only the whole address is named: it is masked where it holds a
		// password; a port cut out of it would not be.
		return fmt.Errorf("address %q: the port must be a number in 1..65535", addr)
	}
	return nil
}

func checkDSN(dsn string) error {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("not a valid URL")
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return fmt.Errorf("scheme %q must be postgres or postgresql", u.Scheme)
		}
		if u.Host == "" {
			return errors.New("has no host")
		}
		if u.Port() != "" {
			return CheckHostPort(u.Host)
		}
		return nil
	}
	// keyword=value form
	for _, kv := range strings.Fields(dsn) {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("%q is not keyword=value", kv)
		}
	}
	return nil
}

var kvPasswordRe = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// MaskDSN hides the password of a DSN (URL or keyword=value form) for display.
func MaskDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "<invalid dsn>"
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvPasswordRe.ReplaceAllString(dsn, "${1}xxxxx")
}

// SaveContext writes ctx into the config file at path, replacing the context of
// the same name or appending it, and leaving every other context and key as it
// was. The file is created (with current-context set to ctx) when absent.
func SaveContext(path string, ctx ContextConfig) error {
	if path == "" {
		path = DefaultPath()
	}
	var doc yaml.Node
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		data = nil
	case err != nil:
		return fmt.Errorf("config: %w", err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if _, err := Parse(path, data); err != nil {
			return fmt.Errorf("config: refusing to rewrite an invalid file: %w", err)
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	var ctxNode yaml.Node
	if err := ctxNode.Encode(ctx); err != nil {
		return fmt.Errorf("config: encode context %q: %w", ctx.Name, err)
	}
	contexts := mapValue(root, "contexts")
	if contexts == nil {
		contexts = &yaml.Node{Kind: yaml.SequenceNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "contexts"}, contexts)
	}
	replaced := false
	for i, c := range contexts.Content {
		if n := mapValue(c, "name"); n != nil && n.Value == ctx.Name {
			contexts.Content[i] = &ctxNode
			replaced = true
		}
	}
	if !replaced {
		contexts.Content = append(contexts.Content, &ctxNode)
	}
	if cur := mapValue(root, "current-context"); cur == nil || cur.Value == "" {
		if cur == nil {
			root.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "current-context"}, {Kind: yaml.ScalarNode, Value: ctx.Name}}, root.Content...)
		} else {
			cur.Value = ctx.Name
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("config: encode: %w", err)
	}
	if err := WritePrivate(path, buf.Bytes()); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
