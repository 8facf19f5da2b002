package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// binDir holds wotr-api and wotr-consumer built from this tree for the test.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "wotr-demo-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		// Faults as in `wotr-tui demo`: pods reach the stores through proxies.
		opts := local.Options{Faults: true}
		if only := os.Getenv("WOTR_LOCAL_ONLY"); only != "" {
			opts.Only = strings.Split(only, ",")
		}
		return localtest.Main(m, opts)
	}())
}

func buildBinaries(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(binDir, "wotr-consumer")); err == nil {
		return
	}
	cmd := exec.Command("go", "build", "-o", binDir+"/", "../../cmd/wotr-api", "../../cmd/wotr-consumer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

func instances(d *demo.Demo, deployment string) []demo.Instance {
	var out []demo.Instance
	for _, in := range d.Supervisor.Instances() {
		if in.Deployment == deployment && in.Ready {
			out = append(out, in)
		}
	}
	return out
}

func podNames(in []demo.Instance) []string {
	var out []string
	for _, i := range in {
		out = append(out, i.Pod)
	}
	sort.Strings(out)
	return out
}

// runningPods lists the Running, not terminating pods of a deployment.
func runningPods(ctx context.Context, p *local.Platform, app string) ([]corev1.Pod, error) {
	list, err := p.Kube.Clientset.CoreV1().Pods(p.Kube.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, pod := range list.Items {
		if pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning {
			out = append(out, pod)
		}
	}
	return out, nil
}

// groupMembers returns the consumer group's member client IDs.
func groupMembers(ctx context.Context, adm *kadm.Client) ([]string, error) {
	described, err := adm.DescribeGroups(ctx, "wotr-consumer-group")
	if err != nil {
		return nil, err
	}
	g, ok := described["wotr-consumer-group"]
	if !ok {
		return nil, fmt.Errorf("group not described")
	}
	if g.Err != nil {
		return nil, g.Err
	}
	var out []string
	for _, m := range g.Members {
		out = append(out, strings.TrimPrefix(m.ClientID, "wotr-consumer-"))
	}
	sort.Strings(out)
	return out, nil
}

// promPods returns the pods whose targets of a deployment Prometheus scrapes successfully.
func promPods(promURL, deployment string) ([]string, error) {
	q := url.Values{"query": {fmt.Sprintf(`up{deployment=%q} == 1`, deployment)}}
	resp, err := http.Get(promURL + "/api/v1/query?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range body.Data.Result {
		out = append(out, r.Metric["pod"])
	}
	sort.Strings(out)
	return out, nil
}

// pidGone reports whether no process with pid exists any more (reaped, not a zombie).
func pidGone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return os.IsNotExist(err)
}

// procsRunning lists live processes whose executable is one of paths.
func procsRunning(paths ...string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		for _, p := range paths {
			if exe == p {
				out = append(out, fmt.Sprintf("%d %s", pid, exe))
			}
		}
	}
	return out
}

// drainNode cordons a node and evicts its pods, retrying evictions a PDB
// refuses (429) until the deadline, as kubectl drain does.
func drainNode(ctx context.Context, t *testing.T, p *local.Platform, node string) {
	t.Helper()
	cs := p.Kube.Clientset
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := cs.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("cordon %s: %v", node, err)
	}
	localtest.Eventually(t, 60*time.Second, "evict every pod of "+node, func() error {
		pods, err := cs.CoreV1().Pods(p.Kube.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return err
		}
		left := 0
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp != nil {
				left++
				continue
			}
			left++
			err := cs.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
			if err != nil && !apierrors.IsTooManyRequests(err) && !apierrors.IsNotFound(err) {
				return err
			}
		}
		if left > 0 {
			return fmt.Errorf("%d pods still on %s", left, node)
		}
		return nil
	})
}

// TestDemoFollowsKubernetes drives the whole demo through the Kubernetes API:
// scaling wotr-consumer changes the real processes, the consumer group and
// Prometheus' targets; draining a node moves its processes; Stop leaves no
// process behind.
func TestDemoFollowsKubernetes(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Prometheus, local.ClickHouse, local.Postgres, local.Redis, local.HAProxy)
	buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	cfgPath := filepath.Join(t.TempDir(), "wotr", "config.yaml")
	other := config.ContextConfig{Name: "prod", Regions: []config.RegionConfig{{Name: "eu", Role: "primary", Prometheus: &config.PromEndpoint{URL: "http://prom.example:9090"}}}}
	if err := config.SaveContext(cfgPath, other); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	rate := demo.DefaultLoadSettings()
	rate.Rate = 100
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: binDir, ConfigPath: cfgPath, Load: &rate,
		Progress: func(step string, took time.Duration) { t.Logf("%-60s %6.2fs", step, took.Seconds()) }})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = d.Stop()
		}
	}()
	t.Logf("demo up in %s", time.Since(t0).Round(time.Millisecond))

	// The config keeps the other context and gains the demo's two regions.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Context("prod"); err != nil {
		t.Errorf("other context lost: %v", err)
	}
	dc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	if len(dc.Regions) != 2 || dc.Regions[0].Name != "primary" || dc.Regions[1].Name != "secondary" ||
		dc.Regions[1].Postgres == nil || !strings.Contains(dc.Regions[1].Postgres.DSN, strconv.Itoa(p.Postgres.Standby.Port)) {
		t.Errorf("demo context regions: %+v", dc.Regions)
	} else if k := dc.Regions[0].Kube; k == nil || k.Namespace != "wotr" || k.Kubeconfig != p.Kube.Kubeconfig ||
		dc.Regions[1].Redis == nil || dc.Regions[1].Redis.Addr != p.Redis.Replica.Addr {
		t.Errorf("demo context: primary kube %+v, secondary redis %+v", k, dc.Regions[1].Redis)
	}

	adm := kadm.NewClient(mustKgo(t, p.Kafka.Brokers))
	defer adm.Close()

	// expect waits until processes, group members and Prometheus targets all
	// equal the Running pods of wotr-consumer, n of them.
	expect := func(n int) []demo.Instance {
		t.Helper()
		var in []demo.Instance
		localtest.Eventually(t, 90*time.Second, fmt.Sprintf("%d consumers everywhere", n), func() error {
			pods, err := runningPods(ctx, p, demo.ConsumerDeployment)
			if err != nil {
				return err
			}
			var want []string
			for _, pod := range pods {
				want = append(want, pod.Name)
			}
			sort.Strings(want)
			if len(want) != n {
				return fmt.Errorf("%d running pods, want %d", len(want), n)
			}
			in = instances(d, demo.ConsumerDeployment)
			if got := podNames(in); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("processes %v, pods %v", got, want)
			}
			members, err := groupMembers(ctx, adm)
			if err != nil {
				return err
			}
			if fmt.Sprint(members) != fmt.Sprint(want) {
				return fmt.Errorf("group members %v, pods %v", members, want)
			}
			scraped, err := promPods(p.Prometheus.URL, demo.ConsumerDeployment)
			if err != nil {
				return err
			}
			if fmt.Sprint(scraped) != fmt.Sprint(want) {
				return fmt.Errorf("prometheus up targets %v, pods %v", scraped, want)
			}
			return nil
		})
		return in
	}

	first := expect(demo.ConsumerReplicas)
	allPIDs := map[int]bool{}
	for _, i := range first {
		allPIDs[i.PID] = true
	}

	// API instances sit behind HAProxy and the load goes through.
	localtest.Eventually(t, 60*time.Second, "3 API backends up and events accepted", func() error {
		servers, err := p.HAProxy.Servers()
		if err != nil {
			return err
		}
		up := 0
		for _, s := range servers {
			if s.Up() {
				up++
			}
		}
		if up != demo.APIReplicas {
			return fmt.Errorf("%d HAProxy servers up, want %d", up, demo.APIReplicas)
		}
		if st := d.Load.Stats(); st.Sent == 0 {
			return fmt.Errorf("no events accepted yet (failed %d, last error %q)", st.Failed, st.LastError)
		}
		return nil
	})

	// The API processes run with the Deployment's collector settings, the
	// memory limit resolved from the container's resources as the kubelet does.
	apis := instances(d, demo.APIDeployment)
	if len(apis) == 0 {
		t.Fatal("no API processes to check")
	}
	for _, i := range apis {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", i.PID))
		if err != nil {
			t.Fatal(err)
		}
		vars := strings.Split(string(env), "\x00")
		for _, want := range []string{"GOGC=400", "GOMEMLIMIT=1073741824"} {
			if !slices.Contains(vars, want) {
				t.Errorf("API process %d of %s lacks %s", i.PID, i.Pod, want)
			}
		}
	}

	// The slowdown switch changes the Deployment's env: the controller rolls
	// the pods and every consumer process is replaced by one with the new env.
	ts := time.Now()
	slow := d.Load.Settings()
	slow.ConsumerSlowdown = demo.Duration(300 * time.Millisecond)
	if err := d.Load.Update(ctx, slow); err != nil {
		t.Fatal(err)
	}
	var rolled []demo.Instance
	localtest.Eventually(t, 90*time.Second, "consumers rolled with CONSUMER_SLOWDOWN", func() error {
		rolled = expect(demo.ConsumerReplicas)
		for _, i := range rolled {
			if allPIDs[i.PID] {
				return fmt.Errorf("pod %s still runs the old process %d", i.Pod, i.PID)
			}
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", i.PID))
			if err != nil {
				return err
			}
			if !strings.Contains(string(env), "\x00CONSUMER_SLOWDOWN=300ms\x00") && !strings.HasPrefix(string(env), "CONSUMER_SLOWDOWN=300ms\x00") {
				return fmt.Errorf("process %d of %s lacks CONSUMER_SLOWDOWN=300ms", i.PID, i.Pod)
			}
		}
		return nil
	})
	t.Logf("env change rolled %d consumer processes in %s", len(rolled), time.Since(ts).Round(time.Millisecond))
	for _, i := range first {
		if !pidGone(i.PID) {
			t.Errorf("process %d of rolled-away pod %s still alive", i.PID, i.Pod)
		}
	}
	first = rolled
	for _, i := range rolled {
		allPIDs[i.PID] = true
	}

	// Scale down: the removed pods' processes exit and leave the group.
	ts = time.Now()
	if err := demo.ScaleDeployment(ctx, p, demo.ConsumerDeployment, 2); err != nil {
		t.Fatal(err)
	}
	after := expect(2)
	t.Logf("scale 5->2 followed by processes, group and Prometheus in %s", time.Since(ts).Round(time.Millisecond))
	kept := map[int]bool{}
	for _, i := range after {
		kept[i.PID] = true
	}
	for _, i := range first {
		if !kept[i.PID] && !pidGone(i.PID) {
			t.Errorf("process %d of removed pod %s still alive", i.PID, i.Pod)
		}
	}

	// Scale up again.
	ts = time.Now()
	if err := demo.ScaleDeployment(ctx, p, demo.ConsumerDeployment, 4); err != nil {
		t.Fatal(err)
	}
	before := expect(4)
	t.Logf("scale 2->4 followed in %s", time.Since(ts).Round(time.Millisecond))
	for _, i := range before {
		allPIDs[i.PID] = true
	}

	// Drain the node with the most consumers: its processes stop, replacements
	// run elsewhere.
	perNode := map[string][]demo.Instance{}
	for _, i := range before {
		perNode[i.Node] = append(perNode[i.Node], i)
	}
	var node string
	for n, in := range perNode {
		if node == "" || len(in) > len(perNode[node]) {
			node = n
		}
	}
	ts = time.Now()
	drainNode(ctx, t, p, node)
	moved := expect(4)
	t.Logf("drain of %s (%d consumers) followed in %s", node, len(perNode[node]), time.Since(ts).Round(time.Millisecond))
	for _, i := range moved {
		allPIDs[i.PID] = true
		if i.Node == node {
			t.Errorf("pod %s still runs on drained node %s", i.Pod, node)
		}
	}
	for _, i := range perNode[node] {
		if !pidGone(i.PID) {
			t.Errorf("process %d of drained pod %s still alive", i.PID, i.Pod)
		}
	}
	for _, i := range d.Supervisor.Instances() {
		allPIDs[i.PID] = true
	}
	_, _ = p.Kube.Clientset.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})

	// Stop: nothing of ours is left in /proc.
	stopped = true
	if err := d.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	for pid := range allPIDs {
		if !pidGone(pid) {
			t.Errorf("process %d still in /proc after Stop", pid)
		}
	}
	if tg := p.Prometheus.Targets(); len(tg) != 0 {
		t.Errorf("prometheus still has %d targets after Stop", len(tg))
	}
	if servers, err := p.HAProxy.Servers(); err != nil {
		t.Error(err)
	} else {
		for _, sv := range servers {
			if sv.Up() {
				t.Errorf("HAProxy server %+v still up after Stop", sv)
			}
		}
	}
	if left := procsRunning(filepath.Join(binDir, "wotr-api"), filepath.Join(binDir, "wotr-consumer")); len(left) > 0 {
		t.Errorf("platform processes left after Stop: %v", left)
	}
	// The shared cluster is left without the demo's workloads for other tests.
	_ = p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
}

func mustKgo(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
