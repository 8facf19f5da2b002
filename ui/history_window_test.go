package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// rangeFake answers every range query with one series per label value
// asked for, one point per step over the range: a fake of the ops interface.
type rangeFake struct{}

func (rangeFake) QueryRangeSeries(_ context.Context, _ string, start, end time.Time, step time.Duration) ([]state.RangeSeries, error) {
	var pts []state.Point
	for at := start; !at.After(end); at = at.Add(step) {
		pts = append(pts, state.Point{At: at, Value: float64(at.Sub(start) / step)})
	}
	out := []state.RangeSeries{{Labels: map[string]string{"consumer_group": "wotr-consumer-group"}, Points: pts}}
	for _, in := range fixture.Snapshot().Instances {
		out = append(out, state.RangeSeries{Labels: map[string]string{"pod": in.Pod}, Points: pts})
	}
	return out, nil
}

// w cycles the window through the collector; the backfilled series arrive
// with their spans, and the audit records inside a span are marked on the
// lag chart's time axis with who did what.
func TestWindowKeyAndAuditMarksOnTheLagChart(t *testing.T) {
	now := fixture.Now
	col := collect.New(collect.Options{Now: func() time.Time { return now }}, collect.RegionSources{Region: "primary", History: &rangeFake{}})
	m := newModel(t, 120, 40, goldenOptions())
	m.opts.Source = col
	feed(m, fixture.Snapshot())
	if !strings.Contains(m.View(), "w history 15m") {
		t.Fatalf("footer lacks the window key:\n%s", m.View())
	}
	_, cmd := m.Update(keyMsg("w"))
	runCmd(m, cmd)
	if st := col.HistoryStatus(); st.Window != time.Hour {
		t.Fatalf("collector window after w = %s, want 1h", st.Window)
	}
	if !strings.Contains(m.View(), "w history 1h") || !strings.Contains(m.View(), "history window 1h") {
		t.Fatalf("screen does not show the 1h window:\n%s", m.View())
	}
	if err := col.Backfill(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Update(snapshotWithHistory(col, fixture.Snapshot()))
	m.Update(auditMsg{entries: fixture.AuditEntries()})
	span := m.data.HistorySpans[common.SeriesGroupLag("wotr-consumer-group")]
	if got := span.To.Sub(span.From); got != time.Hour || m.data.HistoryOrigin != "prometheus" {
		t.Fatalf("lag span %s origin %q, want the 1h window from prometheus", got, m.data.HistoryOrigin)
	}
	press(m, "3", "enter")
	screen := m.View()
	checkScreen(t, screen, 120, 40)
	// Both fixture records (1h and 30m ago) are inside the hour; the newest is spelt out.
	axis := ""
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "actions") {
			axis = l
		}
	}
	if strings.Count(axis, "▲") != 2 {
		t.Fatalf("action axis %q, want two marks", axis)
	}
	if !strings.Contains(screen, "oncall drain node-c refused (+1 more") {
		t.Fatalf("screen does not spell out the newest action:\n%s", screen)
	}
	golden(t, "consumers-group-history_120x40", screen)

	// Three more presses wrap around to 15m, where neither record falls.
	for i := 0; i < 3; i++ {
		_, cmd := m.Update(keyMsg("w"))
		runCmd(m, cmd)
	}
	if col.HistoryStatus().Window != 15*time.Minute {
		t.Fatalf("window after four presses = %s, want 15m", col.HistoryStatus().Window)
	}
	_ = col.Backfill(context.Background())
	m.Update(snapshotWithHistory(col, fixture.Snapshot()))
	if strings.Contains(m.View(), "▲") {
		t.Fatalf("15m window still marks actions from 30m and 1h ago:\n%s", m.View())
	}
}

// Without a timed source the window key still answers, and says the
// history is only what the console has polled.
func TestWindowKeyWithoutPrometheus(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	feed(m, fixture.Snapshot())
	_, cmd := m.Update(keyMsg("w"))
	runCmd(m, cmd)
	if v := m.View(); !strings.Contains(v, "no Prometheus") || m.data.HistoryWindow != time.Hour {
		t.Fatalf("window %s, screen:\n%s", m.data.HistoryWindow, v)
	}
}

// Golden screens of the drill-ins with a backfilled hour and its actions
// marked, at 80x24 and 120x40.
func TestGoldenBackfilledDrills(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		col := collect.New(collect.Options{Now: func() time.Time { return fixture.Now }}, collect.RegionSources{Region: "primary", History: &rangeFake{}})
		if err := col.SetHistoryWindow(time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := col.Backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		m := newModel(t, sz[0], sz[1], goldenOptions())
		m.Update(snapshotWithHistory(col, fixture.Snapshot()))
		m.Update(auditMsg{entries: fixture.AuditEntries()})
		m.Update(historyWindowMsg{window: time.Hour})
		for _, c := range []struct {
			name string
			keys []string
		}{{"consumers-group-backfilled", []string{"3", "enter"}}, {"instance-backfilled", []string{"2", "enter"}}} {
			press(m, c.keys...)
			screen := m.View()
			checkScreen(t, screen, sz[0], sz[1])
			if !strings.Contains(screen, "▲") {
				t.Errorf("%s at %dx%d marks no action:\n%s", c.name, sz[0], sz[1], screen)
			}
			golden(t, fmt.Sprintf("%s_%dx%d", c.name, sz[0], sz[1]), screen)
			press(m, "esc")
		}
	}
}
