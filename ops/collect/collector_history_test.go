package collect

import (
	"context"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// The console's Instances view draws these per-pod series (ui/common.Series*).
func TestCollectorRecordsPerInstanceLatencyAndErrors(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := &fakeScraper{count: map[string]float64{"a:1": 1000, "b:1": 1000}}
	c := New(Options{Now: func() time.Time { return now }}, RegionSources{Region: "r",
		Instances: fakeInstances{{Pod: "a", Address: "a:1"}, {Pod: "b", Address: "b:1"}}, Scraper: sc})
	var last state.Snapshot
	for i := 0; i < 3; i++ {
		last = c.CollectOnce(context.Background())
		now = now.Add(10 * time.Second)
		sc.count["a:1"] += 300
		sc.count["b:1"] += 100
	}
	for _, in := range last.Instances {
		for series, want := range map[string]float64{
			"instance/" + in.Pod + "/rps":    in.RPS,
			"instance/" + in.Pod + "/p99":    in.P99,
			"instance/" + in.Pod + "/errors": in.ErrorRate,
		} {
			h := c.History(series)
			// A point per source update: at least one per poll.
			if len(h) < 3 {
				t.Fatalf("%s: %d points %v, want at least 3", series, len(h), h)
			}
			if h[len(h)-1] != want {
				t.Errorf("%s: newest point %v, want the snapshot's %v", series, h[len(h)-1], want)
			}
		}
		if in.P99 <= 0 || in.ErrorRate < 0.09 || in.ErrorRate > 0.1 {
			t.Errorf("%s: p99 %v error rate %v, want both from the scrape", in.Pod, in.P99, in.ErrorRate)
		}
	}
	if len(last.Instances) != 2 {
		t.Fatalf("instances %+v, want 2", last.Instances)
	}
}
