package runbook

import (
	"fmt"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
)

// WriteReport writes the run's Markdown report to path, making its dir.
func WriteReport(path string, rb *Runbook, st *RunState) error {
	if err := config.WritePrivate(path, []byte(Report(rb, st))); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return nil
}

// Report renders a run as Markdown for the incident record: every step
// with its status, timestamps and evidence, and for diagnoses the likely causes.
func Report(rb *Runbook, st *RunState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", rb.Title)
	fmt.Fprintf(&b, "- runbook: `%s` (%s, %s)\n", rb.Name, rb.Kind, rb.Source)
	fmt.Fprintf(&b, "- context: `%s`\n", st.Context)
	fmt.Fprintf(&b, "- started: %s\n", st.Started.UTC().Format(time.RFC3339))
	if !st.Finished.IsZero() {
		fmt.Fprintf(&b, "- finished: %s (%s)\n", st.Finished.UTC().Format(time.RFC3339), st.Finished.Sub(st.Started).Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "- finished: not yet (%d of %d steps done; run again to resume)\n", len(st.Steps), len(rb.Steps))
	}
	fmt.Fprintf(&b, "- result: **%s**\n\n", strings.ToUpper(string(st.Worst)))
	if rb.Kind == RunbookDiagnosis {
		b.WriteString("## Diagnosis\n\n")
		if len(st.Diagnosis) == 0 {
			b.WriteString("No cause found: every check passed.\n\n")
		}
		for _, d := range st.Diagnosis {
			fmt.Fprintf(&b, "- %s\n", d)
		}
		if len(st.Diagnosis) > 0 {
			b.WriteString("\n")
		}
	}
	b.WriteString("## Steps\n\n")
	for i, r := range st.Steps {
		fmt.Fprintf(&b, "### %d. %s: %s\n\n", i+1, r.Title, strings.ToUpper(string(r.Status)))
		fmt.Fprintf(&b, "- %s step `%s`, %s to %s\n", r.Kind, r.ID, r.Started.UTC().Format("15:04:05.000"), r.Finished.UTC().Format("15:04:05.000"))
		fmt.Fprintf(&b, "- %s\n", r.Summary)
		if r.Cause != "" {
			fmt.Fprintf(&b, "- likely cause: %s\n", r.Cause)
		}
		if r.Fix != "" && r.Status != StepPass {
			fmt.Fprintf(&b, "- fix: %s\n", r.Fix)
		}
		if len(r.Evidence) > 0 {
			b.WriteString("\n```\n")
			for _, e := range r.Evidence {
				b.WriteString(e + "\n")
			}
			b.WriteString("```\n")
		}
		b.WriteString("\n")
	}
	for i := len(st.Steps); i < len(rb.Steps); i++ {
		fmt.Fprintf(&b, "### %d. %s: NOT RUN\n\n", i+1, rb.Steps[i].Title)
	}
	return b.String()
}
