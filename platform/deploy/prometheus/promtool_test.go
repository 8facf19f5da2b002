package prometheus

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wotr/wotr-tui/ops/alerts"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("WOTR_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("promtool not installed (Debian's prometheus package ships it)")
		}
		t.Skip("promtool not installed")
	}
	return p
}

func writeRules(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, RulesFile, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPromtoolCheckRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", writeRules(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// promtool checks a rules file that is not one too; make sure it read rules.
	if !strings.Contains(string(out), "SUCCESS") || strings.Contains(string(out), " 0 rules found") {
		t.Fatalf("promtool check rules found nothing:\n%s", out)
	}
}

// An alert as promtool expects it: every label and annotation.
type expAlert struct {
	Labels      map[string]string `yaml:"exp_labels"`
	Annotations map[string]string `yaml:"exp_annotations"`
}

// alertCase is one promtool alert_rule_test: series fed in, and the alerts
// of one name that must fire at eval (none: the alert must stay quiet).
type alertCase struct {
	name   string
	series map[string]string // series -> expanding values, one sample a minute
	alert  string
	fires  []firing
}

// firing is an expected alert; its description and source come from the
// rule matched by severity and store, its summary is the template expanded.
type firing struct {
	labels  map[string]string
	summary string
}

const pod = `pod="wotr-api-1"`

func cases() []alertCase {
	l := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	var cs []alertCase
	// Consumer lag: 3000 records at 60 events/s is 50s (warning), 30000 is 500s (both).
	lagSeries := func(records string) map[string]string {
		return map[string]string{
			`kafka_consumer_lag{consumer_group="wotr-consumer-group",topic="ingest-events",partition="0",pod="wotr-consumer-1"}`: records + "x15",
			`wotr_consumer_events_processed_total{pod="wotr-consumer-1"}`:                                                        "0+3600x15",
		}
	}
	grp := func(sev string) map[string]string {
		return l("consumer_group", "wotr-consumer-group", "severity", sev, "threshold", "consumer-lag")
	}
	cs = append(cs,
		alertCase{"consumer lag 10s", lagSeries("600"), "WotrConsumerLag", nil},
		alertCase{"consumer lag 50s", lagSeries("3000"), "WotrConsumerLag", []firing{{grp("warning"), "consumer group wotr-consumer-group is 50s behind"}}},
		alertCase{"consumer lag 500s", lagSeries("30030"), "WotrConsumerLag", []firing{
			{grp("warning"), "consumer group wotr-consumer-group is 8m 20s behind"}, {grp("critical"), "consumer group wotr-consumer-group is 8m 20s behind"}}},
	)
	// Replication lag of each store.
	for _, r := range []struct{ alert, store, metric, labels, summary string }{
		{"WotrPostgresReplicationLag", "postgres", "pg_replication_lag_seconds", `instance="pg-standby:9187"`, "PostgreSQL standby pg-standby:9187 is %s behind"},
		{"WotrRedisReplicationLag", "redis", "redis_connected_slave_lag_seconds", `instance="redis-primary:9121",slave_ip="10.0.0.9"`, "Redis replica 10.0.0.9 of redis-primary:9121 is %s behind"},
		{"WotrClickHouseReplicationLag", "clickhouse", "ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay", `instance="ch-2:9363"`, "ClickHouse replica ch-2:9363 is %s behind"},
	} {
		series := func(v string) map[string]string { return map[string]string{r.metric + "{" + r.labels + "}": v + "x15"} }
		ls := func(sev string) map[string]string {
			m := l("severity", sev, "store", r.store, "threshold", "replication-lag")
			for _, kv := range strings.Split(r.labels, ",") {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = strings.Trim(v, `"`)
			}
			return m
		}
		cs = append(cs,
			alertCase{r.store + " replication lag 4s", series("4"), r.alert, nil},
			alertCase{r.store + " replication lag 10s", series("10"), r.alert, []firing{{ls("warning"), fmt.Sprintf(r.summary, "10s")}}},
			alertCase{r.store + " replication lag 90s", series("90"), r.alert, []firing{
				{ls("warning"), fmt.Sprintf(r.summary, "1m 30s")}, {ls("critical"), fmt.Sprintf(r.summary, "1m 30s")}}},
		)
	}
	// Pool utilization of each store: 10 connections, 8.5 or 9.8 in use.
	for _, r := range []struct{ store, name, size, used string }{
		{"postgres", "PostgreSQL", "postgres_pool_size", "postgres_pool_available"},
		{"redis", "Redis", "redis_pool_size", "redis_pool_available"},
		{"clickhouse", "ClickHouse", "clickhouse_pool_size", "clickhouse_pool_idle"},
	} {
		series := func(free string) map[string]string {
			m := map[string]string{r.size + "{" + pod + "}": "10x15", r.used + "{" + pod + "}": free + "x15"}
			if r.store == "clickhouse" {
				m["clickhouse_pool_open{"+pod+"}"] = "10x15"
			}
			return m
		}
		ls := func(sev string) map[string]string {
			return l("pod", "wotr-api-1", "severity", sev, "store", r.store, "threshold", "pool-utilization")
		}
		cs = append(cs,
			alertCase{r.store + " pool 50%", series("5"), "WotrPoolUtilization", nil},
			alertCase{r.store + " pool 85%", series("1.5"), "WotrPoolUtilization", []firing{{ls("warning"), "wotr-api-1's " + r.name + " pool is 85% in use"}}},
			alertCase{r.store + " pool 96%", series("0.4"), "WotrPoolUtilization", []firing{
				{ls("warning"), "wotr-api-1's " + r.name + " pool is 96% in use"}, {ls("critical"), "wotr-api-1's " + r.name + " pool is 96% in use"}}},
		)
	}
	// Connection budget: 4 instances of 20 against 100 - 3 usable.
	for _, r := range []struct {
		store, name, pool string
		limit             map[string]string
	}{
		{"postgres", "PostgreSQL", "postgres_pool_size", map[string]string{"pg_settings_max_connections": "100", "pg_settings_superuser_reserved_connections": "3"}},
		{"redis", "Redis", "redis_pool_size", map[string]string{"redis_config_maxclients": "97"}},
	} {
		series := func(per string) map[string]string {
			m := map[string]string{}
			for i := 1; i <= 4; i++ {
				m[fmt.Sprintf(`%s{pod="wotr-api-%d"}`, r.pool, i)] = per + "x15"
			}
			for k, v := range r.limit {
				m[k+`{instance="store:9100"}`] = v + "x15"
			}
			return m
		}
		ls := func(sev string) map[string]string {
			return l("severity", sev, "store", r.store, "threshold", "connection-budget")
		}
		sum := func(pct string) string {
			return "the " + r.name + " pools of every instance could open " + pct + " of the server's usable connections"
		}
		cs = append(cs,
			alertCase{r.store + " budget 82%", series("20"), "WotrConnectionBudget", nil},
			alertCase{r.store + " budget 94%", series("22.75"), "WotrConnectionBudget", []firing{{ls("warning"), sum("93.81%")}}},
			alertCase{r.store + " budget 124%", series("30"), "WotrConnectionBudget", []firing{{ls("warning"), sum("123.7%")}, {ls("critical"), sum("123.7%")}}},
		)
	}
	// Error rate: 100 requests a minute, 0, 2 or 10 of them 5xx.
	errSeries := func(perMin string) map[string]string {
		return map[string]string{
			`fastapi_requests_total{` + pod + `,method="POST",endpoint="/events",status="202"}`: "0+100x15",
			`fastapi_requests_total{` + pod + `,method="POST",endpoint="/events",status="503"}`: "0+" + perMin + "x15",
		}
	}
	errLabels := func(sev string) map[string]string {
		return l("pod", "wotr-api-1", "severity", sev, "threshold", "error-rate")
	}
	cs = append(cs,
		alertCase{"error rate 0", errSeries("0"), "WotrErrorRate", nil},
		alertCase{"error rate 2%", errSeries("2.0408163265306123"), "WotrErrorRate", []firing{{errLabels("warning"), "wotr-api-1 answers 2% of requests with 5xx"}}},
		alertCase{"error rate 10%", errSeries("11.11111111111111"), "WotrErrorRate", []firing{
			{errLabels("warning"), "wotr-api-1 answers 10% of requests with 5xx"}, {errLabels("critical"), "wotr-api-1 answers 10% of requests with 5xx"}}},
	)
	// p99 latency: every request in the bucket up to le.
	latSeries := func(le string) map[string]string {
		m := map[string]string{}
		for _, b := range []string{"0.1", "0.5", "2.5", "+Inf"} {
			v := "0x15"
			if b == le || (le != "0.1" && b == "+Inf") || (le == "0.5" && b == "2.5") || le == "0.1" {
				v = "0+60x15"
			}
			m[`fastapi_request_duration_seconds_bucket{`+pod+`,le="`+b+`"}`] = v
		}
		return m
	}
	latLabels := func(sev string) map[string]string {
		return l("pod", "wotr-api-1", "severity", sev, "threshold", "latency-p99")
	}
	cs = append(cs,
		alertCase{"p99 under 100ms", latSeries("0.1"), "WotrLatencyP99", nil},
		alertCase{"p99 under 500ms", latSeries("0.5"), "WotrLatencyP99", []firing{{latLabels("warning"), "wotr-api-1's p99 latency is 496ms"}}},
		alertCase{"p99 under 2.5s", latSeries("2.5"), "WotrLatencyP99", []firing{
			{latLabels("warning"), "wotr-api-1's p99 latency is 2.48s"}, {latLabels("critical"), "wotr-api-1's p99 latency is 2.48s"}}},
	)
	// Stale scrape: a target up, a target down, no target at all.
	up := func(v string) map[string]string {
		return map[string]string{`up{job="wotr",instance="10.0.0.1:8000",pod="wotr-api-1"}`: v + "x15"}
	}
	downLabels := l("job", "wotr", "instance", "10.0.0.1:8000", "pod", "wotr-api-1", "severity", "warning", "threshold", "stale-scrape")
	cs = append(cs,
		alertCase{"scrape up", up("1"), "WotrScrapeDown", nil},
		alertCase{"scrape down", up("0"), "WotrScrapeDown", []firing{{downLabels, "10.0.0.1:8000 (wotr-api-1) is not scraped: its figures are stale"}}},
		alertCase{"a target scraped", up("1"), "WotrScrapeAbsent", nil},
		alertCase{"no target", map[string]string{`up{job="prometheus",instance="127.0.0.1:9090"}`: "1x15"}, "WotrScrapeAbsent", []firing{{
			l("job", "wotr", "severity", "critical", "threshold", "stale-scrape"), "no target of job wotr is scraped: the console's Prometheus figures are empty"}}},
	)
	return cs
}

// ruleFor finds the rule an expected alert comes from.
func ruleFor(t *testing.T, alert string, labels map[string]string) alerts.Rule {
	t.Helper()
	var f alerts.File
	if err := yaml.Unmarshal(RulesFile, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert && r.Labels["severity"] == labels["severity"] && r.Labels["store"] == labels["store"] {
				return r
			}
		}
	}
	t.Fatalf("no rule %s for %v", alert, labels)
	return alerts.Rule{}
}

// Every alert of the rules file fires past its thresholds and stays quiet
// below them, as promtool evaluates the committed file.
func TestPromtoolTestRules(t *testing.T) {
	bin := promtool(t)
	rules := writeRules(t)
	type alertTest struct {
		EvalTime  string     `yaml:"eval_time"`
		Alertname string     `yaml:"alertname"`
		ExpAlerts []expAlert `yaml:"exp_alerts"`
	}
	type series struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type test struct {
		Name       string      `yaml:"name"`
		Interval   string      `yaml:"interval"`
		InputSerie []series    `yaml:"input_series"`
		AlertTests []alertTest `yaml:"alert_rule_test"`
	}
	type file struct {
		RuleFiles []string `yaml:"rule_files"`
		Eval      string   `yaml:"evaluation_interval"`
		Tests     []test   `yaml:"tests"`
	}
	f := file{RuleFiles: []string{rules}, Eval: "1m"}
	covered := map[string][2]bool{}
	for _, c := range cases() {
		tc := test{Name: c.name, Interval: "1m"}
		for _, s := range slices.Sorted(maps.Keys(c.series)) {
			tc.InputSerie = append(tc.InputSerie, series{s, c.series[s]})
		}
		at := alertTest{EvalTime: "10m", Alertname: c.alert, ExpAlerts: []expAlert{}}
		for _, fi := range c.fires {
			r := ruleFor(t, c.alert, fi.labels)
			ann := map[string]string{"summary": fi.summary, "description": r.Annotations["description"]}
			if s, ok := r.Annotations["source"]; ok {
				ann["source"] = s
			}
			at.ExpAlerts = append(at.ExpAlerts, expAlert{Labels: fi.labels, Annotations: ann})
		}
		tc.AlertTests = append(tc.AlertTests, at)
		f.Tests = append(f.Tests, tc)
		cov := covered[c.alert]
		cov[min(len(c.fires), 1)] = true
		covered[c.alert] = cov
	}
	var pf alerts.File
	if err := yaml.Unmarshal(RulesFile, &pf); err != nil {
		t.Fatal(err)
	}
	for _, name := range alerts.Names(pf.Groups) {
		if c := covered[name]; !c[0] || !c[1] {
			t.Errorf("alert %s: covered quiet %v, firing %v; want both", name, c[0], c[1])
		}
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules_test.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n--- %s\n%s", err, out, path, b)
	}
	t.Logf("%d promtool cases: %s", len(f.Tests), strings.TrimSpace(string(out)))
}
