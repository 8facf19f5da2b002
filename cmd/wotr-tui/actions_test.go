package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kafka, local.Kube, local.Postgres, local.Redis, local.ClickHouse}}))
}

// contextFor describes the local platform as a two-region context: the
// primary has every store's primary, the secondary the standbys.
func contextFor(t *testing.T, p *local.Platform) config.ContextConfig {
	t.Helper()
	dir := t.TempDir()
	primary := config.RegionConfig{Name: "primary", Role: "primary"}
	secondary := config.RegionConfig{Name: "secondary", Role: "secondary"}
	if p.Kube != nil {
		// The console's ServiceAccount, under the shipped RBAC.
		primary.Kube = &config.KubeEndpoint{Kubeconfig: consoleKubeconfig(t, p.Kube), Context: p.Kube.Context, Namespace: p.Kube.Namespace}
	}
	if p.Kafka != nil {
		primary.Kafka = &config.KafkaEndpoint{Brokers: p.Kafka.Brokers}
	}
	if p.Postgres != nil {
		primary.Postgres = &config.PostgresEndpoint{DSN: p.Postgres.Primary.DSN, QueryDSN: p.Postgres.Primary.QueryDSN, DataDir: p.Postgres.Primary.DataDir}
		secondary.Postgres = &config.PostgresEndpoint{DSN: p.Postgres.Standby.DSN, QueryDSN: p.Postgres.Standby.QueryDSN, DataDir: p.Postgres.Standby.DataDir}
	}
	if p.Redis != nil {
		primary.Redis = &config.RedisEndpoint{Addr: p.Redis.Primary.Addr}
		secondary.Redis = &config.RedisEndpoint{Addr: p.Redis.Replica.Addr}
	}
	if p.ClickHouse != nil && len(p.ClickHouse.Replicas) > 0 {
		primary.ClickHouse = &config.CHEndpoint{Addrs: []string{p.ClickHouse.Replicas[0].NativeAddr}, Database: p.ClickHouse.Database}
		last := p.ClickHouse.Replicas[len(p.ClickHouse.Replicas)-1]
		secondary.ClickHouse = &config.CHEndpoint{Addrs: []string{last.NativeAddr}, Database: p.ClickHouse.Database}
	}
	return config.ContextConfig{Name: "local-test", AuditLog: filepath.Join(dir, "audit.jsonl"), BackupDir: filepath.Join(dir, "backups"),
		Regions: []config.RegionConfig{primary, secondary}}
}

// testCLI runs the CLI in-process with the test's own dependencies: stdin
// empty and not a terminal, runbook state in a temp dir.
type testCLI struct {
	d deps
}

func newCLI(t *testing.T) *testCLI {
	t.Helper()
	d := defaultDeps(strings.NewReader(""), nil, nil)
	stateDir := filepath.Join(t.TempDir(), "state", "wotr")
	d.stateDir = func() string { return stateDir }
	return &testCLI{d: *d}
}

// withContext makes the verbs run against cc, whatever --config and --context say.
func (c *testCLI) withContext(cc config.ContextConfig) *testCLI {
	c.d.loadContext = func(string, string) (*config.ContextConfig, error) { cc := cc; return &cc, nil }
	return c
}

func (c *testCLI) run(args ...string) cliRun {
	var out, errOut bytes.Buffer
	d := c.d
	d.out, d.errOut = &out, &errOut
	code := run(args, &d)
	return cliRun{code: code, out: out.String(), err: errOut.String()}
}

type cliRun struct {
	code     int
	out, err string
}

func (r cliRun) doc(t *testing.T) actionOutput {
	t.Helper()
	var d actionOutput
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s\nstderr: %s", err, r.out, r.err)
	}
	return d
}

func mustCode(t *testing.T, r cliRun, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.out, r.err)
	}
}

func checkByName(checks []action.Check, name string) *action.Check {
	for i := range checks {
		if checks[i].Name == name {
			return &checks[i]
		}
	}
	return nil
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, d := cond()
		if ok {
			return
		}
		last = d
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
	}
	t.Fatalf("%s: not reached within %s (last: %s)", what, timeout, last)
}

func deployment(name, ns string, replicas int32, nodeSelector map[string]string, env map[string]string) *appsv1.Deployment {
	var envs []corev1.EnvVar
	for k, v := range env {
		envs = append(envs, corev1.EnvVar{Name: k, Value: v})
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{
					NodeSelector: nodeSelector,
					Tolerations:  []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{Name: "app", Image: "wotr/" + name, Env: envs,
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}},
				},
			},
		},
	}
}

func createDeployment(t *testing.T, cs kubernetes.Interface, d *appsv1.Deployment) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(d.Namespace).Delete(context.Background(), d.Name, metav1.DeleteOptions{})
	})
	waitReady(t, cs, d.Namespace, d.Name, *d.Spec.Replicas)
}

func waitReady(t *testing.T, cs kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	eventually(t, 60*time.Second, "deployment "+name+" ready", func() (bool, string) {
		d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ReadyReplicas == n && d.Status.Replicas == n, fmt.Sprintf("%d/%d ready", d.Status.ReadyReplicas, n)
	})
}

func TestActionsRefuseBadInputWithoutAPlatform(t *testing.T) {
	app := newCLI(t).withContext(config.ContextConfig{Name: "empty", AuditLog: filepath.Join(t.TempDir(), "audit.jsonl"),
		Regions: []config.RegionConfig{{Name: "primary", Role: "primary"}}})
	mustCode(t, app.run("scale", "api"), ExitUsage)                         // no --replicas
	mustCode(t, app.run("scale", "web", "--replicas", "2"), ExitUsage)      // unknown target
	mustCode(t, app.run("partitions", "t", "--count", "0"), ExitUsage)      // count rule
	mustCode(t, app.run("drain", "Bad_Node!"), ExitUsage)                   // name rule
	mustCode(t, app.run("backup", "mysql"), ExitUsage)                      // unknown store
	mustCode(t, app.run("promote", "nowhere"), ExitUsage)                   // unknown region
	mustCode(t, app.run("scale", "api", "--replicas", "x"), ExitUsage)      // flag parse
	mustCode(t, app.run("scale", "api", "--replicas", "2", "--force"), 2)   // force without reason
	mustCode(t, app.run("scale", "api", "--replicas", "2", "-o", "xml"), 2) // output format
}

func TestReadOnlyContextRefusesEveryAction(t *testing.T) {
	cc := config.ContextConfig{Name: "ro", ReadOnly: true, AuditLog: filepath.Join(t.TempDir(), "audit.jsonl"),
		Regions: []config.RegionConfig{{Name: "primary", Role: "primary"}, {Name: "secondary", Role: "secondary"}}}
	app := newCLI(t).withContext(cc)
	for _, args := range [][]string{
		{"scale", "api", "--replicas", "3", "--yes"},
		{"partitions", "ingest-events", "--count", "20", "--yes"},
		{"drain", "node-0", "--yes"},
		{"cordon", "node-0", "--yes"},
		{"uncordon", "node-0", "--yes"},
		{"promote", "secondary", "--yes"},
		{"backup", "all", "--yes"},
	} {
		r := app.run(append(args, "-o", "json")...)
		mustCode(t, r, ExitRefused)
		d := r.doc(t)
		if d.Plan == nil || !d.Plan.Blocked || checkByName(d.Plan.Checks, "read-only context") == nil {
			t.Errorf("%v: plan does not show the read-only refusal: %+v", args, d.Plan)
		}
	}
	recs, err := audit.NewLog(cc.AuditLog).Records(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Fatalf("audit has %d records, want 7 refusals", len(recs))
	}
	for _, r := range recs {
		if r.Outcome != audit.OutcomeRefused || r.Context != "ro" || r.Who == "" || r.Plan == nil {
			t.Errorf("audit record %+v: want a refused record with who, context and plan", r)
		}
	}
}

func TestScale(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Postgres, local.Redis)
	cc := contextFor(t, p)
	app := newCLI(t).withContext(cc)
	cs := p.Kube.Clientset
	ns := p.Kube.Namespace
	createDeployment(t, cs, deployment("wotr-api", ns, 2, nil, map[string]string{"POSTGRES_POOL_MAX": "10"}))
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))

	t.Run("bad replica counts", func(t *testing.T) {
		r := app.run("scale", "api", "--replicas", "-1", "--yes")
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.err, "-1") || !strings.Contains(r.err, "negative") {
			t.Errorf("error does not name the value and the rule: %s", r.err)
		}
		mustCode(t, app.run("scale", "api", "--replicas", "100000", "--yes"), ExitUsage)
	})
	t.Run("consumers above partitions refused", func(t *testing.T) {
		r := app.run("scale", "consumer", "--replicas", "11", "--yes", "-o", "json")
		mustCode(t, r, ExitRefused)
		c := checkByName(r.doc(t).Plan.Checks, "consumers vs partitions")
		if c == nil || c.Status != action.CheckFail || !strings.Contains(c.Detail, "idle") {
			t.Fatalf("consumers vs partitions check: %+v", c)
		}
	})
	t.Run("connection budget refused", func(t *testing.T) {
		// 10 per instance x (12 + surge 3) = 150 against max_connections 100.
		r := app.run("scale", "api", "--replicas", "12", "--yes", "-o", "json")
		mustCode(t, r, ExitRefused)
		c := checkByName(r.doc(t).Plan.Checks, "postgres connection budget")
		if c == nil || c.Status != action.CheckFail {
			t.Fatalf("postgres budget check: %+v", c)
		}
	})
	t.Run("not confirmed in a script", func(t *testing.T) {
		r := app.run("scale", "api", "--replicas", "3")
		mustCode(t, r, ExitRefused)
		if !strings.Contains(r.err, "--yes") {
			t.Errorf("refusal does not say how to confirm: %s", r.err)
		}
	})
	t.Run("server-side dry run", func(t *testing.T) {
		mustCode(t, app.run("scale", "api", "--replicas", "5", "--dry-run"), ExitOK)
		d, _ := cs.AppsV1().Deployments(ns).Get(context.Background(), "wotr-api", metav1.GetOptions{})
		if *d.Spec.Replicas != 2 {
			t.Fatalf("dry run changed replicas to %d", *d.Spec.Replicas)
		}
	})
	t.Run("scale up and verify", func(t *testing.T) {
		r := app.run("scale", "api", "--replicas", "4", "--yes", "-o", "json")
		mustCode(t, r, ExitOK)
		d := r.doc(t)
		if c := checkByName(d.Result.Verified, "replicas ready"); c == nil || c.Status != action.CheckPass {
			t.Fatalf("replicas ready: %+v", c)
		}
		dep, _ := cs.AppsV1().Deployments(ns).Get(context.Background(), "wotr-api", metav1.GetOptions{})
		if dep.Status.ReadyReplicas != 4 {
			t.Fatalf("ready replicas %d after a verified scale to 4", dep.Status.ReadyReplicas)
		}
	})
	t.Run("HPA owns the deployment", func(t *testing.T) {
		min := int32(2)
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "wotr-consumer-hpa", Namespace: ns},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "wotr-consumer"},
				MinReplicas:    &min, MaxReplicas: 5,
			},
		}
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(context.Background(), hpa.Name, metav1.DeleteOptions{}) //nolint:errcheck
		mustCode(t, app.run("scale", "consumer", "--min", "4", "--max", "3", "--yes"), ExitUsage)
		r := app.run("scale", "consumer", "--replicas", "3", "--yes", "-o", "json")
		mustCode(t, r, ExitOK)
		if !strings.Contains(r.doc(t).Plan.Summary, "HPA wotr-consumer-hpa owns") {
			t.Errorf("plan does not say the HPA is changed instead: %s", r.doc(t).Plan.Summary)
		}
		got, _ := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), hpa.Name, metav1.GetOptions{})
		if *got.Spec.MinReplicas != 3 || got.Spec.MaxReplicas != 5 {
			t.Fatalf("HPA bounds %d..%d, want 3..5", *got.Spec.MinReplicas, got.Spec.MaxReplicas)
		}
	})
}

func TestPartitions(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	cc := contextFor(t, p)
	cc.Regions[0].Kube = nil
	app := newCLI(t).withContext(cc)
	topic := local.TopicDLQEvents
	start := p.Kafka.Topics[topic]

	r := app.run("partitions", topic, "--count", fmt.Sprint(start-1), "--yes", "-o", "json")
	mustCode(t, r, ExitRefused)
	c := checkByName(r.doc(t).Plan.Checks, "increase only")
	if c == nil || c.Status != action.CheckFail || !strings.Contains(c.Detail, "cannot remove partitions") {
		t.Fatalf("decrease refusal: %+v", c)
	}
	mustCode(t, app.run("partitions", "no-such-topic", "--count", "5", "--yes"), ExitUsage)
	mustCode(t, app.run("partitions", topic, "--count", fmt.Sprint(start+2), "--dry-run"), ExitOK)

	r = app.run("partitions", topic, "--count", fmt.Sprint(start+2), "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	d := r.doc(t)
	if len(d.Plan.Warnings) < 2 || !strings.Contains(strings.Join(d.Plan.Warnings, " "), "key-to-partition mapping changes") {
		t.Errorf("plan warnings: %v", d.Plan.Warnings)
	}
	v := checkByName(d.Result.Verified, "broker metadata")
	if v == nil || v.Status != action.CheckPass || strings.Count(v.Detail, fmt.Sprintf(": %d", start+2)) < 3 {
		t.Fatalf("broker metadata verification: %+v", v)
	}
}

func TestDrain(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	cc := contextFor(t, p)
	app := newCLI(t).withContext(cc)
	cs := p.Kube.Clientset
	ns := p.Kube.Namespace
	ctx := context.Background()

	mustCode(t, app.run("drain", "no-such-node", "--yes"), ExitUsage)

	node, err := p.Kube.AddNode(ctx, "drain-test-0", local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kube.RemoveNode(ctx, node) //nolint:errcheck
	pin := map[string]string{"kubernetes.io/hostname": node}
	createDeployment(t, cs, deployment("drain-pinned", ns, 3, pin, nil))

	t.Run("PDB blocks", func(t *testing.T) {
		minAvail := intstr.FromInt32(3)
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "drain-pinned", Namespace: ns},
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "drain-pinned"}}}}
		if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer cs.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, pdb.Name, metav1.DeleteOptions{}) //nolint:errcheck
		eventually(t, 30*time.Second, "PDB status observed", func() (bool, string) {
			b, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, pdb.Name, metav1.GetOptions{})
			return err == nil && b.Status.ObservedGeneration >= b.Generation && b.Status.ExpectedPods == 3, fmt.Sprintf("%+v", b.Status)
		})
		r := app.run("drain", node, "--yes", "-o", "json")
		mustCode(t, r, ExitRefused)
		d := r.doc(t)
		if c := checkByName(d.Plan.Checks, "pod disruption budget"); c == nil || c.Status != action.CheckFail || !strings.Contains(c.Detail, "drain-pinned") {
			t.Fatalf("PDB check: %+v", c)
		}
		if c := checkByName(d.Plan.Checks, "replicas on one node"); c == nil || !strings.Contains(c.Detail, "drain-pinned") {
			t.Errorf("sole-holder flag missing: %+v", d.Plan.Checks)
		}
		// Forced past the preview, the running drain reports the block instead of hanging.
		t0 := time.Now()
		r = app.run("drain", node, "--yes", "--force", "--reason", "test: PDB block reporting", "--pdb-wait", "1s", "-o", "json")
		mustCode(t, r, ExitRefused)
		if !strings.Contains(r.doc(t).Error, "blocked") || time.Since(t0) > 20*time.Second {
			t.Fatalf("forced drain: error %q after %s", r.doc(t).Error, time.Since(t0))
		}
		mustCode(t, app.run("uncordon", node, "--yes"), ExitOK)
	})
	t.Run("drain moves every pod", func(t *testing.T) {
		r := app.run("drain", node, "--yes", "-o", "json")
		mustCode(t, r, ExitOK)
		d := r.doc(t)
		for _, name := range []string{"cordoned", "node empty"} {
			if c := checkByName(d.Result.Verified, name); c == nil || c.Status != action.CheckPass {
				t.Errorf("%s: %+v", name, c)
			}
		}
		pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if len(pods.Items) != 0 {
			t.Fatalf("%d pods left on %s", len(pods.Items), node)
		}
		n, _ := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if !n.Spec.Unschedulable {
			t.Fatal("node not cordoned after drain")
		}
		mustCode(t, app.run("uncordon", node, "--yes"), ExitOK)
		n, _ = cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if n.Spec.Unschedulable {
			t.Fatal("node still cordoned after uncordon")
		}
	})
}

func TestBackup(t *testing.T) {
	p := localtest.Platform(t, local.Kafka, local.Postgres, local.Redis, local.ClickHouse)
	cc := contextFor(t, p)
	cc.Regions[0].Kube = nil
	app := newCLI(t).withContext(cc)
	dir := cc.BackupDir
	// Something to freeze. 18.16 over clickhouse-go needs a batch INSERT naming its columns.
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(context.Background(), "INSERT INTO wotr.events (id, source, type, created_at, payload)")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append("backup-1", "test", "backup", time.Now().UTC().Truncate(time.Second), "{}"); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	r := app.run("backup", "all", "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	entries, err := backup.ListEntries(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]backup.Entry{}
	for _, e := range entries {
		got[string(e.Store)] = e
	}
	for _, s := range backup.Stores {
		e, ok := got[string(s)]
		if !ok || e.State != "done" || e.SizeBytes <= 0 {
			t.Errorf("%s: catalog entry %+v", s, e)
		}
	}
	if w := got["postgres"].WALPosition; !strings.Contains(w, "/") {
		t.Errorf("postgres WAL position %q", w)
	}
	if got["redis"].Method != "bgsave" || got["clickhouse"].Method != "freeze" {
		t.Errorf("methods: redis %q clickhouse %q", got["redis"].Method, got["clickhouse"].Method)
	}

	t.Run("a held lock refuses", func(t *testing.T) {
		l, err := backup.AcquireLock(dir, "redis", "held-by-test")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release() //nolint:errcheck
		r := app.run("backup", "redis", "--yes")
		mustCode(t, r, ExitRefused)
		if !strings.Contains(r.out+r.err, "already running") {
			t.Errorf("refusal does not say why: %s %s", r.out, r.err)
		}
	})
	t.Run("concurrent requests: one runs, one is refused", func(t *testing.T) {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		platform := wire.Open(context.Background(), cc)
		defer platform.Close()
		svc := platform.Actions()
		for i := range codes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				plan, err := svc.Plan(context.Background(), action.Request{Kind: action.KindBackup, Target: "postgres"})
				if err != nil {
					codes[i] = exitCodeFor(err)
					return
				}
				_, err = svc.Execute(context.Background(), plan, plan.ConfirmPhrase, nil)
				codes[i] = exitCodeFor(err)
			}(i)
		}
		wg.Wait()
		if !(codes[0] == ExitOK && codes[1] == ExitRefused || codes[0] == ExitRefused && codes[1] == ExitOK) {
			t.Fatalf("exit codes %v, want one 0 and one 3", codes)
		}
	})
	r = app.run("backups", "-o", "json")
	mustCode(t, r, ExitOK)
	if !strings.Contains(r.out, `"walPosition"`) {
		t.Errorf("backups listing: %s", r.out)
	}
}

// TestPromote runs last: it turns the standby into the primary.
func TestPromote(t *testing.T) {
	// Promote changes the platform for good: a platform of its own keeps the
	// shared one a primary with a streaming standby for the other tests.
	p := localtest.Private(t, local.Options{Only: []string{local.Kube, local.Postgres, local.Redis, local.ClickHouse}})
	cc := contextFor(t, p)
	app := newCLI(t).withContext(cc)
	ctx := context.Background()
	createDeployment(t, p.Kube.Clientset, deployment("wotr-api", p.Kube.Namespace, 1, nil,
		map[string]string{"POSTGRES_HOST": p.Postgres.Primary.Host, "POSTGRES_PORT": fmt.Sprint(p.Postgres.Primary.Port)}))

	standby, err := pgx.Connect(ctx, p.Postgres.Standby.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	t.Run("lagging standby refused", func(t *testing.T) {
		if _, err := standby.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
			t.Fatal(err)
		}
		primary, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
		if err != nil {
			t.Fatal(err)
		}
		_, err = primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS promote_lag (id int); INSERT INTO promote_lag SELECT generate_series(1, 1000)")
		primary.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := app.run("promote", "secondary", "--yes", "-o", "json")
		mustCode(t, r, ExitRefused)
		if c := checkByName(r.doc(t).Plan.Checks, "replay running"); c == nil || c.Status != action.CheckFail {
			t.Fatalf("replay check: %+v", r.doc(t).Plan.Checks)
		}
		if _, err := standby.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatal(err)
		}
	})
	mustCode(t, app.run("promote", "secondary", "--confirm", "primary"), ExitRefused)
	var inRecovery bool
	if err := standby.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("a refused promote changed the standby: in recovery %v, %v", inRecovery, err)
	}

	r := app.run("promote", "secondary", "--confirm", "secondary", "-o", "json")
	mustCode(t, r, ExitOK)
	d := r.doc(t)
	if d.Plan.ConfirmPhrase != "secondary" {
		t.Errorf("confirm phrase %q, want the region name", d.Plan.ConfirmPhrase)
	}
	if s := d.Result.Measurements["confirm_to_writes_seconds"]; s <= 0 || s > 30 {
		t.Errorf("confirm_to_writes_seconds = %v", s)
	}
	if err := standby.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("standby still in recovery after promote: %v", err)
	}
	for _, name := range []string{"old primary fenced", "new primary accepts writes", "repoint primary", "redis primary", "no data loss"} {
		if c := checkByName(d.Result.Verified, name); c == nil || c.Status != action.CheckPass {
			t.Errorf("%s: %+v", name, c)
		}
	}
	dep, _ := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(ctx, "wotr-api", metav1.GetOptions{})
	env := map[string]string{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["POSTGRES_PORT"] != fmt.Sprint(p.Postgres.Standby.Port) {
		t.Errorf("API env after promote: %v, want port %d", env, p.Postgres.Standby.Port)
	}
	recs, _ := audit.NewLog(cc.AuditLog).Records(ctx, 1)
	if len(recs) != 1 || recs[0].Action != "promote" || recs[0].Outcome != audit.OutcomeOK {
		t.Fatalf("last audit record: %+v", recs)
	}
}

// Each action verb's flags are its ParamSpecs: every parameter the action
// declares is a flag with its default and help, and no verb has a parameter
// flag the action does not declare.
func TestActionVerbFlagsAreTheActionsParams(t *testing.T) {
	root := newRootCmd(defaultDeps(strings.NewReader(""), io.Discard, io.Discard))
	common := map[string]bool{"dry-run": true, "yes": true, "output": true, "force": true, "reason": true, "confirm": true, "help": true}
	for _, kind := range action.Kinds {
		// A kind "a-b" is the verb "a b" (backup-verify: backup verify).
		path := strings.Split(string(kind), "-")
		if kind == action.KindOffsetReset {
			path = []string{"offsets", "reset"}
		}
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Name() != path[len(path)-1] {
			t.Fatalf("no verb for %s: %v", kind, err)
		}
		specs, _ := action.Params(kind)
		declared := map[string]bool{}
		for _, s := range specs {
			declared[s.Name] = true
			f := cmd.Flags().Lookup(s.Name)
			if f == nil {
				t.Errorf("%s: no flag --%s", kind, s.Name)
				continue
			}
			if f.Usage != s.Help {
				t.Errorf("%s --%s: usage %q, want the spec's %q", kind, s.Name, f.Usage, s.Help)
			}
			if s.Default != "" && f.DefValue != s.Default {
				t.Errorf("%s --%s: default %q, want the spec's %q", kind, s.Name, f.DefValue, s.Default)
			}
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !declared[f.Name] && !common[f.Name] {
				t.Errorf("%s: flag --%s is not a parameter of the action", kind, f.Name)
			}
		})
	}
}

// The CLI states the force rule through the action's own check: the message
// names the parameter and the exit code is 2.
func TestForceWithoutReasonIsTheActionsRule(t *testing.T) {
	app := newCLI(t).withContext(config.ContextConfig{Name: "empty", AuditLog: filepath.Join(t.TempDir(), "audit.jsonl"),
		Regions: []config.RegionConfig{{Name: "primary", Role: state.RolePrimary}}})
	r := app.run("cordon", "node-1", "--force", "-o", "json")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.doc(t).Error, "force needs a reason") {
		t.Errorf("error %q does not state the rule", r.doc(t).Error)
	}
}
