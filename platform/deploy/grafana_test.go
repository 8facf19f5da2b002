package deploy

import (
	"os"
	"strings"
	"testing"
)

// The dashboard carries the scaling guide's Prometheus queries verbatim, so
// its panels are the ones the guide tells operators to watch.
func TestDashboardHasTheScalingGuidePanels(t *testing.T) {
	guide, err := os.ReadFile("SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(guide), "3. **Prometheus Queries:**")
	if !ok {
		t.Fatal("SCALING.md has no Prometheus Queries section")
	}
	_, block, _ := strings.Cut(rest, "```promql\n")
	block, _, _ = strings.Cut(block, "```")
	qs, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]bool{}
	for _, q := range qs {
		exprs[q.Expr] = true
	}
	n := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if !exprs[line] {
			t.Errorf("the guide's query %q is no panel's", line)
		}
	}
	if n != 4 {
		t.Errorf("found %d guide queries, want 4", n)
	}
	b, _ := Files.ReadFile(DashboardFile)
	if strings.Count(string(b), `"uid": "${datasource}"`) < len(qs) {
		t.Error("a panel or query does not use the datasource variable")
	}
}
