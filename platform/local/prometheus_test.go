package local_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// A target added with SetTargets is scraped with its labels; removing it stops
// the scrapes.
func TestPrometheusScrapesFileSDTarget(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	t.Parallel() // waits on Prometheus's 5s discovery batching
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE fastapi_requests_total counter\nfastapi_requests_total{endpoint=\"/events\"} 42\n"))
	}))
	defer exporter.Close()
	addr := strings.TrimPrefix(exporter.URL, "http://")

	if err := p.Prometheus.SetTargets([]local.Target{{Addr: addr, Labels: map[string]string{
		"pod": "wotr-api-0", "deployment": "wotr-api", "node": "kwok-node-0"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Prometheus.SetTargets(nil) })

	client, err := api.NewClient(api.Config{Address: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	prom := promv1.NewAPI(client)
	query := `up{job="wotr",pod="wotr-api-0",deployment="wotr-api",node="kwok-node-0"} == 1`
	waitForSeries(ctx, t, prom, query)
	waitForSeries(ctx, t, prom, `fastapi_requests_total{pod="wotr-api-0"} == 42`)
	// Prometheus scrapes itself, so there is always a series.
	waitForSeries(ctx, t, prom, `up{job="prometheus"} == 1`)

	if err := p.Prometheus.RemoveTarget(addr); err != nil {
		t.Fatal(err)
	}
	for {
		targets, err := prom.Targets(ctx)
		if err == nil {
			found := false
			for _, at := range targets.Active {
				if string(at.Labels["pod"]) == "wotr-api-0" {
					found = true
				}
			}
			if !found {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("target still active after RemoveTarget (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval; the deadline is ctx
	}
}

func waitForSeries(ctx context.Context, t *testing.T, prom promv1.API, query string) {
	t.Helper()
	for {
		v, _, _, err := prom.Query(ctx, query, time.Now())
		if err == nil {
			if vec, ok := v.(model.Vector); ok && len(vec) > 0 {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("query %s never returned a sample (last: %v, %v)", query, v, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval; the deadline is ctx
	}
}

func TestPrometheusSetTargetsRejectsBadInput(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	for _, tc := range []struct {
		target local.Target
		want   string
	}{
		{local.Target{Addr: "no-port"}, `"no-port": must be host:port`},
		{local.Target{Addr: "127.0.0.1:1", Labels: map[string]string{"bad-label": "x"}}, `label "bad-label"`},
	} {
		err := p.Prometheus.SetTargets([]local.Target{tc.target})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetTargets(%+v) = %v, want error containing %s", tc.target, err, tc.want)
		}
	}
}

// One address may serve several targets (a multi-target exporter's
// __param_target); the same target twice is refused.
func TestPrometheusSetTargetsMultiTargetExporter(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	t.Cleanup(func() { _ = p.Prometheus.SetTargets(nil) })
	a := local.Target{Addr: "127.0.0.1:1", Labels: map[string]string{"__param_target": "127.0.0.1:5432"}}
	b := local.Target{Addr: "127.0.0.1:1", Labels: map[string]string{"__param_target": "127.0.0.1:6379"}}
	if err := p.Prometheus.SetTargets([]local.Target{a, b}); err != nil {
		t.Fatalf("two targets of one exporter: %v", err)
	}
	if err := p.Prometheus.SetTargets([]local.Target{a, a}); err == nil || !strings.Contains(err.Error(), "127.0.0.1:5432\": listed twice") {
		t.Fatalf("the same target twice: %v", err)
	}
}
