package ui

import (
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

// HistorySource is what a StateSource offers when it keeps timed history over
// a selectable window (the collector: backfilled from Prometheus).
type HistorySource interface {
	HistoryPoints(series string) []state.Point
	SetHistoryWindow(w time.Duration) error
	HistoryStatus() collect.HistoryStatus
}

// historyWindowMsg: the window key was pressed and the source told.
type historyWindowMsg struct {
	window time.Duration
	err    error
}

// windowKey cycles the history window; its help names the window shown.
func windowKey(w time.Duration) key.Binding {
	return key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "history "+common.WindowName(w)))
}

// nextWindow after w in collect.HistoryWindows, wrapping.
func nextWindow(w time.Duration) time.Duration {
	ws := collect.HistoryWindows
	if w == 0 {
		w = ws[0]
	}
	for i, x := range ws {
		if x == w {
			return ws[(i+1)%len(ws)]
		}
	}
	return ws[0]
}

// cycleWindow asks the source for the next window; the backfill it starts
// arrives as a snapshot.
func (m *Model) cycleWindow() tea.Cmd {
	hs, ok := m.opts.Source.(HistorySource)
	next := nextWindow(m.data.HistoryWindow)
	if !ok {
		return func() tea.Msg { return historyWindowMsg{window: next} }
	}
	return func() tea.Msg { return historyWindowMsg{window: next, err: hs.SetHistoryWindow(next)} }
}

func (m *Model) applyWindow(msg historyWindowMsg) {
	if msg.err != nil {
		m.status = "history: " + msg.err.Error()
		return
	}
	m.setData(func(d *common.Data) { d.HistoryWindow = msg.window })
	m.status = "history window " + common.WindowName(msg.window)
	if _, ok := m.opts.Source.(HistorySource); !ok {
		m.status += " (no Prometheus: what this console has polled)"
	}
}

// historyOf reads the series and their time spans; it runs inside a command.
func historyOf(src StateSource, s state.Snapshot) (map[string][]float64, map[string]common.Span, string) {
	hist := map[string][]float64{}
	spans := map[string]common.Span{}
	hs, timed := src.(HistorySource)
	for _, name := range common.SeriesFor(s) {
		if !timed {
			if h := src.History(name); len(h) > 0 {
				hist[name] = h
			}
			continue
		}
		pts := hs.HistoryPoints(name)
		if len(pts) == 0 {
			continue
		}
		vals := make([]float64, len(pts))
		for i, p := range pts {
			vals[i] = p.Value
		}
		hist[name] = vals
		spans[name] = common.Span{From: pts[0].At, To: pts[len(pts)-1].At}
	}
	origin := "polls"
	if timed && hs.HistoryStatus().Backfilled {
		origin = "prometheus"
	}
	return hist, spans, origin
}
