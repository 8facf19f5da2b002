package alerts

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wotr/wotr-tui/ops/health"
)

func exprOf(t *testing.T, groups []Group, alert, sev, store string) string {
	t.Helper()
	for _, g := range groups {
		for _, r := range g.Rules {
			if r.Alert == alert && r.Labels["severity"] == sev && r.Labels["store"] == store {
				return r.Expr
			}
		}
	}
	t.Fatalf("no %s %s %s rule", alert, sev, store)
	return ""
}

// A context's override moves the alert with the console's colour.
func TestOverridesMoveTheRules(t *testing.T) {
	th := health.Defaults()
	if err := th.Override("pool-utilization", "50%", "0.7"); err != nil {
		t.Fatal(err)
	}
	if err := th.Override("latency-p99", "", "2s"); err != nil {
		t.Fatal(err)
	}
	g := Rules(th, Options{})
	for _, c := range []struct{ alert, sev, store, want string }{
		{"WotrPoolUtilization", SeverityWarning, "redis", ">= 0.5"},
		{"WotrPoolUtilization", SeverityCritical, "postgres", ">= 0.7"},
		{"WotrLatencyP99", SeverityWarning, "", ">= 0.25"},
		{"WotrLatencyP99", SeverityCritical, "", ">= 2"},
		{"WotrConnectionBudget", SeverityWarning, "postgres", "> 0.9"},
	} {
		if e := exprOf(t, g, c.alert, c.sev, c.store); !strings.HasSuffix(e, c.want) {
			t.Errorf("%s %s %s: expr %q, want it to end %q", c.alert, c.sev, c.store, e, c.want)
		}
	}
}

func TestEveryThresholdHasRules(t *testing.T) {
	g := Rules(health.Defaults(), Options{})
	seen := map[string]bool{}
	for _, gr := range g {
		for _, r := range gr.Rules {
			seen[r.Labels["threshold"]] = true
			if r.For != "2m" {
				t.Errorf("%s: for %q, want the default 2m", r.Alert, r.For)
			}
		}
	}
	for _, k := range health.Keys {
		if !seen[k.Name] {
			t.Errorf("threshold %s has no alert rule", k.Name)
		}
	}
	for _, k := range []string{"connection-budget", "stale-scrape"} {
		if !seen[k] {
			t.Errorf("no %s rules", k)
		}
	}
}

func TestOptions(t *testing.T) {
	g := Rules(health.Defaults(), Options{Job: "api", For: -1, Window: 90 * 1e9})
	for _, gr := range g {
		for _, r := range gr.Rules {
			if r.For != "" {
				t.Errorf("%s: for %q with For < 0, want none", r.Alert, r.For)
			}
			if strings.Contains(r.Expr, "[5m]") {
				t.Errorf("%s: %q ignores the 90s window", r.Alert, r.Expr)
			}
		}
	}
	if e := exprOf(t, g, "WotrScrapeDown", SeverityWarning, ""); e != `up{job="api"} == 0` {
		t.Errorf("scrape down: %q", e)
	}
}

// The PrometheusRule carries exactly the rules file's groups.
func TestPrometheusRuleHasTheSameGroups(t *testing.T) {
	g := Rules(health.Defaults(), Options{})
	plain, err := RulesFile(g)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := PrometheusRule(g, "x", "wotr")
	if err != nil {
		t.Fatal(err)
	}
	var f File
	var obj struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
		Spec File `yaml:"spec"`
	}
	if err := yaml.Unmarshal(plain, &f); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(pr, &obj); err != nil {
		t.Fatal(err)
	}
	a, _ := yaml.Marshal(f)
	b, _ := yaml.Marshal(obj.Spec)
	if obj.Kind != "PrometheusRule" || obj.Metadata.Namespace != "wotr" || string(a) != string(b) || len(f.Groups) == 0 {
		t.Fatalf("PrometheusRule %s/%s differs from the rules file:\n%s\n---\n%s", obj.Kind, obj.Metadata.Namespace, a, b)
	}
}
