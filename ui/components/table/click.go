package table

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// ClickMsg is a left click on a screen line (its rendered text). The table
// that shows that line as one of its rows selects it; the root model does
// not know where a view placed its tables, the tables know their rows.
type ClickMsg struct{ Line string }

// click selects the visible row rendered as line; false when none is.
func (m *Model) click(line string) bool {
	want := strings.TrimRight(ansi.Strip(line), " ")
	h := m.bodyHeight()
	for r := m.offset; r < len(m.view) && r < m.offset+h; r++ {
		got := strings.TrimRight(ansi.Strip(m.renderRow(m.rows[m.view[r]], r == m.cursor && m.focused)), " ")
		// The cursor's marker column differs between selected and not.
		if trimMarker(got) == trimMarker(want) {
			m.cursor = r
			return true
		}
	}
	return false
}

func trimMarker(s string) string {
	if s != "" && (s[0] == '>' || s[0] == ' ') {
		return s[1:]
	}
	return s
}
