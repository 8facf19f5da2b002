package ui

import (
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// Backups: R on a row plans restore set of that row's set, which asks for
// typed confirmation; read-only offers nothing.
func TestBackupsRestoreSetKey(t *testing.T) {
	actor := &fixture.Actor{}
	m := newModel(t, 120, 40, Options{Actor: actor})
	snap := fixture.Snapshot()
	feed(m, snap)
	press(m, "8")
	want := ""
	for _, a := range m.Current().Actions() {
		if a.Kind == action.KindRestoreSet {
			want = a.Target
		}
	}
	if want == "" {
		t.Fatalf("backups view offers no restore set: %+v", m.Current().Actions())
	}
	_, cmd := m.Update(keyMsg("R"))
	runCmd(m, cmd)
	if len(actor.Planned) != 1 || actor.Planned[0].Kind != action.KindRestoreSet || actor.Planned[0].Target != want {
		t.Fatalf("planned %+v, want restore set %s", actor.Planned, want)
	}
	if !strings.Contains(m.View(), "to confirm") {
		t.Fatalf("no confirmation asked:\n%s", m.View())
	}

	ro := newModel(t, 120, 40, Options{Actor: actor, ReadOnly: true})
	feed(ro, snap)
	press(ro, "8", "R")
	if len(actor.Planned) != 1 || ro.dialog != nil {
		t.Fatalf("read-only console planned a restore set: %+v", actor.Planned)
	}
}

// Backups: r on a row plans a restore of that row's store from its set;
// a point in time is typed as "to-time T" and reaches the request as its
// parameter; read-only offers nothing.
func TestBackupsRestoreStoreKey(t *testing.T) {
	actor := &fixture.Actor{}
	m := newModel(t, 120, 40, Options{Actor: actor})
	snap := fixture.Snapshot()
	feed(m, snap)
	press(m, "8")
	var store, from string
	for _, a := range m.Current().Actions() {
		if a.Kind == action.KindRestore {
			store, from = a.Target, a.Params[0].Default
		}
	}
	if store == "" || from == "" {
		t.Fatalf("backups view offers no store restore: %+v", m.Current().Actions())
	}
	press(m, "r", "enter") // the row's set as offered
	typeText(m, "to-time 2026-12-01T23:40:00Z")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if len(actor.Planned) != 1 {
		t.Fatalf("planned %+v, want one restore", actor.Planned)
	}
	req := actor.Planned[0]
	if req.Kind != action.KindRestore || req.Target != store || req.Params[action.ParamFrom] != from ||
		req.Params[action.ParamToTime] != "2026-12-01T23:40:00Z" || len(req.Params) != 2 {
		t.Fatalf("planned %+v, want restore %s from %s to 2026-12-01T23:40:00Z", req, store, from)
	}

	ro := newModel(t, 120, 40, Options{Actor: actor, ReadOnly: true})
	feed(ro, snap)
	press(ro, "8", "r")
	if len(actor.Planned) != 1 || ro.dialog != nil {
		t.Fatalf("read-only console planned a restore: %+v", actor.Planned)
	}
}
