package demo_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/backends/prom"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/deploy"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// startLoadedDemo runs the demo on the shared platform at 100 events/s; stop
// (defer it before ctx is cancelled) stops it and removes its Deployments
// from the shared cluster.
func startLoadedDemo(ctx context.Context, t *testing.T, p *local.Platform) (d *demo.Demo, stop func()) {
	t.Helper()
	buildBinaries(t)
	noDemoPods(ctx, t, p)
	t0 := time.Now()
	rate := demo.DefaultLoadSettings()
	rate.Rate = 100
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: binDir, NoConfig: true, Load: &rate,
		Progress: func(step string, took time.Duration) { t.Logf("%-60s %6.2fs", step, took.Seconds()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo up in %s", time.Since(t0).Round(time.Millisecond))
	return d, func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		// The shared cluster is left without the demo's workloads for other tests.
		_ = p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	}
}

// Every query of every panel of the Grafana dashboard answers numbers (not
// empty, not NaN or Inf) on the Prometheus that scrapes the demo.
func TestDashboardQueriesOnTheDemo(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Prometheus, local.ClickHouse, local.Postgres, local.Redis, local.HAProxy)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, stop := startLoadedDemo(ctx, t, p)
	defer stop()
	qs, err := deploy.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	c, err := prom.New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for _, q := range qs {
		localtest.Eventually(t, 3*time.Minute, fmt.Sprintf("panel %q query %s answers numbers", q.Panel, q.RefID), func() error {
			v, err := c.Query(ctx, q.Expr)
			if err != nil {
				return err
			}
			if len(v) == 0 {
				return fmt.Errorf("%s: empty", q.Expr)
			}
			for _, s := range v {
				if f := float64(s.Value); math.IsNaN(f) || math.IsInf(f, 0) {
					return fmt.Errorf("%s: %s = %v", q.Expr, s.Metric, f)
				}
			}
			return nil
		})
	}
	t.Logf("%d queries of the dashboard answered numbers within %s", len(qs), time.Since(t0).Round(time.Second))
}
