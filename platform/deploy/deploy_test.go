package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	chschema "github.com/wotr/wotr-tui/platform/deploy/clickhouse"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kube}}))
}

// Every manifest is admitted by a real kube-apiserver (server-side apply,
// dry run), and nothing is persisted.
func TestKubeManifestsServerSideDryRun(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applied, err := Apply(ctx, p.Kube.RestConfig(), ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatalf("server-side dry-run apply:\n%v", err)
	}
	ms, _ := Manifests()
	if len(applied) != len(ms) || len(ms) < 40 {
		t.Fatalf("applied %d of %d objects", len(applied), len(ms))
	}
	_, err = p.Kube.Clientset.AppsV1().Deployments(Namespace).Get(ctx, "wotr-api", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("dry run persisted wotr-api (get: %v)", err)
	}
}

// The apiserver refuses a broken manifest, so the dry run above can fail.
func TestDryRunRejectsInvalidObject(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ms, err := Manifests("k8s/base/10-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj := ms[0].Object.DeepCopy()
	if err := unstructured.SetNestedField(obj.Object, int64(-3), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	body, _ := yaml.Marshal(obj.Object)
	force := true
	_, err = p.Kube.Clientset.AppsV1().Deployments(Namespace).Patch(context.Background(), obj.GetName(), "application/apply-patch+yaml", body,
		metav1.PatchOptions{FieldManager: "test", Force: &force, DryRun: []string{metav1.DryRunAll}})
	if err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("negative replicas admitted: %v", err)
	}
}

func find(t *testing.T, ms []Manifest, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, m := range ms {
		if m.Object.GetKind() == kind && m.Object.GetName() == name {
			return m.Object
		}
	}
	t.Fatalf("no %s/%s in the manifests", kind, name)
	return nil
}

// The manifests carry what the scaling guide asks for.
func TestManifestsContent(t *testing.T) {
	ms, err := Manifests()
	if err != nil {
		t.Fatal(err)
	}
	find(t, ms, "Namespace", "wotr")
	hpa := find(t, ms, "HorizontalPodAutoscaler", "wotr-api-hpa")
	min, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "minReplicas")
	max, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "maxReplicas")
	down, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds")
	metrics, _, _ := unstructured.NestedSlice(hpa.Object, "spec", "metrics")
	if min != 2 || max != 10 || down != 300 || len(metrics) != 3 {
		t.Errorf("HPA min %d max %d scaleDown window %d metrics %d; want 2, 10, 300, 3", min, max, down, len(metrics))
	}
	for _, n := range []string{"wotr-api-pdb", "wotr-consumer-pdb", "postgres-pdb", "zookeeper-pdb", "clickhouse-pdb"} {
		find(t, ms, "PodDisruptionBudget", n)
	}
	for name, replicas := range map[string]int64{"postgres": 3, "redis-cluster": 6, "kafka": 3, "zookeeper": 3, "clickhouse": 4} {
		ss := find(t, ms, "StatefulSet", name)
		if r, _, _ := unstructured.NestedInt64(ss.Object, "spec", "replicas"); r != replicas {
			t.Errorf("StatefulSet %s replicas %d, want %d", name, r, replicas)
		}
	}
	cm := find(t, ms, "ConfigMap", "clickhouse-config")
	schema, _, _ := unstructured.NestedString(cm.Object, "data", "schema.sql")
	cluster, _, _ := unstructured.NestedString(cm.Object, "data", "cluster.xml")
	if !strings.Contains(schema, "cityHash64(id)") || strings.Count(cluster, "<shard>") != 2 || strings.Count(cluster, "<replica>") != 4 ||
		strings.Count(cluster, "<node>") != 3 {
		t.Errorf("ClickHouse config is not 2 shards x 2 replicas + 3 ZooKeeper nodes with cityHash64(id) sharding")
	}
	// The ConfigMap carries schema.sql as it is; the local platform runs that
	// file (chschema), so the shipped schema is the one the tests exercise.
	if strings.TrimSpace(schema) != strings.TrimSpace(chschema.SQL()) {
		t.Errorf("the clickhouse-config ConfigMap's schema.sql differs from clickhouse/schema.sql")
	}
	role := find(t, ms, "Role", "wotr-console")
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		for _, v := range r.(map[string]any)["verbs"].([]any) {
			if v == "delete" || v == "*" || v == "create" {
				t.Errorf("console Role grants %v: more than read and scale", v)
			}
		}
		for _, res := range r.(map[string]any)["resources"].([]any) {
			if res == "secrets" || res == "pods/exec" {
				t.Errorf("console Role grants %s", res)
			}
			if s, _ := res.(string); strings.HasPrefix(s, "statefulsets") {
				t.Errorf("console Role grants %s: PostgreSQL, Kafka and ClickHouse are StatefulSets", s)
			}
			// Writes to Deployments and HPAs name the platform's own.
			if _, named := r.(map[string]any)["resourceNames"]; !named && (res == "deployments/scale" || hasWrite(r)) {
				t.Errorf("console Role writes %s without resourceNames", res)
			}
		}
	}
	nodes := find(t, ms, "ClusterRole", "wotr-console-nodes")
	b, _ := yaml.Marshal(nodes.Object)
	if !strings.Contains(string(b), "pods/eviction") || !strings.Contains(string(b), "patch") {
		t.Errorf("console ClusterRole cannot evict or cordon:\n%s", b)
	}
}

func hasWrite(rule any) bool {
	for _, v := range rule.(map[string]any)["verbs"].([]any) {
		if v != "get" && v != "list" && v != "watch" {
			return true
		}
	}
	return false
}

// writeEmbedded copies an embedded file to dir, applying replacements.
func writeEmbedded(t *testing.T, dir, name string, repl ...string) string {
	t.Helper()
	data, err := Files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(string(data))
	dst := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(dst, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	if localtest.Required() {
		t.Fatalf("%s not installed", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

func TestHAProxyConfigValid(t *testing.T) {
	bin := needBinary(t, "haproxy")
	cfg := writeEmbedded(t, t.TempDir(), "haproxy/wotr.cfg")
	out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}

// nginxTest runs nginx -t on the shipped server config inside a minimal main
// config under a temp prefix. nginx resolves upstream names while testing, so
// the compose service name is pointed at loopback.
func nginxTest(t *testing.T, extraUpstream string) ([]byte, error) {
	bin := needBinary(t, "nginx")
	dir := t.TempDir()
	conf := writeEmbedded(t, dir, "nginx/wotr-loadbalancer.conf",
		"server api:8000", "server 127.0.0.1:8000", "least_conn;", "least_conn;\n"+extraUpstream)
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	main := `pid ` + dir + `/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path ` + dir + `/tmp/body;
    proxy_temp_path ` + dir + `/tmp/proxy;
    fastcgi_temp_path ` + dir + `/tmp/fastcgi;
    uwsgi_temp_path ` + dir + `/tmp/uwsgi;
    scgi_temp_path ` + dir + `/tmp/scgi;
    include ` + conf + `;
}
`
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, "-t", "-p", dir, "-c", mainPath).CombinedOutput()
}

func TestNginxConfigValid(t *testing.T) {
	if out, err := nginxTest(t, ""); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// The scaling guide's active health checks need a third-party module: stock nginx
// refuses them, which is why the shipped config documents them instead.
func TestNginxRejectsGuideCheckDirective(t *testing.T) {
	out, err := nginxTest(t, "    check interval=3000 rise=2 fall=3 timeout=1000 type=http;\n")
	if err == nil || !strings.Contains(string(out), `unknown directive "check"`) {
		t.Fatalf("nginx -t accepted the check directive or failed otherwise: %v\n%s", err, out)
	}
}

func TestComposeFile(t *testing.T) {
	data, err := Files.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Name     string         `json:"name"`
		XAPIEnv  map[string]any `json:"x-api-env"`
		Volumes  map[string]any `json:"volumes"`
		Services map[string]struct {
			Command     any    `json:"command"`
			Entrypoint  any    `json:"entrypoint"`
			Expose      any    `json:"expose"`
			Restart     any    `json:"restart"`
			Healthcheck any    `json:"healthcheck"`
			Profiles    any    `json:"profiles"`
			Image       string `json:"image"`
			Build       *struct {
				Context    string `json:"context"`
				Dockerfile string `json:"dockerfile"`
			} `json:"build"`
			Ports       []string       `json:"ports"`
			Environment map[string]any `json:"environment"`
			Volumes     []string       `json:"volumes"`
			Deploy      map[string]any `json:"deploy"`
			DependsOn   any            `json:"depends_on"`
		} `json:"services"`
	}
	if err := yaml.UnmarshalStrict(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"api", "consumer"} {
		s, ok := compose.Services[name]
		if !ok {
			t.Fatalf("no %s service", name)
		}
		// A fixed host port would stop `--scale` at one replica.
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes host ports %v; it could not scale", name, s.Ports)
		}
		if s.Build == nil || s.Build.Context != "../.." {
			t.Fatalf("%s: build context must be the repository root", name)
		}
		if _, err := Files.ReadFile(strings.TrimPrefix(s.Build.Dockerfile, "platform/deploy/")); err != nil {
			t.Errorf("%s: Dockerfile %s: %v", name, s.Build.Dockerfile, err)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "cmd", "wotr-"+name)); err != nil {
			t.Errorf("%s: its Dockerfile builds ./cmd/wotr-%s: %v", name, name, err)
		}
	}
	for svc, s := range compose.Services {
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				if _, err := Files.ReadFile(strings.TrimPrefix(src, "./")); err != nil {
					t.Errorf("service %s mounts %s: %v", svc, src, err)
				}
			}
		}
	}
}

// The single-node compose schema has the cluster's columns, partitioning and
// sorting key; only the engine (no replication) differs.
func TestComposeSchemaMatchesClusterSchema(t *testing.T) {
	compose, err := Files.ReadFile("clickhouse/compose-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	table := func(sql string) (columns, layout string) {
		_, rest, ok := strings.Cut(sql, "CREATE TABLE IF NOT EXISTS wotr.events")
		if !ok {
			t.Fatalf("no events table in:\n%s", sql)
		}
		_, rest, _ = strings.Cut(rest, "(")
		columns, rest, _ = strings.Cut(rest, ") ENGINE")
		_, layout, _ = strings.Cut(rest, "PARTITION BY")
		layout, _, _ = strings.Cut(layout, ";")
		return strings.Join(strings.Fields(columns), " "), strings.Join(strings.Fields(layout), " ")
	}
	wantCols, wantLayout := table(chschema.SQL())
	gotCols, gotLayout := table(string(compose))
	if gotCols != wantCols || gotLayout != wantLayout {
		t.Errorf("compose schema:\n%s\n%s\ncluster schema:\n%s\n%s", gotCols, gotLayout, wantCols, wantLayout)
	}
	if !strings.Contains(wantCols, "kafka_offset Int64") {
		t.Errorf("columns not read from schema.sql: %s", wantCols)
	}
}
