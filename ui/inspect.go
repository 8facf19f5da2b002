package ui

import (
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/views/events"
)

// hidden views have no tab; command mode reaches them (:events).
func hidden(v common.View) bool {
	h, ok := v.(interface{ Hidden() bool })
	return ok && h.Hidden()
}

// refreshEvents re-reads the events while their view is shown, and what
// the shown drill-in loads (its events, a Deployment's pods).
func (m *Model) refreshEvents() tea.Cmd {
	var drill tea.Cmd
	if r, ok := m.Current().(interface{ Refresh() tea.Cmd }); ok {
		drill = r.Refresh()
	}
	if m.Current().Name() != events.Name {
		return drill
	}
	return tea.Batch(drill, m.toView(events.Name, events.LoadMsg{}))
}
