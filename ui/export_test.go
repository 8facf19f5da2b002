package ui

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

func exportScreen(t *testing.T, m *Model) (path string, records [][]string) {
	t.Helper()
	_, cmd := m.Update(keyMsg("e"))
	if cmd == nil {
		t.Fatalf("e gave no command; status %q", m.status)
	}
	msg, ok := cmd().(exportedMsg)
	if !ok || msg.err != nil {
		t.Fatalf("export: %+v", msg)
	}
	m.Update(msg)
	path = msg.path
	if want := filepath.Join(os.Getenv("XDG_STATE_HOME"), "wotr", "exports"); filepath.Dir(path) != want {
		t.Errorf("exported to %s, want a file in %s", path, want)
	}
	if screen := m.View(); !strings.Contains(screen, "exported to ") || !strings.Contains(screen, filepath.Base(path)) {
		t.Errorf("status line does not name %s:\n%s", filepath.Base(path), screen)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err = csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s is not CSV: %v", path, err)
	}
	return path, records
}

// e writes the view as shown: sorted like the screen, then only the rows the
// filter keeps, full names, private files.
func TestExportWritesTheViewAsShown(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	m := newModel(t, 80, 24, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, "2")

	path, recs := exportScreen(t, m)
	if recs[0][0] != "POD" || len(recs) != 7 {
		t.Fatalf("records %q, want the POD header and 6 pods", recs)
	}
	// instances sort by RPS, highest first, as on the screen
	want := []string{"wotr-api-f6c5657b9-b2n6w", "wotr-api-f6c5657b9-h5v1d", "wotr-api-f6c5657b9-q4m8z",
		"wotr-api-f6c5657b9-t9c3r", "wotr-api-f6c5657b9-l8s4f", "wotr-api-f6c5657b9-x7k2p"}
	for i, w := range want {
		if recs[i+1][0] != w {
			t.Errorf("row %d is %q, want %q", i+1, recs[i+1][0], w)
		}
	}
	if slices.Contains(recs[0], "RPS~") {
		t.Errorf("sparkline column exported: %q", recs[0])
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, mode)
		}
	}

	press(m, "/")
	typeText(m, "x7k2p")
	press(m, "enter")
	path2, recs := exportScreen(t, m)
	if path2 == path {
		t.Fatalf("second export overwrote %s", path)
	}
	if len(recs) != 2 || recs[1][0] != "wotr-api-f6c5657b9-x7k2p" {
		t.Errorf("filtered export %q, want the one pod", recs)
	}
}

// The replication screen is no table but exports its replicas, each once.
func TestExportReplication(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	m := newModel(t, 120, 40, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, "4")
	_, recs := exportScreen(t, m)
	if len(recs) != 5 || recs[1][1] != "eu-central" || recs[1][3] != "1.4s" || recs[1][4] != "1.1s" {
		t.Errorf("records %q, want 4 replicas, the standby with both figures", recs)
	}
}
