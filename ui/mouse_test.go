package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// Clicking a row of the Instances table selects that row; the wheel moves
// the cursor three rows a notch and stops at the ends; a click on the
// header or the footer selects nothing.
func TestMouseClickSelectsAndWheelScrolls(t *testing.T) {
	m := newModel(t, 120, 40, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, "2")
	tv, ok := m.Current().(*base.TableView)
	if !ok {
		t.Fatalf("instances view is %T, want a table view", m.Current())
	}
	tb := tv.Table
	if tb.Total() < 5 {
		t.Fatalf("fixture has %d instances, want at least 5", tb.Total())
	}
	first := tb.SelectedKey()
	// Find the screen line of the fourth row below the selected one.
	lines := strings.Split(m.View(), "\n")
	sel := -1
	for y, l := range lines {
		if strings.HasPrefix(l, ">") {
			sel = y
			break
		}
	}
	if sel < 0 {
		t.Fatalf("no selected row on screen:\n%s", m.View())
	}
	target := sel + 3
	m.Update(tea.MouseMsg{X: 10, Y: target, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if got := tb.Cursor(); got != 3 || tb.SelectedKey() == first {
		t.Fatalf("after clicking line %d the cursor is %d (%s), want row 3", target, got, tb.SelectedKey())
	}
	if !strings.HasPrefix(strings.Split(m.View(), "\n")[target], ">") {
		t.Fatalf("clicked line %d is not drawn selected:\n%s", target, m.View())
	}
	// A release, the header and the footer select nothing.
	for _, ev := range []tea.MouseMsg{
		{Y: sel, Button: tea.MouseButtonLeft, Action: tea.MouseActionRelease},
		{Y: 0, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress},
		{Y: 39, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress},
	} {
		m.Update(ev)
		if tb.Cursor() != 3 {
			t.Fatalf("%+v moved the cursor to %d", ev, tb.Cursor())
		}
	}
	m.Update(tea.MouseMsg{Y: 10, Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	if tb.Cursor() != 0 {
		t.Fatalf("wheel up from row 3: cursor %d, want 0", tb.Cursor())
	}
	m.Update(tea.MouseMsg{Y: 10, Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	if tb.Cursor() != 0 {
		t.Fatalf("wheel up at the top: cursor %d, want 0", tb.Cursor())
	}
	m.Update(tea.MouseMsg{Y: 10, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if tb.Cursor() != 3 {
		t.Fatalf("wheel down: cursor %d, want 3", tb.Cursor())
	}
	for i := 0; i < 10; i++ {
		m.Update(tea.MouseMsg{Y: 10, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	}
	if tb.Cursor() != tb.Total()-1 {
		t.Fatalf("wheel down past the end: cursor %d, want the last row %d", tb.Cursor(), tb.Total()-1)
	}
}

// With the help open, the mouse changes nothing underneath.
func TestMouseIgnoredUnderHelp(t *testing.T) {
	m := newModel(t, 120, 40, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, "2", "?")
	tb := m.Current().(*base.TableView).Table
	m.Update(tea.MouseMsg{Y: 10, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if tb.Cursor() != 0 {
		t.Fatalf("wheel under help moved the cursor to %d", tb.Cursor())
	}
}
