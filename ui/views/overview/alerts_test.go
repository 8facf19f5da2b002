package overview

import (
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

func alertsRow(s state.Snapshot) *Area {
	for _, a := range Areas(s, health.Defaults()) {
		if a.Name == "Alerts" {
			return &a
		}
	}
	return nil
}

func TestAlertsArea(t *testing.T) {
	if a := alertsRow(state.Snapshot{Sources: []state.Meta{{Source: "kube@primary"}}}); a != nil {
		t.Fatalf("no Prometheus, yet an alerts row: %+v", a)
	}
	// a source that has answered (one that has not reads as loading)
	src := []state.Meta{{Source: state.SourceAlerts + "@primary", FetchedAt: time.Now()}}
	quiet := alertsRow(state.Snapshot{Sources: src, Alerts: []state.Alert{{Name: "WotrLatencyP99", State: "pending", Severity: "critical"}}})
	if quiet == nil || quiet.Level != health.OK || quiet.Summary != "none firing; 1 pending" || quiet.Key != alertsKey {
		t.Fatalf("pending only: %+v", quiet)
	}
	loud := alertsRow(state.Snapshot{Sources: src, Alerts: []state.Alert{
		{Name: "WotrScrapeDown", State: "firing", Severity: "warning", Labels: map[string]string{"pod": "wotr-api-1"}},
		{Name: "WotrConnectionBudget", State: "firing", Severity: "critical", Labels: map[string]string{"store": "postgres"}},
	}})
	if loud.Level != health.Crit || !strings.HasPrefix(loud.Summary, "2 firing: WotrScrapeDown (wotr-api-1 warning), WotrConnectionBudget (postgres critical)") {
		t.Fatalf("firing: %+v", loud)
	}
}
