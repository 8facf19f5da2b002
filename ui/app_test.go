package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// A hostile error text (escape sequences, newlines) stays on one line and
// never reaches the terminal raw.
func TestHostileErrorTextStaysInPlace(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	snap := fixture.Snapshot()
	snap.Sources[2].Error = "boom\n\x1b[2J\x1b[31mred\ttab\r"
	feed(m, snap)
	screen := m.View()
	checkScreen(t, screen, 80, 24)
	if strings.Contains(screen, "\x1b[2J") || strings.Contains(screen, "\t") || strings.Contains(screen, "\r") {
		t.Fatalf("control characters reached the screen: %q", screen)
	}
	if !strings.Contains(screen, "⚠ kafka stale 14s: boom red tab") {
		t.Fatalf("footer does not show the stale source:\n%s", screen)
	}
}

// Live resize: every size from the minimum up keeps the screen exact.
func TestResizeKeepsScreenExact(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	feed(m, fixture.Snapshot())
	for _, sz := range [][2]int{{80, 24}, {81, 25}, {100, 30}, {120, 40}, {200, 60}, {80, 24}, {40, 10}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		for i := range m.views {
			m.current = i
			checkScreen(t, m.View(), sz[0], sz[1])
		}
	}
	m.Update(tea.WindowSizeMsg{Width: 30, Height: 5})
	if got := m.View(); !strings.Contains(got, "needs at least") {
		t.Fatalf("tiny terminal: %q", got)
	}
}

func TestFilterAndEscClears(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	feed(m, fixture.Snapshot())
	press(m, "6", "/")
	typeText(m, "NODE-C")
	if !strings.Contains(m.View(), "Nodes [1/3") {
		t.Fatalf("filter is not case-insensitive:\n%s", m.View())
	}
	press(m, "esc")
	if !strings.Contains(m.View(), "Nodes [3") {
		t.Fatalf("esc did not clear the filter:\n%s", m.View())
	}
}

func TestSortByColumnKeys(t *testing.T) {
	m := newModel(t, 160, 48, Options{})
	feed(m, fixture.Snapshot())
	press(m, "2")
	if !strings.Contains(m.View(), "RPS↓") {
		t.Fatal("instances are not sorted by RPS first")
	}
	press(m, ">")
	if !strings.Contains(m.View(), "RPS~↑") {
		t.Fatalf("> did not move the sort column:\n%s", m.View())
	}
	press(m, "<", "!")
	if !strings.Contains(m.View(), "RPS↑") {
		t.Fatalf("! did not reverse the sort:\n%s", m.View())
	}
}

func TestHelpListsViewActions(t *testing.T) {
	m := newModel(t, 100, 30, Options{Actor: &fixture.Actor{}})
	feed(m, fixture.Snapshot())
	press(m, "6", "?")
	v := m.View()
	for _, want := range []string{"Help: Nodes", "drain", "cordon", "filter", "views"} {
		if !strings.Contains(v, want) {
			t.Fatalf("help lacks %q:\n%s", want, v)
		}
	}
	press(m, "esc")
	if strings.Contains(m.View(), "Help:") {
		t.Fatal("esc did not close help")
	}
}

func TestActionsBoundPerRow(t *testing.T) {
	m := newModel(t, 100, 30, Options{Actor: &fixture.Actor{}})
	feed(m, fixture.Snapshot())
	kinds := func() []string {
		out := []string{}
		for _, a := range m.Current().Actions() {
			out = append(out, string(a.Kind))
		}
		return out
	}
	press(m, "6", "G") // node-c is cordoned
	if got := strings.Join(kinds(), ","); got != "drain,uncordon" {
		t.Fatalf("cordoned node actions = %s", got)
	}
	press(m, "g")
	if got := strings.Join(kinds(), ","); got != "drain,cordon" {
		t.Fatalf("schedulable node actions = %s", got)
	}
	press(m, "7") // primary first: no promote
	if got := kinds(); len(got) != 0 {
		t.Fatalf("primary region actions = %v", got)
	}
	press(m, "2")
	if got := strings.Join(kinds(), ","); got != "scale" {
		t.Fatalf("instance actions = %s", got)
	}
	press(m, "3", "tab")
	if a := m.Current().Actions(); len(a) != 1 || a[0].Kind != "partitions" || a[0].Target != "dlq-events" {
		t.Fatalf("topic actions = %+v", a)
	}
}

// Scale: the typed replicas reach the actor's plan request.
func TestScaleParamsReachPlan(t *testing.T) {
	actor := &fixture.Actor{}
	m := newModel(t, 100, 30, Options{Actor: actor})
	feed(m, fixture.Snapshot())
	press(m, "2", "s", "backspace")
	typeText(m, "8")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if len(actor.Planned) != 1 || actor.Planned[0].Params["replicas"] != "8" || actor.Planned[0].Target != "wotr-api" {
		t.Fatalf("planned %+v, want scale wotr-api replicas=8", actor.Planned)
	}
	if !strings.Contains(m.View(), "Type yes to confirm") {
		t.Fatalf("no confirmation asked:\n%s", m.View())
	}
	press(m, "esc")
	if m.dialog != nil {
		t.Fatal("esc did not cancel the dialog")
	}
}

func TestTableDropsColumnsByPriority(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	ctx := m.Context()
	tb := table.New(ctx, []table.Column{{Title: "A", Width: 30}, {Title: "B", Width: 30, Priority: 2}, {Title: "C", Width: 30, Priority: 1}}, -1, false)
	tb.SetSize(70, 5)
	tb.SetRows([]table.Row{{Key: "1", Cells: []string{"a", "b", "c"}}})
	hdr := strings.SplitN(tb.View(), "\n", 2)[0]
	if !strings.Contains(hdr, "A") || strings.Contains(hdr, "B") || !strings.Contains(hdr, "C") {
		t.Fatalf("header %q: want A and C, B dropped first", hdr)
	}
}

func TestUnknownCommandNamesTheValue(t *testing.T) {
	m := newModel(t, 100, 30, Options{})
	press(m, ":")
	typeText(m, "xyz")
	press(m, "enter")
	if v := m.View(); !strings.Contains(v, `unknown view "xyz": try one of overview`) {
		t.Fatalf("no clear error:\n%s", v)
	}
	press(m, ":")
	typeText(m, "no")
	press(m, "enter")
	if m.Current().Name() != "nodes" {
		t.Fatalf(":no opened %s", m.Current().Name())
	}
}

func TestNoRunbooksShownCleanly(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	press(m, "9")
	if !strings.Contains(m.View(), "no runbooks (no runbooks engine configured)") {
		t.Fatalf("runbooks view:\n%s", m.View())
	}
}

// Keys typed faster than a frame arrive as one message; each still counts.
func TestBurstOfRunesIsSplitIntoKeys(t *testing.T) {
	m := newModel(t, 100, 30, Options{})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":nodes")})
	press(m, "enter")
	if m.Current().Name() != "nodes" {
		t.Fatalf("burst \":nodes\" opened %s", m.Current().Name())
	}
}
