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

// refreshEvents re-reads the events while their view is shown.
func (m *Model) refreshEvents() tea.Cmd {
	if m.Current().Name() != events.Name {
		return nil
	}
	return m.toView(events.Name, events.LoadMsg{})
}
