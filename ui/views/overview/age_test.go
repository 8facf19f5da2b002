package overview

import (
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// A value fetched after the last tick is fresh (0s), not unknown: snapshots
// arrive between ticks, so this is the usual case.
func TestDataAgeOfValueNewerThanTick(t *testing.T) {
	tick := time.Now()
	snap := state.Snapshot{Sources: []state.Meta{
		{Source: "kafka@primary", FetchedAt: tick.Add(300 * time.Millisecond)},
		{Source: "kube/pods@primary", FetchedAt: tick.Add(-4 * time.Second)},
	}}
	if got := dataAge(snap, []string{"kafka"}, tick); got != 0 {
		t.Errorf("kafka fetched after the tick: age %v, want 0", got)
	}
	if got := dataAge(snap, []string{"kube", "kafka"}, tick); got != 4*time.Second {
		t.Errorf("oldest of kube and kafka: age %v, want 4s", got)
	}
	if got := dataAge(snap, []string{"postgres"}, tick); got != -1 {
		t.Errorf("no postgres source: age %v, want -1 (unknown)", got)
	}
}

// "*" stands for every source (the Sources area), and load scraped without
// Prometheus counts for the API load area.
func TestDataAgeWildcardAndScrapedLoad(t *testing.T) {
	tick := time.Now()
	snap := state.Snapshot{Sources: []state.Meta{
		{Source: "metrics-scrape@primary", FetchedAt: tick.Add(-2 * time.Second)},
		{Source: "kafka@primary", FetchedAt: tick.Add(-5 * time.Second)},
	}}
	if got := dataAge(snap, []string{"*"}, tick); got != 5*time.Second {
		t.Errorf("every source: age %v, want 5s", got)
	}
	if got := dataAge(snap, instances(snap, health.Defaults()).Sources, tick); got != 2*time.Second {
		t.Errorf("API load from scraping: age %v, want 2s", got)
	}
}
