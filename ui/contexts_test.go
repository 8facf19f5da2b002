package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
	"github.com/wotr/wotr-tui/ui/views/contexts"
)

var testContexts = []ContextInfo{
	{Name: "demo", Regions: []string{"primary", "secondary"}, KubeContexts: []string{"wotr-primary", "wotr-secondary"}},
	{Name: "production", ReadOnly: true, Regions: []string{"eu-west"}, KubeContexts: []string{"prod-eu"}},
	{Name: "staging", Regions: []string{"primary"}, KubeContexts: []string{""}},
}

// probeFake answers staging as unreachable, the others as reachable.
func probeFake(_ context.Context, name string) error {
	if name == "staging" {
		return errors.New("dial tcp 10.0.0.9:6443: connect: connection refused")
	}
	return nil
}

func ctxModel(t *testing.T, w, h int, switched *string) *Model {
	opts := goldenOptions()
	opts.Contexts = testContexts
	opts.ProbeContext = probeFake
	opts.SwitchContext = func(name string) { *switched = name }
	m := newModel(t, w, h, opts)
	feed(m, fixture.Snapshot())
	return m
}

func command(m *Model, c string) tea.Cmd {
	press(m, ":")
	typeText(m, c)
	_, cmd := m.Update(keyMsg("enter"))
	return cmd
}

func rowOf(screen, name string) string {
	for _, l := range strings.Split(ansi.Strip(screen), "\n") {
		if f := strings.Fields(strings.TrimLeft(l, ">* ")); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

// :ctx is a table of the contexts: the current one marked, regions, kube
// contexts, the mode, and whether each answers (checked without waiting:
// "checking…" first, the probe's answer once it came).
func TestCtxViewListsTheContexts(t *testing.T) {
	var switched string
	m := ctxModel(t, 120, 40, &switched)
	press(m, "4") // opened from Replication
	cmd := command(m, "ctx")
	if m.Current().Name() != contexts.Name {
		t.Fatalf(":ctx shows %s", m.Current().Name())
	}
	screen := m.View()
	checkScreen(t, screen, 120, 40)
	if r := rowOf(screen, "staging"); !strings.Contains(r, "checking…") {
		t.Errorf("before the probes answered staging reads %q", r)
	}
	runCmd(m, cmd)
	screen = ansi.Strip(m.View())
	demo := rowOf(screen, "demo")
	if !strings.HasPrefix(strings.TrimLeft(demo, "> "), "* demo") || !strings.Contains(demo, "primary,secondary") ||
		!strings.Contains(demo, "wotr-primary,wotr-secondary") || !strings.Contains(demo, "read-write") || !strings.Contains(demo, "yes") {
		t.Errorf("current context row: %q", demo)
	}
	prod := rowOf(screen, "production")
	if strings.Contains(prod, "*") || !strings.Contains(prod, "read-only") || !strings.Contains(prod, "prod-eu") {
		t.Errorf("read-only context row: %q", prod)
	}
	if r := rowOf(screen, "staging"); !strings.Contains(r, "no: dial tcp 10.0.0.9:6443") {
		t.Errorf("unreachable context row: %q", r)
	}

	// The help screen names Enter for what it does here.
	press(m, "?")
	if help := ansi.Strip(m.View()); strings.Count(help, "enter switch") < 2 || strings.Contains(help, "drill in") { // the footer and the help itself
		t.Errorf(":ctx help should say enter switch, not drill in:\n%s", help)
	}
	press(m, "?")

	// / filters the table; Esc clears the filter, then goes back
	press(m, "/")
	typeText(m, "prod")
	press(m, "enter")
	screen = ansi.Strip(m.View())
	if rowOf(screen, "production") == "" || rowOf(screen, "demo") != "" || rowOf(screen, "staging") != "" {
		t.Errorf("filter prod:\n%s", screen)
	}
	press(m, "esc")
	if m.Current().Name() != contexts.Name || rowOf(ansi.Strip(m.View()), "demo") == "" {
		t.Fatalf("first Esc should clear the filter and stay")
	}
	press(m, "esc")
	if m.Current().Name() != "replication" {
		t.Fatalf("Esc from :ctx went to %s, want replication (where it was opened)", m.Current().Name())
	}
	if switched != "" {
		t.Fatalf("switched to %q without Enter", switched)
	}
}

// Enter on a row switches to it; on the current one it says so; unknown
// names are refused naming the contexts there are.
func TestCtxViewEnterSwitches(t *testing.T) {
	var switched string
	m := ctxModel(t, 120, 40, &switched)
	if cmd := command(m, "ctx prod"); cmd != nil || switched != "" {
		t.Fatalf("unknown context switched to %q", switched)
	}
	if s := m.View(); !strings.Contains(s, `unknown context "prod"`) || !strings.Contains(s, "*demo, production (read-only)") {
		t.Fatalf("unknown context not named:\n%s", s)
	}
	command(m, "ctx")
	// sorted by name, the cursor on demo: Enter on it switches nowhere
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if switched != "" || !strings.Contains(m.View(), `already on context "demo"`) {
		t.Fatalf("Enter on the current context: switched %q\n%s", switched, m.View())
	}
	press(m, "down")
	_, cmd = m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal("Enter on production does nothing")
	}
	msg := cmd()
	_, quit := m.Update(msg)
	if switched != "production" {
		t.Fatalf("switched to %q, want production", switched)
	}
	if quit == nil {
		t.Fatal("without OpenContext the console does not quit to re-open")
	}
	if _, ok := quit().(tea.QuitMsg); !ok {
		t.Error("switch command is not a quit")
	}
}

// Without a switcher (a test harness, an embedding) :ctx NAME says so.
func TestCtxWithoutSwitcher(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	command(m, "ctx other")
	if s := m.View(); !strings.Contains(s, "not available") {
		t.Fatalf(":ctx without a switcher:\n%s", s)
	}
}

// :c is still the consumers view (prefix matching leaves :ctx out).
func TestCtxKeepsConsumersPrefix(t *testing.T) {
	var switched string
	m := ctxModel(t, 80, 24, &switched)
	command(m, "c")
	if m.Current().Name() != "consumers" {
		t.Fatalf(":c shows %s", m.Current().Name())
	}
}

func TestGoldenContexts(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		var switched string
		m := ctxModel(t, sz[0], sz[1], &switched)
		runCmd(m, command(m, "ctx"))
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		golden(t, fmt.Sprintf("contexts_%dx%d", sz[0], sz[1]), screen)
	}
}

// shellOptions is a console on "demo" whose opener builds consoles on the
// fixture and counts the Close of each.
func shellOptions(opened *[]string, closed *atomic.Int32) Options {
	opts := goldenOptions()
	opts.Context = "demo"
	opts.Clock = func() time.Time { return fixture.Now }
	opts.Tick = -1
	opts.Contexts = testContexts
	opts.Close = func() { closed.Add(1) }
	opts.OpenContext = func(_ context.Context, name string) (Options, error) {
		if name == "staging" {
			return Options{}, errors.New("kubeconfig /nope: no such file")
		}
		*opened = append(*opened, name)
		o := goldenOptions()
		o.Context = name
		o.ReadOnly = name == "production"
		o.Contexts = testContexts
		o.Close = func() { closed.Add(1) }
		return o, nil
	}
	return opts
}

// runShell runs cmd's messages through the shell as the program would.
func runShell(s *Shell, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			runShell(s, c)
		}
		return
	}
	if msg == nil {
		return
	}
	if _, ok := msg.(tea.QuitMsg); ok {
		return
	}
	_, next := s.Update(msg)
	runShell(s, next)
}

func shellKeys(s *Shell, keys ...string) {
	for _, k := range keys {
		_, cmd := s.Update(keyMsg(k))
		runShell(s, cmd)
	}
}

// With OpenContext the switch happens inside the program: the shell shows
// a console on the new context (its header names it), the old console's
// clients are closed, and its late messages reach no one.
func TestShellSwitchesContextInPlace(t *testing.T) {
	var opened []string
	var closed atomic.Int32
	s := NewShell(shellOptions(&opened, &closed))
	s.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	runShell(s, s.Init())
	first := s.Console()
	if !strings.Contains(s.View(), "ctx demo") {
		t.Fatalf("header:\n%s", s.View())
	}
	staleCmd := s.tag(func() tea.Msg { return snapshotMsg{snap: fixture.Snapshot()} })

	shellKeys(s, ":", "c", "t", "x", "enter", "down", "enter")
	if len(opened) != 1 || opened[0] != "production" {
		t.Fatalf("opened %q, want production", opened)
	}
	if s.Console() == first {
		t.Fatal("the console was not replaced")
	}
	screen := ansi.Strip(s.View())
	checkScreen(t, screen, 120, 40)
	top := strings.Split(screen, "\n")[0]
	if !strings.Contains(top, "ctx production") || !strings.Contains(top, "[read-only]") || strings.Contains(top, "ctx demo") {
		t.Fatalf("header after the switch: %q", top)
	}
	if closed.Load() != 1 {
		t.Fatalf("%d consoles closed, want the old one", closed.Load())
	}
	// the old console's snapshot arrives late: the new one is not fed it
	runShell(s, staleCmd)
	if s.Console().hasData {
		t.Error("a message of the replaced console reached the new one")
	}

	// an opener error keeps the console and names the context and reason
	shellKeys(s, ":")
	for _, r := range "ctx staging" {
		shellKeys(s, string(r))
	}
	shellKeys(s, "enter")
	if !strings.Contains(s.View(), `cannot open context "staging": kubeconfig /nope`) || !strings.Contains(s.View(), "ctx production") {
		t.Fatalf("failed open:\n%s", s.View())
	}
	// and back
	shellKeys(s, ":")
	for _, r := range "ctx demo" {
		shellKeys(s, string(r))
	}
	shellKeys(s, "enter")
	if !strings.Contains(strings.Split(s.View(), "\n")[0], "ctx demo") || closed.Load() != 2 {
		t.Fatalf("switch back: closed %d\n%s", closed.Load(), s.View())
	}
	s.close()
	if closed.Load() != 3 {
		t.Errorf("closing the program closed %d consoles, want 3", closed.Load())
	}
}

// A snapshot taken before the collector's first round (no time) leaves the
// header waiting for data instead of showing an age since year 1.
func TestHeaderWaitsForATimedSnapshot(t *testing.T) {
	m := newModel(t, 120, 40, goldenOptions())
	m.Update(snapshotMsg{})
	if top := strings.Split(ansi.Strip(m.View()), "\n")[0]; !strings.Contains(top, "waiting for data") {
		t.Fatalf("header after an empty snapshot: %q", top)
	}
	feed(m, fixture.Snapshot())
	if top := strings.Split(ansi.Strip(m.View()), "\n")[0]; !strings.Contains(top, "data 2s old") {
		t.Fatalf("header after a snapshot: %q", top)
	}
}
