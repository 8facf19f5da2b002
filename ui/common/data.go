package common

import (
	"fmt"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// AuditEntry is one record of the audit log as the console shows it.
type AuditEntry struct {
	Time    time.Time
	User    string
	Context string
	Kind    string
	Target  string
	Outcome string // ok, failed, refused, interrupted, running; "(dry-run)" appended
	Detail  string
	// ID names the action (what undo takes); empty on a refusal.
	ID string
	// Undoes is, on an undo, the ID of the action it reverses.
	Undoes string
}

// RunbookInfo is one runbook as listed by the runbooks engine.
type RunbookInfo struct {
	Name        string
	Title       string
	Steps       int
	Description string
}

// Data is everything the views render. It is produced inside commands (where
// all I/O happens) and handed to the views as a value they only read.
type Data struct {
	Snap state.Snapshot
	// History holds the series named by the Series* helpers, oldest first.
	History map[string][]float64
	// HistorySpans: when each series starts and ends (only from a timed source).
	HistorySpans map[string]Span
	// HistoryWindow selected with the window key; 0 is the first window.
	HistoryWindow time.Duration
	// HistoryOrigin: "prometheus" when backfilled, else "polls".
	HistoryOrigin string

	Audit      []AuditEntry
	AuditErr   string
	AuditOK    bool // a read has completed
	NoAudit    bool // no audit log configured
	Runbooks   []RunbookInfo
	RunbookErr string
	NoRunbooks bool // no runbooks engine configured
}

// Span of a series on the time axis.
type Span struct{ From, To time.Time }

// WindowName: "15m", "1h", "6h", "24h" (0 is the default, 15m).
func WindowName(w time.Duration) string {
	if w == 0 {
		w = 15 * time.Minute
	}
	if w < time.Hour {
		return fmt.Sprintf("%dm", int(w.Minutes()))
	}
	return fmt.Sprintf("%dh", int(w.Hours()))
}

// Series names of the collector's histories (state.Series*).
func SeriesRPS(pod string) string        { return state.SeriesRPS(pod) }
func SeriesLatency(pod string) string    { return state.SeriesLatency(pod) }
func SeriesErrors(pod string) string     { return state.SeriesErrors(pod) }
func SeriesGroupLag(group string) string { return state.SeriesGroupLag(group) }

// SeriesFor lists every series the views of a snapshot draw.
func SeriesFor(s state.Snapshot) []string { return state.SeriesOf("status", s) }

// SourceStatus summarises the sources matching any of the prefixes.
func SourceStatus(snap state.Snapshot, prefixes []string, now time.Time) (Level, string) {
	lvl := LevelNone
	msg := ""
	for _, m := range snap.Sources {
		if !matchesAny(m.Source, prefixes) {
			continue
		}
		if m.Stale || m.Error != "" {
			l := LevelWarn
			if m.FetchedAt.IsZero() {
				l = LevelCrit // never had a good value
			}
			if l > lvl {
				lvl = l
				msg = m.Source + " stale " + present.Age(m.Age(now))
				if m.FetchedAt.IsZero() {
					msg = m.Source + " unavailable"
				}
			}
		} else if lvl == LevelNone {
			lvl = LevelOK
		}
	}
	return lvl, msg
}

// SourcesLoading names the sources matching any of the prefixes that have
// not answered yet (no value, no error: their first read is in flight); all
// is true when some match and none of them has answered.
func SourcesLoading(snap state.Snapshot, prefixes []string) (names []string, all bool) {
	matched := 0
	for _, m := range snap.Sources {
		if !matchesAny(m.Source, prefixes) {
			continue
		}
		matched++
		if m.FetchedAt.IsZero() && !m.Stale && m.Error == "" {
			names = append(names, m.Source)
		}
	}
	return names, matched > 0 && len(names) == matched
}

// LoadingText is how an area whose sources have not answered reads.
func LoadingText(names []string) string {
	if len(names) > 2 {
		return fmt.Sprintf("loading %s, %s (+%d)…", names[0], names[1], len(names)-2)
	}
	return "loading " + strings.Join(names, ", ") + "…"
}

func matchesAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if p == "*" || len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
