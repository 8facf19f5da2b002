package ui

import (
	"fmt"
	"testing"

	"github.com/wotr/wotr-tui/ui/components/dialog"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

func goldenOptions() Options {
	return Options{
		Actor:    &fixture.Actor{},
		Audit:    fixture.Audit{Entries: fixture.AuditEntries()},
		Runbooks: fixture.Runbooks{},
	}
}

// TestGoldenScreens draws every view at 80x24, 120x40 and 160x48.
func TestGoldenScreens(t *testing.T) {
	sizes := [][2]int{{80, 24}, {120, 40}, {160, 48}}
	for _, sz := range sizes {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, fixture.Snapshot())
		m.Update(auditMsg{entries: fixture.AuditEntries()})
		m.Update(runbooksMsg{})
		for i, v := range m.views {
			if hidden(v) {
				continue // no number key; TestEventsView draws it
			}
			name := fmt.Sprintf("%s_%dx%d", v.Name(), sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				press(m, fmt.Sprint((i+1)%10))
				if m.Current() != v {
					t.Fatalf("key %d shows %s, want %s", (i+1)%10, m.Current().Name(), v.Name())
				}
				screen := m.View()
				checkScreen(t, screen, sz[0], sz[1])
				golden(t, name, screen)
			})
		}
	}
}

// TestGoldenDrillAndDialog covers the group drill-in with its lag chart and
// the action dialog at both sizes.
func TestGoldenDrillAndDialog(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}, {160, 48}} {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, fixture.Snapshot())
		press(m, "3")
		// groups sort by status, worst first: the lagging group is on top
		press(m, "enter")
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		golden(t, fmt.Sprintf("consumers-group_%dx%d", sz[0], sz[1]), screen)

		press(m, "esc", "7", "down")
		// the plan arrives through a command; run it like the program would
		_, cmd := m.Update(keyMsg("P"))
		runCmd(m, cmd)
		if m.dialog == nil || m.dialog.Stage() != dialog.StageConfirm {
			t.Fatalf("promote did not reach confirmation")
		}
		screen = m.View()
		checkScreen(t, screen, sz[0], sz[1])
		golden(t, fmt.Sprintf("regions-promote_%dx%d", sz[0], sz[1]), screen)
	}
}
