package prom

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/alerts"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
	"github.com/wotr/wotr-tui/ui/views/overview"
)

// The local Prometheus loads the shipped rules file: every group of it is
// evaluated.
func TestLocalPrometheusLoadsShippedRules(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	c, err := New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, g := range alerts.Rules(health.Defaults(), alerts.Options{}) {
		want[g.Name] = true
	}
	res, err := c.API.Rules(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range res.Groups {
		if !strings.HasSuffix(g.File, "rules.yml") {
			t.Errorf("group %s from %s, want the shipped rules.yml", g.Name, g.File)
		}
		delete(want, g.Name)
	}
	if len(want) > 0 {
		t.Fatalf("groups not loaded: %v (loaded %d)", want, len(res.Groups))
	}
}

// A scrape target that fails fires WotrScrapeDown on the real Prometheus; the
// collector puts it in the snapshot, and the status overview and the
// console's overview show it; once the target answers again it is gone.
func TestScrapeDownAlertReachesTheOverview(t *testing.T) {
	rules, err := alerts.RulesFile(alerts.Rules(health.Defaults(), alerts.Options{For: -1}))
	if err != nil {
		t.Fatal(err)
	}
	p := localtest.Private(t, local.Options{Only: []string{local.Prometheus}, Prometheus: local.PrometheusOptions{Rules: rules}})
	var failing atomic.Bool
	failing.Store(true)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down for the test", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "fastapi_requests_total 1")
	}))
	defer target.Close()
	addr := strings.TrimPrefix(target.URL, "http://")
	if err := p.Prometheus.SetTargets([]local.Target{{Addr: addr, Labels: map[string]string{"pod": "wotr-api-down"}}}); err != nil {
		t.Fatal(err)
	}
	c, err := New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	col := collect.New(collect.Options{Context: "test", Timeout: 5 * time.Second},
		collect.RegionSources{Region: "primary", Role: state.RolePrimary, Alerts: c})
	ctx := context.Background()
	var snap state.Snapshot
	down := func(s state.Snapshot) *state.Alert {
		for i, a := range s.Alerts {
			if a.Name == "WotrScrapeDown" && a.State == "firing" && a.Labels["pod"] == "wotr-api-down" {
				return &s.Alerts[i]
			}
		}
		return nil
	}
	localtest.Eventually(t, 90*time.Second, "WotrScrapeDown firing in the snapshot", func() error {
		snap = col.CollectOnce(ctx)
		if down(snap) == nil {
			return fmt.Errorf("alerts %+v, sources %+v", snap.Alerts, snap.Sources)
		}
		return nil
	})
	a := down(snap)
	if a.Severity != alerts.SeverityWarning || a.Source != state.SourceAlerts+"@primary" || a.ActiveAt.IsZero() ||
		!strings.Contains(a.Summary, addr) {
		t.Errorf("alert %+v: want severity warning, source %s@primary, an active time and the target in the summary", a, state.SourceAlerts)
	}
	var row []string
	for _, r := range present.Overview(snap, health.Defaults()).Rows {
		if r[0] == "alerts" {
			row = r
		}
	}
	if len(row) != 3 || row[1] != "WARN" || !strings.Contains(row[2], "WotrScrapeDown (wotr-api-down warning)") {
		t.Errorf("status overview alerts row %q, want WARN naming WotrScrapeDown of wotr-api-down", row)
	}
	var area *overview.Area
	for _, x := range overview.Areas(snap, health.Defaults()) {
		if x.Name == "Alerts" {
			area = &x
		}
	}
	if area == nil || area.Level != health.Warn || !strings.Contains(area.Summary, "WotrScrapeDown") {
		t.Errorf("console overview alerts area %+v, want WARN naming WotrScrapeDown", area)
	}

	failing.Store(false)
	localtest.Eventually(t, 90*time.Second, "WotrScrapeDown resolved once the target answers", func() error {
		if s := col.CollectOnce(ctx); down(s) != nil {
			return fmt.Errorf("still firing: %+v", s.Alerts)
		}
		return nil
	})
}
