package ui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/views/contexts"
)

// ContextInfo is one context of the config as `:ctx` lists it.
type ContextInfo = common.ContextInfo

// contextCommand handles ":ctx" (the contexts view) and ":ctx NAME"
// (switch); ok is false for any other command.
func (m *Model) contextCommand(c string) (tea.Cmd, bool) {
	fields := strings.Fields(c)
	if len(fields) == 0 || (fields[0] != "ctx" && fields[0] != "context" && fields[0] != "contexts") {
		return nil, false
	}
	if len(fields) == 1 {
		return m.showContexts(), true
	}
	return m.switchContext(fields[1]), true
}

// showContexts opens the :ctx view and checks which contexts answer.
func (m *Model) showContexts() tea.Cmd {
	for i, v := range m.views {
		if v == common.View(m.ctxView) {
			if m.current != i {
				m.prev = m.current
			}
			m.current = i
		}
	}
	if len(m.opts.Contexts) == 0 {
		m.status = "no contexts in the config"
	}
	return m.toView(contexts.Name, common.ContextsShownMsg{})
}

// switchContext opens the console on name: inside the program when it can
// (OpenContext), else by quitting to the caller (SwitchContext).
func (m *Model) switchContext(name string) tea.Cmd {
	if m.opts.OpenContext == nil && m.opts.SwitchContext == nil {
		m.status = "switching contexts is not available here"
		return nil
	}
	if name == m.ctx.ContextName {
		m.status = fmt.Sprintf("already on context %q", name)
		return nil
	}
	found := false
	for _, ci := range m.opts.Contexts {
		found = found || ci.Name == name
	}
	if !found {
		m.status = fmt.Sprintf("unknown context %q: %s", common.Sanitize(name), m.contextList())
		return nil
	}
	if m.dialog != nil && m.dialog.Running() {
		m.status = "an action is running: switch contexts once it has finished"
		return nil
	}
	if m.opts.OpenContext != nil {
		m.status = fmt.Sprintf("opening context %q…", name)
		return openContext(m.opts.Parent, m.opts.OpenContext, name)
	}
	// The caller re-opens the collector and the actions for the new context.
	m.opts.SwitchContext(name)
	return m.quit()
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
	return "contexts: " + strings.Join(parts, ", ") + " · :ctx lists them"
}
