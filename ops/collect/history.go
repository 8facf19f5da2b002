package collect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// HistoryWindows the console offers, shortest first; the first is the default.
var HistoryWindows = []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// historyQuery fills the series named by name(label value) from one range query.
type historyQuery struct {
	label string
	expr  string
	name  func(string) string
}

// historyQueries are the same figures the live series hold, as PromQL.
var historyQueries = []historyQuery{
	{"pod", LoadQueries["rps"], state.SeriesRPS},
	{"pod", LoadQueries["p99"], state.SeriesLatency},
	{"pod", `(` + LoadQueries["errors"] + `) / (` + LoadQueries["rps"] + `)`, state.SeriesErrors},
	{"consumer_group", `sum by (consumer_group) (kafka_consumer_lag)`, state.SeriesGroupLag},
	{"", `sum(rate(fastapi_requests_total[` + RateWindow + `]))`, func(string) string { return state.SeriesTotalRPS }},
}

// backfill is the last range read: series over [end-window, end] at step.
type backfill struct {
	window time.Duration
	step   time.Duration
	end    time.Time
	err    string
	series map[string][]state.Point
}

// HistoryStatus says where the history comes from, for the console's footer.
type HistoryStatus struct {
	Window time.Duration
	// Backfilled: series were read from Prometheus (else only what this
	// process has seen).
	Backfilled bool
	At         time.Time // of the last backfill
	Error      string    // of the last backfill
}

func (c *Collector) historyQuerier() HistoryQuerier {
	for _, r := range c.regions { // primary first
		if r.History != nil {
			return r.History
		}
	}
	return nil
}

// SetHistoryWindow selects the window History returns and, under Run,
// backfills it at once. A window not in HistoryWindows is refused.
func (c *Collector) SetHistoryWindow(w time.Duration) error {
	ok := false
	for _, x := range HistoryWindows {
		ok = ok || x == w
	}
	if !ok {
		return fmt.Errorf("history window %s: must be one of 15m, 1h, 6h or 24h", w)
	}
	c.mu.Lock()
	c.back.window = w
	c.mu.Unlock()
	select {
	case c.poke <- struct{}{}:
	default:
	}
	return nil
}

// HistoryStatus of the current window.
func (c *Collector) HistoryStatus() HistoryStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return HistoryStatus{Window: c.back.window, Backfilled: c.back.series != nil && c.back.step > 0,
		At: c.back.end, Error: c.back.err}
}

// historyStep: about the live ring's length, so a chart of any
// window has as many points as one drawn from live polls.
func (c *Collector) historyStep(window time.Duration) time.Duration {
	return max(window/time.Duration(c.opts.HistoryLen), time.Second)
}

// Backfill reads the current window's series from Prometheus. A query that
// fails leaves its series to the live history and is reported in the error.
func (c *Collector) Backfill(ctx context.Context) error {
	q := c.historyQuerier()
	if q == nil {
		return errors.New("history: no Prometheus configured")
	}
	c.mu.Lock()
	window := c.back.window
	c.mu.Unlock()
	end := c.opts.Now()
	step := c.historyStep(window)
	start := end.Add(-window)
	series := map[string][]state.Point{}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, hq := range historyQueries {
		wg.Add(1)
		go func(hq historyQuery) {
			defer wg.Done()
			qctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
			defer cancel()
			got, err := q.QueryRangeSeries(qctx, hq.expr, start, end, step)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, rs := range got {
				name := hq.name(rs.Labels[hq.label])
				if hq.label != "" && rs.Labels[hq.label] == "" {
					continue
				}
				series[name] = rs.Points
			}
		}(hq)
	}
	wg.Wait()
	err := errors.Join(errs...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.back.window != window {
		return err // changed while reading: the next backfill is due
	}
	c.back.step, c.back.end, c.back.series = step, end, series
	c.back.err = ""
	if err != nil {
		c.back.err = err.Error()
	}
	c.publishLocked(c.latest) // subscribers re-read the history
	return err
}

// runBackfill keeps the window backfilled: at once, then every step (at
// least every 15 s, at most every minute), and when the window changes.
func (c *Collector) runBackfill(ctx context.Context) {
	for {
		if err := c.Backfill(ctx); err != nil && ctx.Err() == nil {
			c.opts.Logger.Debug("history backfill failed", "err", err)
		}
		c.mu.Lock()
		every := min(max(c.back.step, 15*time.Second), time.Minute)
		c.mu.Unlock()
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.poke:
		case <-t.C:
		}
		t.Stop()
	}
}

// HistoryPoints of a series over the current window, oldest first: the
// backfilled points and the live ones newer than the last of them (at most
// one per step, so the time axis stays even), or only the live points when
// nothing was backfilled. nil when unknown.
func (c *Collector) HistoryPoints(series string) []state.Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []state.Point
	if r := c.hist[series]; r != nil {
		for _, p := range r.appendTo(nil) {
			live = append(live, state.Point{At: time.Unix(0, p.at), Value: p.v})
		}
	}
	back, ok := c.back.series[series]
	if !ok || len(back) == 0 {
		from := c.opts.Now().Add(-c.back.window)
		i := sort.Search(len(live), func(i int) bool { return !live[i].At.Before(from) })
		if i == len(live) {
			return nil
		}
		return live[i:]
	}
	out := append([]state.Point(nil), back...)
	last := out[len(out)-1].At
	for _, p := range live {
		if p.At.Sub(last) >= c.back.step {
			out = append(out, p)
			last = p.At
		}
	}
	return out
}

// History returns the values of HistoryPoints (nil when unknown).
func (c *Collector) History(series string) []float64 {
	pts := c.HistoryPoints(series)
	if pts == nil {
		return nil
	}
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.Value
	}
	return out
}

// HistorySeries lists the series that have points, sorted.
func (c *Collector) HistorySeries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for k := range c.hist {
		seen[k] = true
	}
	for k := range c.back.series {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
