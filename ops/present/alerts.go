package present

import (
	"fmt"
	"strings"

	"github.com/wotr/wotr-tui/ops/state"
)

// AlertSources reports whether any source of s reads alerts, so a console
// without Prometheus shows no alerts line rather than "none firing".
func AlertSources(s state.Snapshot) bool {
	for _, m := range s.Sources {
		if strings.HasPrefix(m.Source, state.SourceAlerts) {
			return true
		}
	}
	return false
}

// AlertsSummary: how many fire, the firing ones by name and what they are
// about, and how many are pending.
func AlertsSummary(as []state.Alert) string {
	var firing []string
	pending := 0
	for _, a := range as {
		if a.State != "firing" {
			pending++
			continue
		}
		firing = append(firing, a.Name+alertSubject(a))
	}
	s := "none firing"
	if len(firing) > 0 {
		s = fmt.Sprintf("%d firing: %s", len(firing), strings.Join(firing, ", "))
	}
	if pending > 0 {
		s += fmt.Sprintf("; %d pending", pending)
	}
	return s
}

// alertSubject is the label that tells two alerts of one name apart.
func alertSubject(a state.Alert) string {
	var parts []string
	for _, k := range []string{"pod", "store", "consumer_group", "instance"} {
		if v := a.Labels[k]; v != "" {
			parts = append(parts, v)
			break
		}
	}
	if a.Severity != "" {
		parts = append(parts, a.Severity)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}
