package ui

import (
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
