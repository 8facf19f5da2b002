package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// columnCells reads the cells under the header titled titles[0] (joined with
// those under the other titles) from the rows that follow the header, until a
// line that is not a table row or is the next header.
func columnCells(t *testing.T, screen string, titles ...string) []string {
	t.Helper()
	lines := strings.Split(ansi.Strip(screen), "\n")
	// a header has no lower-case letters but the unit in LAG(s); rows have names
	header := func(l string) bool {
		l = strings.ReplaceAll(l, "(s)", "")
		return strings.ToUpper(l) == l && strings.TrimSpace(l) != ""
	}
	for i, l := range lines {
		if !header(l) {
			continue
		}
		starts := make([]int, len(titles))
		ok := true
		for j, title := range titles {
			b := strings.Index(l, " "+title)
			if b < 0 {
				ok = false
				break
			}
			starts[j] = len([]rune(l[:b]))
		}
		if !ok {
			continue
		}
		var out []string
		for _, row := range lines[i+1:] {
			if row == "" || (row[0] != ' ' && row[0] != '>') || strings.TrimSpace(row) == "" || header(row) {
				break
			}
			var key []string
			for _, s := range starts {
				// a cell starts under its title and ends at the next gap
				rest := []rune(row)
				if s+1 >= len(rest) {
					break
				}
				f := strings.Fields(string(rest[s+1:]))
				if len(f) > 0 {
					key = append(key, f[0])
				}
			}
			out = append(out, strings.Join(key, " "))
		}
		return out
	}
	t.Fatalf("no header with %v on\n%s", titles, screen)
	return nil
}

// Names in the fixture are alike but for their ends (pod hash, member id,
// host:port); on every screen size each visible name must still be unique.
func TestIdentifiersStayUnique(t *testing.T) {
	cases := []struct {
		name   string
		keys   []string
		titles []string
		min    int // rows that must be visible, so the check is not vacuous
		// drill: then Enter, with a cluster (fakeInspector) whose read is run
		drill bool
	}{
		{"instances", []string{"2"}, []string{"POD"}, 6, false},
		{"pools", []string{"5"}, []string{"POD", "STORE"}, 6, false},
		{"group members", []string{"3", "enter"}, []string{"MEMBER"}, 3, false},
		{"groups", []string{"3"}, []string{"GROUP"}, 2, false},
		{"nodes", []string{"6"}, []string{"NAME"}, 3, false},
		{"regions", []string{"7"}, []string{"REGION"}, 2, false},
		{"deployments", []string{":", "d", "e", "p", "l", "o", "y", "enter"}, []string{"NAME"}, 2, false},
		{"deployment pods", []string{":", "d", "e", "p", "l", "o", "y", "enter"}, []string{"POD"}, 6, true},
	}
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s_%dx%d", c.name, sz[0], sz[1]), func(t *testing.T) {
				opts := goldenOptions()
				if c.drill {
					opts.Inspect = &fakeInspector{}
				}
				m := newModel(t, sz[0], sz[1], opts)
				feed(m, fixture.Snapshot())
				press(m, c.keys...)
				if c.drill {
					_, cmd := m.Update(keyMsg("enter"))
					runCmd(m, cmd)
				}
				cells := columnCells(t, m.View(), c.titles...)
				if len(cells) < c.min {
					t.Fatalf("%d rows %q, want at least %d", len(cells), cells, c.min)
				}
				seen := map[string]bool{}
				for _, s := range cells {
					if seen[s] {
						t.Errorf("%q shown twice in %q", s, cells)
					}
					seen[s] = true
				}
			})
		}
	}
}

// The replication screen is no table: its common-scale bars are labelled by
// store/replica, and those labels must stay apart too.
func TestReplicationLabelsStayUnique(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, fixture.Snapshot())
		press(m, "4")
		lines := strings.Split(ansi.Strip(m.View()), "\n")
		var labels []string
		in := false
		for _, l := range lines {
			if strings.HasPrefix(l, "Lag, common scale") {
				in = true
				continue
			}
			if i := strings.IndexAny(l, "█░"); in && i > 0 {
				labels = append(labels, strings.TrimSpace(l[:i]))
			}
		}
		if len(labels) < 4 {
			t.Fatalf("%dx%d: labels %q, want one per replica", sz[0], sz[1], labels)
		}
		seen := map[string]bool{}
		for _, s := range labels {
			if seen[s] {
				t.Errorf("%dx%d: %q shown twice in %q", sz[0], sz[1], s, labels)
			}
			seen[s] = true
		}
	}
}
