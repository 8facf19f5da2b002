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
