package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// benchModel is the largest screen: 1,000 instances and 10,000 partitions at
// 160x48, in true colour (the costly profile).
func benchModel(b *testing.B) *Model {
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	m := newModel(b, 160, 48, goldenOptions())
	feed(m, fixture.Big(1000, 10000))
	return m
}

func BenchmarkViewInstances1000(b *testing.B) {
	m := benchModel(b)
	press(m, "2")
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

func BenchmarkViewPartitions10000(b *testing.B) {
	m := benchModel(b)
	press(m, "3", "enter")
	if !m.views[2].(interface{ InDrill() bool }).InDrill() {
		b.Fatal("not in the group drill-in")
	}
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkSnapshotApply is the once-per-snapshot cost (rows, sort, filter).
func BenchmarkSnapshotApply(b *testing.B) {
	m := benchModel(b)
	press(m, "3", "enter")
	snap := fixture.Big(1000, 10000)
	hist := fixture.History(snap)
	b.ResetTimer()
	for b.Loop() {
		m.Update(snapshotMsg{snap: snap, hist: hist})
	}
}

func BenchmarkKeystrokeScroll(b *testing.B) {
	m := benchModel(b)
	press(m, "2")
	b.ResetTimer()
	for b.Loop() {
		m.Update(keyMsg("down"))
		_ = m.View()
	}
}

// benchModelOf is the console at 160x48 in true colour with n instances and
// p partitions.
func benchModelOf(b *testing.B, n, p int) *Model {
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	m := newModel(b, 160, 48, goldenOptions())
	feed(m, fixture.Big(n, p))
	return m
}

// BenchmarkViewInstancesRows: the instances view at 1,000 rows (the
// baseline) and 10,000. Target: under 5 ms at 10,000; equal times show the
// table renders only the visible window.
func BenchmarkViewInstancesRows(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			m := benchModelOf(b, n, 100)
			press(m, "2")
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkViewPartitionsRows: the group drill-in at 10,000 partitions (the
// baseline, today's largest) and 100,000.
func BenchmarkViewPartitionsRows(b *testing.B) {
	for _, p := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("rows=%d", p), func(b *testing.B) {
			m := benchModelOf(b, 100, p)
			press(m, "3", "enter")
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkFilterKeystroke: one keystroke of a live filter over 1,000 (the
// baseline) and 10,000 instances, with the redraw it causes: the filter
// narrows on "9" and widens on backspace, each over every row. Target:
// under 10 ms at 10,000.
func BenchmarkFilterKeystroke(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			m := benchModelOf(b, n, 100)
			press(m, "2", "/")
			keys := []string{"9", "backspace"}
			i := 0
			b.ResetTimer()
			for b.Loop() {
				m.Update(keyMsg(keys[i%2]))
				_ = m.View()
				i++
			}
		})
	}
}

// BenchmarkViewEveryArea: View() of each tab (and the group drill-in) with
// 10,000 instances and 100,000 partitions, to find the largest; each should
// be about the same as at a tenth of the rows.
func BenchmarkViewEveryArea(b *testing.B) {
	for _, keys := range [][]string{{"1"}, {"2"}, {"3"}, {"3", "enter"}, {"4"}, {"5"}, {"6"}, {"7"}, {"8"}, {"9"}, {"0"}} {
		b.Run(fmt.Sprintf("keys=%s", strings.Join(keys, "+")), func(b *testing.B) {
			m := benchModelOf(b, 10000, 100000)
			press(m, keys...)
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
