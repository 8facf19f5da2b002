package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// backfilledMsg is the biggest fixture with every series backfilled over
// 24h (120 points each, as collect.Backfill reads them), and 50 audit
// records over the day to mark on the time axes.
func backfilledMsg() (snapshotMsg, auditMsg) {
	snap := fixture.Big(1000, 10000)
	hist := map[string][]float64{}
	spans := map[string]common.Span{}
	span := common.Span{From: fixture.Now.Add(-24 * time.Hour), To: fixture.Now}
	for _, name := range common.SeriesFor(snap) {
		pts := make([]float64, 120)
		for i := range pts {
			pts[i] = float64((i*37)%100) + 1
		}
		hist[name] = pts
		spans[name] = span
	}
	var entries []common.AuditEntry
	for i := 0; i < 50; i++ {
		entries = append(entries, common.AuditEntry{Time: fixture.Now.Add(-time.Duration(i) * 28 * time.Minute),
			User: "oncall", Kind: "scale", Target: "wotr-api", Outcome: "ok"})
	}
	return snapshotMsg{snap: snap, hist: hist, spans: spans, origin: "prometheus"}, auditMsg{entries: entries}
}

// BenchmarkViewHistory: the largest View()s with the history backfilled,
// against the same screens without any history in the same run (report the
// ratio backfilled/none).
func BenchmarkViewHistory(b *testing.B) {
	screens := []struct {
		name string
		keys []string
	}{
		{"instances1000", []string{"2"}},
		{"group10000", []string{"3", "enter"}},
		{"instanceDrill", []string{"2", "enter"}},
	}
	for _, sc := range screens {
		for _, withHistory := range []bool{false, true} {
			name := fmt.Sprintf("%s/none", sc.name)
			if withHistory {
				name = fmt.Sprintf("%s/backfilled", sc.name)
			}
			b.Run(name, func(b *testing.B) {
				m := benchModel(b)
				if withHistory {
					snap, audit := backfilledMsg()
					m.Update(snap)
					m.Update(audit)
				} else {
					m.Update(snapshotMsg{snap: fixture.Big(1000, 10000)})
				}
				press(m, sc.keys...)
				b.ResetTimer()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}
