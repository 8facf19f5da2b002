package common

import (
	"strings"
	"time"
)

// AuditMarks places the audit records that fall inside span on a time axis
// width columns wide: "▲" where an action happened, "·" elsewhere. It
// returns the axis and the marked records, newest first; the axis is ""
// when none falls inside.
func AuditMarks(entries []AuditEntry, span Span, width int) (string, []AuditEntry) {
	if width <= 0 || !span.To.After(span.From) {
		return "", nil
	}
	axis := []rune(strings.Repeat("·", width))
	var marked []AuditEntry
	total := span.To.Sub(span.From)
	for _, e := range entries {
		if e.Time.Before(span.From) || e.Time.After(span.To) {
			continue
		}
		col := int(float64(e.Time.Sub(span.From)) / float64(total) * float64(width-1))
		axis[col] = '▲'
		marked = append(marked, e)
	}
	if len(marked) == 0 {
		return "", nil
	}
	// newest first, whatever order the log was read in
	for i := 1; i < len(marked); i++ {
		for j := i; j > 0 && marked[j].Time.After(marked[j-1].Time); j-- {
			marked[j], marked[j-1] = marked[j-1], marked[j]
		}
	}
	return string(axis), marked
}

// MarkLegend is one marked record as "▲ 15:04 who kind target outcome".
func MarkLegend(e AuditEntry, loc *time.Location) string {
	t := e.Time
	if loc != nil {
		t = t.In(loc)
	}
	return "▲ " + t.Format("15:04") + " " + Sanitize(e.User) + " " + Sanitize(e.Kind) + " " + Sanitize(e.Target) + " " + Sanitize(e.Outcome)
}
