package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

func ctxModel(t *testing.T, switched *string) *Model {
	opts := goldenOptions()
	opts.Contexts = []ContextInfo{{Name: "demo"}, {Name: "production", ReadOnly: true}}
	opts.SwitchContext = func(name string) { *switched = name }
	m := newModel(t, 120, 40, opts)
	feed(m, fixture.Snapshot())
	return m
}

func command(m *Model, c string) tea.Cmd {
	press(m, ":")
	typeText(m, c)
	_, cmd := m.Update(keyMsg("enter"))
	return cmd
}

func TestCtxListsAndSwitches(t *testing.T) {
	var switched string
	m := ctxModel(t, &switched)
	command(m, "ctx")
	if s := m.View(); !strings.Contains(s, "contexts: *demo, production (read-only)") {
		t.Fatalf(":ctx did not list the contexts:\n%s", s)
	}
	if cmd := command(m, "ctx prod"); cmd != nil || switched != "" {
		t.Fatalf("unknown context switched to %q", switched)
	}
	if s := m.View(); !strings.Contains(s, `unknown context "prod"`) {
		t.Fatalf("unknown context not named:\n%s", s)
	}
	command(m, "ctx demo")
	if switched != "" || !strings.Contains(m.View(), `already on context "demo"`) {
		t.Fatalf("switching to the current context: %q", switched)
	}
	cmd := command(m, "ctx production")
	if switched != "production" {
		t.Fatalf("switched to %q, want production", switched)
	}
	if cmd == nil {
		t.Fatal("the console did not quit to re-open on the new context")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("switch command is not a quit")
	}
}

// Without a switcher (a test harness, an embedding) :ctx says so.
func TestCtxWithoutSwitcher(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	command(m, "ctx other")
	if s := m.View(); !strings.Contains(s, "not available") {
		t.Fatalf(":ctx without a switcher:\n%s", s)
	}
}
