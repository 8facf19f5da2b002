package prometheus

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/wotr/wotr-tui/ops/alerts"
	"github.com/wotr/wotr-tui/ops/health"
)

var update = flag.Bool("update", false, "rewrite rules.yml and prometheusrule.yaml from the default thresholds")

// The committed files are what the generator makes of the default
// thresholds, so they never drift from the console's table.
func TestCommittedRulesMatchThresholds(t *testing.T) {
	rules, pr, err := Generate(health.Defaults(), alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name      string
		want, got []byte
	}{{"rules.yml", rules, RulesFile}, {"prometheusrule.yaml", pr, PrometheusRule},
		// the kustomize component's copy (kustomize reads nothing outside its root)
		{"../k8s/components/monitoring/prometheusrule.yaml", pr, readFile(t, "../k8s/components/monitoring/prometheusrule.yaml")}} {
		if *update {
			if err := os.WriteFile(f.name, f.want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !bytes.Equal(f.want, f.got) {
			t.Errorf("%s differs from what the thresholds generate; run go test ./platform/deploy/prometheus -run TestCommittedRulesMatchThresholds -update", f.name)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil && !*update {
		t.Fatal(err)
	}
	return b
}
