package table

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/common"
)

var scaleCols = []Column{
	{Title: "POD", Width: 12, Flex: true, Ident: true},
	{Title: "ZONE", Width: 6},
	{Title: "RPS", Width: 6, Right: true, Numeric: true},
}

// rowsOf is n rows in key order whose zones and RPS repeat, so most rows
// tie on either sort column; cells counts the lazy cell renders.
func rowsOf(n int, cells *int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rps := float64(i % 7)
		rows[i] = Row{Key: fmt.Sprintf("pod-%05d", i),
			Cells: []string{fmt.Sprintf("pod-%05d", i), fmt.Sprintf("z%d", i%3), fmt.Sprint(rps)}, Nums: []float64{0, 0, rps},
			Cell: func(col, width int) string { *cells++; return "" }}
	}
	return rows
}

var keyDown = tea.KeyMsg{Type: tea.KeyDown}

func viewKeys(m *Model) []string {
	var out []string
	for _, i := range m.view {
		out = append(out, m.rows[i].Key)
	}
	return out
}

// Sorting 10,000 rows on a column where most tie keeps tied rows in their
// given order, ascending and descending, and with a filter on.
func TestSortStableAtTenThousandRows(t *testing.T) {
	var cells int
	m := New(common.NewContext(common.NoColorTheme()), scaleCols, -1, false)
	m.SetRows(rowsOf(10000, &cells))
	m.SetSize(80, 20)
	check := func(what string) {
		t.Helper()
		keys := viewKeys(m)
		for i := 1; i < len(keys); i++ {
			a, b := m.rows[m.view[i-1]], m.rows[m.view[i]]
			tie := a.Nums[2] == b.Nums[2]
			if m.sortCol == 1 {
				tie = a.Cells[1] == b.Cells[1]
			}
			if tie && a.Key > b.Key {
				t.Fatalf("%s: tied rows %s then %s out of their given order", what, a.Key, b.Key)
			}
		}
	}
	for _, tc := range []struct {
		col  int
		desc bool
	}{{2, false}, {2, true}, {1, false}, {1, true}} {
		m.SortBy(tc.col, tc.desc)
		check(fmt.Sprintf("sort col %d desc %v", tc.col, tc.desc))
		if len(m.view) != 10000 {
			t.Fatalf("%d rows in view", len(m.view))
		}
		m.SetFilter("z2")
		check("filtered")
		if len(m.view) != 3333 {
			t.Fatalf("filter z2 kept %d rows, want 3333", len(m.view))
		}
		m.SetFilter("")
	}
	// The descending order is the ascending one reversed group by group:
	// the first row of the highest RPS is the lowest key with RPS 6.
	m.SortBy(2, true)
	if got := m.rows[m.view[0]].Key; got != "pod-00006" {
		t.Errorf("first row sorted by RPS descending is %s, want pod-00006", got)
	}
}

// A 10,000-row table renders its header and the rows that fit, and asks
// for the lazy cells of those rows only.
func TestRendersOnlyTheVisibleWindow(t *testing.T) {
	var cells int
	m := New(common.NewContext(common.NoColorTheme()), scaleCols, -1, false)
	m.SetRows(rowsOf(10000, &cells))
	m.SetSize(80, 21)
	for i := 0; i < 5000; i++ {
		m.Update(keyDown)
	}
	cells = 0
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	if len(lines) != 21 {
		t.Fatalf("%d lines, want 21", len(lines))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "pod-05000") {
		t.Errorf("the cursor's row pod-05000 is not on screen: %q", lines)
	}
	if cells > 20*len(scaleCols) {
		t.Errorf("%d lazy cells rendered for 20 visible rows", cells)
	}
}

// BenchmarkSetFilter: one filter change over 1,000 rows (the baseline) and
// 10,000, sorted by a numeric column (the filter keeps the sorted order and
// does not sort again).
func BenchmarkSetFilter(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			var cells int
			m := New(common.NewContext(common.NoColorTheme()), scaleCols, 2, true)
			m.SetRows(rowsOf(n, &cells))
			m.SetSize(160, 40)
			qs := []string{"z2", "z"}
			i := 0
			for b.Loop() {
				m.SetFilter(qs[i%2])
				i++
			}
		})
	}
}
