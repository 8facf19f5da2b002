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

	Audit      []AuditEntry
	AuditErr   string
	AuditOK    bool // a read has completed
	NoAudit    bool // no audit log configured
	Runbooks   []RunbookInfo
	RunbookErr string
	NoRunbooks bool // no runbooks engine configured
}

// Series names of the collector's histories.
func SeriesRPS(pod string) string        { return "instance/" + pod + "/rps" }
func SeriesLatency(pod string) string    { return "instance/" + pod + "/p99" }
func SeriesErrors(pod string) string     { return "instance/" + pod + "/errors" }
func SeriesGroupLag(group string) string { return "group/" + group + "/lag" }

// SeriesFor lists every series the views of a snapshot draw.
func SeriesFor(s state.Snapshot) []string {
	out := make([]string, 0, len(s.Instances)*3+len(s.Kafka.Groups))
	for _, in := range s.Instances {
		out = append(out, SeriesRPS(in.Pod), SeriesLatency(in.Pod), SeriesErrors(in.Pod))
	}
	for _, g := range s.Kafka.Groups {
		out = append(out, SeriesGroupLag(g.Name))
	}
	return out
}

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
