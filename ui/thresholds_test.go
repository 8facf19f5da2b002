package ui

import (
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// The help lists the table in force, and the context's table is what colours
// the screens.
func TestHelpShowsThresholdsInForce(t *testing.T) {
	m := newModel(t, 120, 40, Options{})
	feed(m, fixture.Snapshot())
	press(m, "?")
	v := strings.Join(strings.Fields(m.View()), " ") // columns are padded
	for _, want := range []string{"Thresholds in force", "replication-lag", "warn 5.0s", "crit 1m00s", "pool-utilization", "warn 80%", "crit 95%", "error-rate", "warn 1.0%"} {
		if !strings.Contains(v, want) {
			t.Fatalf("help lacks %q:\n%s", want, v)
		}
	}
	press(m, "esc")
	if v := m.View(); !strings.Contains(v, "Replication  WARN") {
		t.Fatalf("with the defaults 12s of clickhouse delay does not warn:\n%s", v)
	}

	loose := health.Defaults()
	loose.ReplicationLag = health.Bound{Warn: 20, Crit: 90}
	m = newModel(t, 120, 40, Options{Thresholds: &loose})
	feed(m, fixture.Snapshot())
	if v := m.View(); !strings.Contains(v, "Replication  OK") {
		t.Fatalf("with a 20 s warn the replication area is not OK:\n%s", v)
	}
	press(m, "?")
	if v := strings.Join(strings.Fields(m.View()), " "); !strings.Contains(v, "warn 20s") || !strings.Contains(v, "crit 1m30s") {
		t.Fatalf("help does not show the context's table:\n%s", v)
	}
}
