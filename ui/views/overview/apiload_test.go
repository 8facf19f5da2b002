package overview

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// Consumer pods are listed with the instances but are not API capacity: the
// API load row counts and sums wotr-api pods only.
func TestAPILoadCountsOnlyAPIInstances(t *testing.T) {
	var s state.Snapshot
	for i := 0; i < 3; i++ {
		s.Instances = append(s.Instances, state.Instance{Pod: fmt.Sprintf("wotr-api-%d", i), Deployment: "wotr-api", Ready: i != 2, RPS: 10})
	}
	for i := 0; i < 5; i++ {
		s.Instances = append(s.Instances, state.Instance{Pod: fmt.Sprintf("wotr-consumer-%d", i), Deployment: "wotr-consumer", Ready: true, RPS: 100, ErrorRate: 0.5})
	}
	a := instances(s, health.Defaults())
	if a.Name != "API load" {
		t.Errorf("row name %q, want API load", a.Name)
	}
	if !strings.HasPrefix(a.Summary, "2/3 ready · 30.0 req/s · worst errors 0") {
		t.Errorf("summary %q, want 2/3 ready, 30 req/s and no errors from the API pods", a.Summary)
	}

	onlyConsumers := state.Snapshot{Instances: s.Instances[3:]}
	if a := instances(onlyConsumers, health.Defaults()); !strings.Contains(a.Summary, "no wotr-api instances") {
		t.Errorf("consumers only: summary %q, want no wotr-api instances", a.Summary)
	}
}
