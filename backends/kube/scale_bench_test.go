package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// BenchmarkKubeScale runs the console's Kubernetes source against a control
// plane of its own with kwok nodes and pods: 1,000 pods on 50 nodes (and
// 5,000 on 250 with WOTR_BENCH_10X=1). In the same run it measures
// the baseline an operator would use (kubectl get pods -n wotr -o json and
// kubectl get nodes -o json, done as client-go's List with JSON encoding,
// which is what kubectl does), the polling source, and the informer source:
// time to the first complete snapshot, and over an idle window
// (WOTR_BENCH_KUBE_WINDOW, default 30s) of the collector polling every 5 s
// the apiserver's LIST and WATCH requests per minute for those resources
// (apiserver_request_total, less the same window with no console open),
// the process's CPU and its heap.
func BenchmarkKubeScale(b *testing.B) {
	sizes := []struct{ pods, nodes int }{{1000, 50}}
	if os.Getenv("WOTR_BENCH_10X") == "1" {
		sizes = append(sizes, struct{ pods, nodes int }{5000, 250})
	}
	window := 30 * time.Second
	if v := os.Getenv("WOTR_BENCH_KUBE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			b.Fatalf("WOTR_BENCH_KUBE_WINDOW=%q: must be a duration of at least 5s", v)
		}
		window = d
	}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("pods=%d/nodes=%d", sz.pods, sz.nodes), func(b *testing.B) {
			p := localtest.Private(b, local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{Nodes: min(sz.nodes, 100)}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			t0 := time.Now()
			if err := populate(ctx, p.Kube, sz.pods, sz.nodes); err != nil {
				b.Fatal(err)
			}
			b.Logf("%d pods on %d nodes running after %s", sz.pods, sz.nodes, time.Since(t0).Round(time.Second))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				measureScale(ctx, b, p.Kube, sz.pods, sz.nodes, window)
			}
		})
	}
}

func measureScale(ctx context.Context, b *testing.B, k *local.KubeCluster, pods, nodes int, window time.Duration) {
	ns := k.Namespace
	admin := k.Clientset
	// Baseline: the two kubectl commands, one after the other.
	t0 := time.Now()
	podList, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := json.NewEncoder(io.Discard).Encode(podList); err != nil {
		b.Fatal(err)
	}
	nodeList, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := json.NewEncoder(io.Discard).Encode(nodeList); err != nil {
		b.Fatal(err)
	}
	kubectl := time.Since(t0)
	if len(podList.Items) != pods || len(nodeList.Items) != nodes {
		b.Fatalf("listed %d pods, %d nodes; want %d, %d", len(podList.Items), len(nodeList.Items), pods, nodes)
	}

	complete := func(s state.Snapshot) error {
		if len(s.Instances) != pods || len(s.Nodes) != nodes || len(s.Deployments) != 1 {
			return fmt.Errorf("snapshot: %d instances, %d nodes, %d deployments", len(s.Instances), len(s.Nodes), len(s.Deployments))
		}
		total := 0
		for _, n := range s.Nodes {
			total += n.Pods
		}
		if total != pods {
			return fmt.Errorf("nodes carry %d pods, want %d", total, pods)
		}
		return nil
	}
	newSource := func(polling bool) (collect.RegionSources, func()) {
		c, err := NewFromRest(k.RestConfig(), ns)
		if err != nil {
			b.Fatal(err)
		}
		r := collect.RegionSources{Region: "primary", Role: state.RolePrimary, Instances: c, Deployments: c, Nodes: c}
		if polling {
			pc := NewPolling(c)
			r.Instances, r.Deployments, r.Nodes = pc, pc, pc
		}
		return r, c.Close
	}
	first := func(polling bool) time.Duration {
		r, closeFn := newSource(polling)
		defer closeFn()
		t0 := time.Now()
		col := collect.New(collect.Options{Timeout: time.Minute}, r)
		if err := complete(col.CollectOnce(ctx)); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	pollFirst, watchFirst := first(true), first(false)

	idle := func(polling *bool) (perMin map[string]float64, cpu time.Duration, heapMB float64) {
		var stop func()
		var done chan struct{}
		if polling != nil {
			r, closeFn := newSource(*polling)
			col := collect.New(collect.Options{}, r)
			if err := complete(col.CollectOnce(ctx)); err != nil {
				b.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done = make(chan struct{})
			go func() { defer close(done); _ = col.Run(rctx) }()
			stop = func() { cancel(); <-done; closeFn() }
		}
		before, err := apiserverRequests(ctx, admin)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := localtest.ProcessCPU()
		timer := time.NewTimer(window)
		<-timer.C
		cpu = localtest.ProcessCPU() - cpu0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		after, err := apiserverRequests(ctx, admin)
		if err != nil {
			b.Fatal(err)
		}
		if stop != nil {
			stop()
		}
		perMin = map[string]float64{}
		for key, v := range after {
			perMin[key] = (v - before[key]) * float64(time.Minute) / float64(window)
		}
		return perMin, cpu, float64(ms.HeapInuse) / (1 << 20)
	}
	yes, no := true, false
	background, _, _ := idle(nil)
	pollReq, pollCPU, pollHeap := idle(&yes)
	watchReq, watchCPU, watchHeap := idle(&no)
	caused := func(m map[string]float64, verb string) float64 {
		var sum float64
		for key, v := range m {
			if strings.HasPrefix(key, verb+" ") {
				sum += v - background[key]
			}
		}
		return max(sum, 0)
	}
	b.Logf("requests/min over %s (less background %v): polling %v, informers %v", window, background, pollReq, watchReq)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(kubectl), "kubectl-get-ms")
	b.ReportMetric(ms(pollFirst), "poll-first-snapshot-ms")
	b.ReportMetric(ms(watchFirst), "watch-first-snapshot-ms")
	b.ReportMetric(caused(pollReq, "LIST"), "poll-LIST/min")
	b.ReportMetric(caused(pollReq, "WATCH"), "poll-WATCH/min")
	b.ReportMetric(caused(watchReq, "LIST"), "watch-LIST/min")
	b.ReportMetric(caused(watchReq, "WATCH"), "watch-WATCH/min")
	b.ReportMetric(pollCPU.Seconds()/window.Seconds()*100, "poll-cpu-%")
	b.ReportMetric(watchCPU.Seconds()/window.Seconds()*100, "watch-cpu-%")
	b.ReportMetric(pollHeap, "poll-heap-MB")
	b.ReportMetric(watchHeap, "watch-heap-MB")
	b.ReportMetric(localtest.RSSMB(), "rss-MB")
}

var requestLine = regexp.MustCompile(`^apiserver_request_total\{(.*)\} ([0-9.e+]+)$`)
var labelPair = regexp.MustCompile(`(\w+)="([^"]*)"`)

// apiserverRequests sums apiserver_request_total by verb and resource for the
// resources the console reads.
func apiserverRequests(ctx context.Context, cs kubernetes.Interface) (map[string]float64, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("apiserver /metrics: %w", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := requestLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range labelPair.FindAllStringSubmatch(m[1], -1) {
			l[kv[1]] = kv[2]
		}
		switch l["resource"] {
		case "pods", "nodes", "deployments", "horizontalpodautoscalers":
		default:
			continue
		}
		if l["subresource"] != "" {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("apiserver /metrics: %q: %w", sc.Text(), err)
		}
		out[l["verb"]+" "+l["resource"]] += v
	}
	return out, sc.Err()
}

// populate brings the cluster to the given node count and creates pods of a
// wotr-api Deployment directly, bound round-robin to the nodes (no
// supervisor runs here, and the Deployment has no replicas of its own so the
// controller leaves them be), then waits until kwok runs them all.
func populate(ctx context.Context, k *local.KubeCluster, pods, nodes int) error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := len(k.Nodes); i < nodes; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := k.AddNode(ctx, fmt.Sprintf("node-%d", i), local.DefaultKubeZones[i%len(local.DefaultKubeZones)]); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	cfg := k.RestConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dep := deploymentNamed(k.Namespace, "wotr-api")
	if _, err := cs.AppsV1().Deployments(k.Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return err
	}
	names := append([]string(nil), k.Nodes...)
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("wotr-api-scale-%05d", i), Namespace: k.Namespace,
						Labels: map[string]string{"app": "wotr-api"}},
					Spec: corev1.PodSpec{NodeName: names[i%len(names)], Containers: []corev1.Container{{Name: "fastapi", Image: "wotr/fastapi",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}},
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}},
				}
				if _, err := cs.CoreV1().Pods(k.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < pods; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d pod creations failed, first: %w", len(errs), errs[0])
	}
	return local.WaitFor(ctx, fmt.Sprintf("%d pods Running", pods), k.Process("kwok"), func(ctx context.Context) error {
		l, err := cs.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running", ResourceVersion: "0"})
		if err != nil {
			return err
		}
		if len(l.Items) < pods {
			return fmt.Errorf("%d of %d pods Running", len(l.Items), pods)
		}
		return nil
	})
}
