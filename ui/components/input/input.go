// Package input is a one-line text input: enough for filters, command mode
// and confirmations, without clipboard support (and its dependency).
package input

import (
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
)

// Model of a one-line input.
type Model struct {
	Prompt    string
	CharLimit int
	Width     int
	value     []rune
	pos       int
}

// New input with a prompt.
func New(prompt string) Model { return Model{Prompt: prompt, CharLimit: 128} }

// Value typed so far.
func (m Model) Value() string { return string(m.value) }

// SetValue replaces the text and moves the cursor to its end.
func (m *Model) SetValue(s string) { m.value = []rune(s); m.pos = len(m.value) }

// Update edits the value with a key.
func (m *Model) Update(msg tea.Msg) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return
	}
	switch km.Type {
	case tea.KeyRunes, tea.KeySpace:
		r := km.Runes
		if km.Type == tea.KeySpace {
			r = []rune{' '}
		}
		for _, c := range r {
			if m.CharLimit > 0 && len(m.value) >= m.CharLimit {
				break
			}
			if c < 0x20 || c == 0x7f {
				continue
			}
			m.value = append(m.value[:m.pos], append([]rune{c}, m.value[m.pos:]...)...)
			m.pos++
		}
	case tea.KeyBackspace:
		if m.pos > 0 {
			m.value = append(m.value[:m.pos-1], m.value[m.pos:]...)
			m.pos--
		}
	case tea.KeyDelete:
		if m.pos < len(m.value) {
			m.value = append(m.value[:m.pos], m.value[m.pos+1:]...)
		}
	case tea.KeyLeft:
		m.pos = max(m.pos-1, 0)
	case tea.KeyRight:
		m.pos = min(m.pos+1, len(m.value))
	case tea.KeyHome, tea.KeyCtrlA:
		m.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		m.pos = len(m.value)
	case tea.KeyCtrlU:
		m.value, m.pos = m.value[:0], 0
	}
}

// View shows the prompt, the text and a block cursor at the end.
func (m Model) View() string {
	s := m.Prompt + common.Sanitize(string(m.value[:m.pos])) + "█" + common.Sanitize(string(m.value[m.pos:]))
	if m.Width > 0 {
		return common.Clip(s, m.Width)
	}
	return s
}
