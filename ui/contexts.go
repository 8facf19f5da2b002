package ui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
)

// ContextInfo is one context of the config as `:ctx` lists it.
type ContextInfo struct {
	Name     string
	ReadOnly bool
}

// contextCommand handles ":ctx" (list) and ":ctx NAME" (switch); ok is false
// for any other command.
func (m *Model) contextCommand(c string) (tea.Cmd, bool) {
	fields := strings.Fields(c)
	if len(fields) == 0 || (fields[0] != "ctx" && fields[0] != "context") {
		return nil, false
	}
	if len(fields) == 1 {
		m.status = m.contextList()
		return nil, true
	}
	name := fields[1]
	if m.opts.SwitchContext == nil {
		m.status = "switching contexts is not available here"
		return nil, true
	}
	if name == m.ctx.ContextName {
		m.status = fmt.Sprintf("already on context %q", name)
		return nil, true
	}
	found := false
	for _, ci := range m.opts.Contexts {
		found = found || ci.Name == name
	}
	if !found {
		m.status = fmt.Sprintf("unknown context %q: %s", common.Sanitize(name), m.contextList())
		return nil, true
	}
	if m.dialog != nil && m.dialog.Running() {
		m.status = "an action is running: switch contexts once it has finished"
		return nil, true
	}
	// The caller re-opens the collector and the actions for the new context.
	m.opts.SwitchContext(name)
	return m.quit(), true
}

// contextList is "contexts: *demo, production (read-only)".
func (m *Model) contextList() string {
	if len(m.opts.Contexts) == 0 {
		return "no other contexts in the config"
	}
	parts := make([]string, 0, len(m.opts.Contexts))
	for _, ci := range m.opts.Contexts {
		p := common.Sanitize(ci.Name)
		if ci.Name == m.ctx.ContextName {
			p = "*" + p
		}
		if ci.ReadOnly {
			p += " (read-only)"
		}
		parts = append(parts, p)
	}
	return "contexts: " + strings.Join(parts, ", ") + " · :ctx NAME switches"
}
