package prom

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// A console that starts after Prometheus has scraped the platform for a
// while has history at once: its first backfill, before any poll of its own,
// returns the lag and request series with the values that were scraped, and
// Run publishes a snapshot whose history is drawn from them.
func TestBackfillGivesARestartedConsoleHistoryAtOnce(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	reg := prometheus.NewRegistry()
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_consumer_lag"}, []string{"consumer_group", "topic", "partition"})
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fastapi_requests_total"}, []string{"method", "status"})
	reg.MustRegister(lag, reqs)
	lag.WithLabelValues("hist-group", "ingest-events", "0").Set(700)
	lag.WithLabelValues("hist-group", "ingest-events", "1").Set(300)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// Traffic while the first console runs: the counter grows every scrape.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				reqs.WithLabelValues("POST", "202").Add(5)
			}
		}
	}()
	target := local.Target{Addr: ln.Addr().String(), Labels: map[string]string{"pod": "wotr-api-hist-1"}}
	if err := p.Prometheus.AddTarget(target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Prometheus.RemoveTarget(target.Addr) })

	c, err := New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until Prometheus holds a few scrapes of the target (file discovery
	// batches updates every 5 s).
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := c.QueryRangeSeries(ctx, `sum by (consumer_group) (kafka_consumer_lag)`, time.Now().Add(-time.Minute), time.Now(), time.Second)
		if err == nil && len(m) == 1 && len(m[0].Points) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never held 3 scrapes of the target: %+v %v", m, err)
		}
		time.Sleep(500 * time.Millisecond) // poll interval
	}
	// Rates need two scrapes inside the rate window; wait for a non-zero one.
	for {
		m, err := c.QueryRangeSeries(ctx, collect.LoadQueries["rps"], time.Now().Add(-time.Minute), time.Now(), time.Second)
		if err == nil && len(m) == 1 && len(m[0].Points) > 0 && m[0].Points[len(m[0].Points)-1].Value > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request rate for the target: %+v %v", m, err)
		}
		time.Sleep(500 * time.Millisecond) // poll interval
	}

	// The restarted console: a new collector that has polled nothing (900
	// points per window: a 1 s step over 15 m, so seconds of data show).
	col := collect.New(collect.Options{Context: "t", Interval: time.Hour, HistoryLen: 900}, collect.RegionSources{Region: "primary", Role: state.RolePrimary, History: c})
	if h := col.HistoryPoints(state.SeriesGroupLag("hist-group")); h != nil {
		t.Fatalf("history before the backfill = %v, want none", h)
	}
	if err := col.Backfill(ctx); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	lagPts := col.HistoryPoints(state.SeriesGroupLag("hist-group"))
	if len(lagPts) < 3 {
		t.Fatalf("lag history after the backfill has %d points, want at least 3", len(lagPts))
	}
	if last := lagPts[len(lagPts)-1]; last.Value != 1000 || time.Since(last.At) > 30*time.Second {
		t.Fatalf("last lag point %+v, want 1000 (700+300) within 30 s", last)
	}
	window := collect.HistoryWindows[0]
	if first := lagPts[0].At; time.Since(first) > window+time.Minute {
		t.Fatalf("first point %s is older than the %s window", first, window)
	}
	rps := col.History(state.SeriesRPS("wotr-api-hist-1"))
	if len(rps) == 0 || rps[len(rps)-1] <= 0 {
		t.Fatalf("rps history %v, want a positive rate at the end", rps)
	}
	if st := col.HistoryStatus(); !st.Backfilled || st.Window != window || st.Error != "" {
		t.Fatalf("history status %+v, want backfilled over %s without error", st, window)
	}

	// A wider window reads again, with a step that keeps the point count.
	if err := col.SetHistoryWindow(time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := col.Backfill(ctx); err != nil {
		t.Fatal(err)
	}
	if st := col.HistoryStatus(); st.Window != time.Hour {
		t.Fatalf("window after SetHistoryWindow(1h) = %s", st.Window)
	}
	if err := col.SetHistoryWindow(2 * time.Hour); err == nil || col.HistoryStatus().Window != time.Hour {
		t.Fatalf("window 2h: err %v, window now %s; want refused and 1h kept", err, col.HistoryStatus().Window)
	}

	// Under Run the first published snapshot is followed at once by the
	// backfilled history, before the first poll interval (an hour) passes.
	col2 := collect.New(collect.Options{Context: "t", Interval: time.Hour, HistoryLen: 900}, collect.RegionSources{Region: "primary", Role: state.RolePrimary, History: c})
	ch, unsub := col2.Subscribe()
	defer unsub()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- col2.Run(rctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("Run published nothing within 30 s")
	}
	if h := col2.History(state.SeriesGroupLag("hist-group")); len(h) < 3 {
		t.Fatalf("history after Run's first publish has %d points, want the backfill", len(h))
	}
}
