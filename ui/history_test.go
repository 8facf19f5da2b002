package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

type twoPods struct{}

func (twoPods) ListInstances(context.Context) ([]state.Instance, error) {
	return []state.Instance{{Pod: "api-a", Deployment: "wotr-api", Address: "a:1", Ready: true}, {Pod: "api-b", Deployment: "wotr-api", Address: "b:1", Ready: true}}, nil
}

// growingScrape serves request counters that grow by 100 per scrape, a tenth 5xx.
type growingScrape struct {
	mu sync.Mutex
	n  float64
}

func (g *growingScrape) Scrape(context.Context, string) ([]state.Sample, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n += 100
	sample := func(v float64, kv ...string) state.Sample {
		l := map[string]string{"__name__": kv[0]}
		for i := 1; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return state.Sample{Labels: l, Value: v}
	}
	return []state.Sample{
		sample(g.n, "fastapi_requests_total", "status", "200"),
		sample(g.n/10, "fastapi_requests_total", "status", "500"),
		sample(g.n, "fastapi_request_duration_seconds_bucket", "le", "0.25"),
		sample(g.n, "fastapi_request_duration_seconds_bucket", "le", "+Inf"),
	}, nil
}

// The Instances view's sparklines read the collector's per-pod series by the
// common.Series* names: a real collector must fill every one of them.
func TestCollectorFillsTheSeriesTheInstancesViewDraws(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := collect.New(collect.Options{Now: func() time.Time { return now }},
		collect.RegionSources{Region: "r", Instances: twoPods{}, Scraper: &growingScrape{}})
	var snap state.Snapshot
	for i := 0; i < 3; i++ {
		snap = c.CollectOnce(context.Background())
		now = now.Add(5 * time.Second)
	}
	hist := snapshotWithHistory(c, snap).(snapshotMsg).hist
	for _, pod := range []string{"api-a", "api-b"} {
		for _, name := range []string{common.SeriesRPS(pod), common.SeriesLatency(pod), common.SeriesErrors(pod)} {
			h := hist[name]
			if len(h) < 2 || h[len(h)-1] <= 0 {
				t.Errorf("series %s = %v, want points with a positive newest value", name, h)
			}
		}
	}
}
