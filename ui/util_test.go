package ui

import (
	tea "github.com/charmbracelet/bubbletea"
)

// runCmd runs cmd and feeds its messages back, batches included.
func runCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			runCmd(m, c)
		}
		return
	}
	if msg == nil {
		return
	}
	_, next := m.Update(msg)
	runCmd(m, next)
}
