package demo_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// noDemoPods waits until the shared cluster runs no pod of the demo's
// Deployments (an earlier test deletes them when it ends).
func noDemoPods(ctx context.Context, t *testing.T, p *local.Platform) {
	t.Helper()
	localtest.Eventually(t, 90*time.Second, "no demo pods left from an earlier test", func() error {
		list, err := p.Kube.Clientset.CoreV1().Pods(p.Kube.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.InstanceSelector})
		if err != nil {
			return err
		}
		if n := len(list.Items); n > 0 {
			return fmt.Errorf("%d pods left", n)
		}
		return nil
	})
}

// TestCollectorScrapesWithoutPrometheus: the supervisor annotates every pod
// with the address its process listens on, so the collector wired for the
// demo context without a Prometheus endpoint scrapes each instance's /metrics
// itself and reports the API instances' requests/s.
func TestCollectorScrapesWithoutPrometheus(t *testing.T) {
	if demo.MetricsAddrAnnotation != kube.MetricsAddrAnnotation {
		t.Fatalf("supervisor annotates %q, the kube backend reads %q", demo.MetricsAddrAnnotation, kube.MetricsAddrAnnotation)
	}
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Prometheus, local.ClickHouse, local.Postgres, local.Redis, local.HAProxy)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, stop := startLoadedDemo(ctx, t, p)
	defer stop()

	// Every ready process's pod carries its address.
	ta := time.Now()
	localtest.Eventually(t, 90*time.Second, "every ready pod annotated with its process's address", func() error {
		api := instances(d, demo.APIDeployment)
		if len(api) != demo.APIReplicas {
			return fmt.Errorf("%d API instances ready, want %d", len(api), demo.APIReplicas)
		}
		for _, in := range append(api, instances(d, demo.ConsumerDeployment)...) {
			pod, err := p.Kube.Clientset.CoreV1().Pods(p.Kube.Namespace).Get(ctx, in.Pod, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := pod.Annotations[demo.MetricsAddrAnnotation]; got != in.Addr {
				return fmt.Errorf("pod %s: annotation %q, process listens on %s", in.Pod, got, in.Addr)
			}
		}
		return nil
	})
	t.Logf("pods annotated %s after the demo was up", time.Since(ta).Round(time.Millisecond))

	// The demo context with every Prometheus endpoint removed.
	cc := d.Context
	cc.Regions = append([]config.RegionConfig(nil), d.Context.Regions...)
	for i := range cc.Regions {
		cc.Regions[i].Prometheus = nil
	}
	platform := wire.Open(ctx, cc)
	defer platform.Close()
	c, err := platform.Collector(collect.Options{Interval: time.Second, Timeout: 3 * time.Second}, wire.CapKube, wire.CapLoad)
	if err != nil {
		t.Fatal(err)
	}
	srcs := strings.Join(c.Sources(), " ")
	if !strings.Contains(srcs, "metrics-scrape@"+demo.RegionPrimary) || strings.Contains(srcs, "prometheus") {
		t.Fatalf("sources %s: want metrics-scrape@%s and no prometheus", srcs, demo.RegionPrimary)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = c.Run(runCtx) }()
	defer func() { stopRun(); <-ran }()

	ts := time.Now()
	var rps []string
	localtest.Eventually(t, 90*time.Second, "scraped requests/s for every API instance", func() error {
		snap := c.Latest()
		for _, m := range snap.Sources {
			if strings.HasPrefix(m.Source, "metrics-scrape") && m.Error != "" {
				return fmt.Errorf("%s: %s", m.Source, m.Error)
			}
		}
		byPod := map[string]state.Instance{}
		for _, in := range snap.Instances {
			byPod[in.Pod] = in
		}
		procs := instances(d, demo.APIDeployment)
		if len(procs) != demo.APIReplicas {
			return fmt.Errorf("%d API processes ready, want %d", len(procs), demo.APIReplicas)
		}
		rps = rps[:0]
		for _, proc := range procs {
			in, ok := byPod[proc.Pod]
			if !ok {
				return fmt.Errorf("collector lacks instance %s", proc.Pod)
			}
			if in.Address != proc.Addr {
				return fmt.Errorf("instance %s: collector scrapes %q, process listens on %s", proc.Pod, in.Address, proc.Addr)
			}
			if in.RPS <= 0 {
				return fmt.Errorf("instance %s: %g req/s", proc.Pod, in.RPS)
			}
			rps = append(rps, fmt.Sprintf("%s %.1f req/s", proc.Pod, in.RPS))
		}
		return nil
	})
	sort.Strings(rps)
	t.Logf("scraped without Prometheus %s after the collector started: %s", time.Since(ts).Round(time.Millisecond), strings.Join(rps, ", "))
}
