package ui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/components/table"
)

// wheelRows a wheel notch moves the cursor.
const wheelRows = 3

// mouse: the wheel moves the current table's cursor (as the arrow keys do,
// so every table and detail page scrolls), a left click selects the row
// under the pointer. Ignored while a dialog, the help or an input is open.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.dialog != nil || m.mode != modeNormal {
		return nil
	}
	var arrow tea.KeyType
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		arrow = tea.KeyUp
	case tea.MouseButtonWheelDown:
		arrow = tea.KeyDown
	case tea.MouseButtonLeft:
		if msg.Action != tea.MouseActionPress {
			return nil
		}
		top := len(m.headerLines())
		if msg.Y < top || msg.Y >= top+m.bodyHeight() {
			return nil
		}
		lines := strings.Split(m.View(), "\n")
		if msg.Y >= len(lines) {
			return nil
		}
		_, cmd := m.Current().Update(table.ClickMsg{Line: lines[msg.Y]})
		return cmd
	default:
		return nil
	}
	var cmds []tea.Cmd
	for i := 0; i < wheelRows; i++ {
		_, cmd := m.Current().Update(tea.KeyMsg{Type: arrow})
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}
