package base

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
)

// TextDrill is a scrollable detail page rebuilt from each snapshot.
type TextDrill struct {
	ctx     *common.Context
	title   string
	render  func(d *common.Data, w int) []string
	actions func(d *common.Data) []common.ActionBinding
	data    *common.Data
	lines   []string
	filter  string
	offset  int
	w, h    int
}

// NewTextDrill builds a detail page; render returns its lines for a width.
func NewTextDrill(ctx *common.Context, d *common.Data, title string, render func(d *common.Data, w int) []string, actions func(d *common.Data) []common.ActionBinding) *TextDrill {
	return &TextDrill{ctx: ctx, title: title, render: render, actions: actions, data: d}
}

func (t *TextDrill) Title() string          { return t.title }
func (t *TextDrill) SetData(d *common.Data) { t.data = d; t.rebuild() }
func (t *TextDrill) SetFilter(q string)     { t.filter = strings.ToLower(q); t.rebuild() }
func (t *TextDrill) SetSize(w, h int)       { t.w, t.h = w, h; t.rebuild() }
func (t *TextDrill) Actions() []common.ActionBinding {
	if t.actions == nil {
		return nil
	}
	return t.actions(t.data)
}

func (t *TextDrill) rebuild() {
	all := t.render(t.data, t.w)
	t.lines = t.lines[:0]
	for _, l := range all {
		if t.filter == "" || strings.Contains(strings.ToLower(l), t.filter) {
			t.lines = append(t.lines, l)
		}
	}
	t.offset = min(t.offset, max(len(t.lines)-t.h, 0))
}

// Update scrolls.
func (t *TextDrill) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := t.ctx.Keys
	switch {
	case key.Matches(km, k.Up):
		t.offset--
	case key.Matches(km, k.Down):
		t.offset++
	case key.Matches(km, k.PageDown):
		t.offset += t.h
	case key.Matches(km, k.PageUp):
		t.offset -= t.h
	case key.Matches(km, k.Top):
		t.offset = 0
	case key.Matches(km, k.Bottom):
		t.offset = len(t.lines)
	}
	t.offset = max(min(t.offset, len(t.lines)-t.h), 0)
	return nil
}

// View renders exactly h lines.
func (t *TextDrill) View() string {
	out := make([]string, 0, t.h)
	for i := t.offset; i < len(t.lines) && len(out) < t.h; i++ {
		out = append(out, common.Fit(t.lines[i], t.w))
	}
	return Pad(out, t.h)
}

// KV formats "key: value" detail lines with the key muted.
func KV(ctx *common.Context, k, v string) string {
	return ctx.Styles.Muted.Render(common.Fit(k, 14)) + " " + common.Sanitize(v)
}
