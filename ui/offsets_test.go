package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ui/components/dialog"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// Consumers: o on a group opens the reset dialog; the chosen mode, the
// topic and stop-consumers reach the plan, which asks for confirmation.
func TestOffsetResetDialogReachesPlan(t *testing.T) {
	actor := &fixture.Actor{}
	m := newModel(t, 120, 40, Options{Actor: actor})
	feed(m, fixture.Snapshot())
	press(m, "3")
	group := ""
	for _, a := range m.Current().Actions() {
		if a.Kind == action.KindOffsetReset {
			group = a.Target
		}
	}
	if group != "wotr-consumer-group" {
		t.Fatalf("consumers view offers no offset reset on the selected group: %+v", m.Current().Actions())
	}
	press(m, "o", "enter") // the topic as offered
	typeText(m, "shift-by x")
	press(m, "enter")
	if v := m.View(); !strings.Contains(v, `"x" is not an integer`) {
		t.Fatalf("a bad shift is not caught in the dialog:\n%s", v)
	}
	for range "x" {
		press(m, "backspace")
	}
	typeText(m, "-100")
	press(m, "enter")
	_, cmd := m.Update(keyMsg("enter")) // stop-consumers as offered (the group has members)
	runCmd(m, cmd)
	if len(actor.Planned) != 1 {
		t.Fatalf("planned %+v, want one offset reset", actor.Planned)
	}
	req := actor.Planned[0]
	if req.Kind != action.KindOffsetReset || req.Target != group || req.Params["topic"] != "ingest-events" ||
		req.Params["shift-by"] != "-100" || req.Params["stop-consumers"] != "yes" || len(req.Params) != 3 {
		t.Fatalf("planned %+v, want shift-by -100 on ingest-events with stop-consumers", req)
	}
	if !strings.Contains(m.View(), "Type yes to confirm") {
		t.Fatalf("no confirmation asked:\n%s", m.View())
	}
	typeText(m, "yes")
	_, cmd = m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if ex := actor.ExecutedRequests(); len(ex) != 1 || ex[0].Kind != action.KindOffsetReset {
		t.Fatalf("executed %+v", ex)
	}
}

// Audit: u on a row with an action ID plans its undo; a refusal (no ID)
// offers nothing; read-only offers nothing at all.
func TestAuditUndoKey(t *testing.T) {
	actor := &fixture.Actor{}
	m := newModel(t, 120, 40, Options{Actor: actor, Audit: fixture.Audit{Entries: fixture.AuditEntries()}})
	feed(m, fixture.Snapshot())
	m.Update(auditMsg{entries: fixture.AuditEntries()})
	press(m, ":")
	typeText(m, "audit")
	press(m, "enter", "g") // newest first: the refused drain
	if a := m.Current().Actions(); len(a) != 0 {
		t.Fatalf("a refusal offers %+v", a)
	}
	press(m, "j")
	a := m.Current().Actions()
	if len(a) != 1 || a[0].Kind != action.KindUndo || a[0].Target != "5ca1ab1e00000001" {
		t.Fatalf("scale row actions %+v, want undo 5ca1ab1e00000001", a)
	}
	_, cmd := m.Update(keyMsg("u"))
	runCmd(m, cmd)
	if len(actor.Planned) != 1 || actor.Planned[0].Kind != action.KindUndo || actor.Planned[0].Target != "5ca1ab1e00000001" {
		t.Fatalf("planned %+v", actor.Planned)
	}
	if !strings.Contains(m.View(), "Type yes to confirm") {
		t.Fatalf("no confirmation asked:\n%s", m.View())
	}

	ro := newModel(t, 120, 40, Options{Actor: actor, ReadOnly: true})
	feed(ro, fixture.Snapshot())
	ro.Update(auditMsg{entries: fixture.AuditEntries()})
	press(ro, ":")
	typeText(ro, "audit")
	press(ro, "enter", "g", "j", "u")
	if len(actor.Planned) != 1 || ro.dialog != nil {
		t.Fatalf("read-only console planned an undo: %+v", actor.Planned)
	}
}

// The reset dialog at confirmation and the undo dialog, as golden screens.
func TestGoldenResetAndUndoDialogs(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, fixture.Snapshot())
		m.Update(auditMsg{entries: fixture.AuditEntries()})
		press(m, "3", "o", "enter")
		typeText(m, "to-earliest")
		press(m, "enter")
		_, cmd := m.Update(keyMsg("enter"))
		runCmd(m, cmd)
		if m.dialog == nil || m.dialog.Stage() != dialog.StageConfirm {
			t.Fatalf("reset did not reach confirmation:\n%s", m.View())
		}
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		golden(t, fmt.Sprintf("consumers-reset_%dx%d", sz[0], sz[1]), screen)

		press(m, "esc", ":")
		typeText(m, "audit")
		press(m, "enter", "g", "j")
		_, cmd = m.Update(keyMsg("u"))
		runCmd(m, cmd)
		if m.dialog == nil || m.dialog.Stage() != dialog.StageConfirm {
			t.Fatalf("undo did not reach confirmation:\n%s", m.View())
		}
		screen = m.View()
		checkScreen(t, screen, sz[0], sz[1])
		golden(t, fmt.Sprintf("audit-undo_%dx%d", sz[0], sz[1]), screen)
	}
}
