package alerts

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wotr/wotr-tui/ops/capacity"
	"github.com/wotr/wotr-tui/ops/health"
)

// Severity labels of the two levels of a threshold.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Options shape the rules beyond the thresholds.
type Options struct {
	// Job is the scrape job of the API and consumer pods; default "wotr".
	Job string
	// For is how long a condition holds before its alert fires; default
	// 2m. Negative means at once (tests that provoke an alert).
	For time.Duration
	// Window of the rate() selectors; default 5m.
	Window time.Duration
}

func (o Options) withDefaults() Options {
	if o.Job == "" {
		o.Job = "wotr"
	}
	if o.For == 0 {
		o.For = 2 * time.Minute
	}
	if o.Window == 0 {
		o.Window = 5 * time.Minute
	}
	return o
}

// Rule is one alerting rule, in the rules file's field order.
type Rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Group is a rules file's group.
type Group struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// File is a plain Prometheus rules file.
type File struct {
	Groups []Group `yaml:"groups"`
}

// signal is one figure the console judges and the PromQL that measures it.
// expr has one %s: the comparison (">= 0.8").
type signal struct {
	alert, store, summary, expr string
	// source names the exporter a metric comes from when the platform's own
	// pods do not export it.
	source string
}

// Rules are the alerting groups for thresholds t.
func Rules(t health.Thresholds, o Options) []Group {
	o = o.withDefaults()
	w := promDuration(o.Window)
	th := func(name string) (health.Key, health.Bound) {
		k, _ := health.Lookup(name)
		return k, t.Get(k)
	}
	var groups []Group
	add := func(group, key string, sigs ...signal) {
		k, b := th(key)
		g := Group{Name: group}
		for _, s := range sigs {
			for _, lv := range []struct {
				sev string
				v   float64
			}{{SeverityWarning, b.Warn}, {SeverityCritical, b.Crit}} {
				g.Rules = append(g.Rules, rule(o, s, key, lv.sev, ">= "+number(lv.v), health.FormatValue(k.Unit, lv.v)))
			}
		}
		groups = append(groups, g)
	}
	add("wotr-consumer-lag", "consumer-lag", signal{
		alert: "WotrConsumerLag", summary: "consumer group {{ $labels.consumer_group }} is {{ $value | humanizeDuration }} behind",
		expr: `sum by (consumer_group) (kafka_consumer_lag) / on() group_left() clamp_min(sum(rate(wotr_consumer_events_processed_total[` + w + `])), 0.001) %s`,
	})
	add("wotr-replication-lag", "replication-lag",
		signal{alert: "WotrPostgresReplicationLag", store: "postgres", source: "postgres_exporter",
			summary: "PostgreSQL standby {{ $labels.instance }} is {{ $value | humanizeDuration }} behind",
			expr:    `max by (instance) (pg_replication_lag_seconds) %s`},
		signal{alert: "WotrRedisReplicationLag", store: "redis", source: "redis_exporter",
			summary: "Redis replica {{ $labels.slave_ip }} of {{ $labels.instance }} is {{ $value | humanizeDuration }} behind",
			expr:    `max by (instance, slave_ip) (redis_connected_slave_lag_seconds) %s`},
		signal{alert: "WotrClickHouseReplicationLag", store: "clickhouse", source: "ClickHouse's own /metrics endpoint (20.1 and later)",
			summary: "ClickHouse replica {{ $labels.instance }} is {{ $value | humanizeDuration }} behind",
			expr:    `max by (instance) (ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay) %s`},
	)
	add("wotr-pool-utilization", "pool-utilization",
		signal{alert: "WotrPoolUtilization", store: "postgres", summary: "{{ $labels.pod }}'s PostgreSQL pool is {{ $value | humanizePercentage }} in use",
			expr: `max by (pod) ((postgres_pool_size - postgres_pool_available) / (postgres_pool_size > 0)) %s`},
		signal{alert: "WotrPoolUtilization", store: "redis", summary: "{{ $labels.pod }}'s Redis pool is {{ $value | humanizePercentage }} in use",
			expr: `max by (pod) ((redis_pool_size - redis_pool_available) / (redis_pool_size > 0)) %s`},
		signal{alert: "WotrPoolUtilization", store: "clickhouse", summary: "{{ $labels.pod }}'s ClickHouse pool is {{ $value | humanizePercentage }} in use",
			expr: `max by (pod) ((clickhouse_pool_open - clickhouse_pool_idle) / (clickhouse_pool_size > 0)) %s`},
	)
	groups = append(groups, budget(o))
	add("wotr-error-rate", "error-rate", signal{
		alert: "WotrErrorRate", summary: "{{ $labels.pod }} answers {{ $value | humanizePercentage }} of requests with 5xx",
		expr: `sum by (pod) (rate(fastapi_requests_total{status=~"5.."}[` + w + `])) / sum by (pod) (rate(fastapi_requests_total[` + w + `])) %s`,
	})
	add("wotr-latency", "latency-p99", signal{
		alert: "WotrLatencyP99", summary: "{{ $labels.pod }}'s p99 latency is {{ $value | humanizeDuration }}",
		expr: `histogram_quantile(0.99, sum by (pod, le) (rate(fastapi_request_duration_seconds_bucket[` + w + `]))) %s`,
	})
	groups = append(groups, scrape(o))
	return groups
}

func rule(o Options, s signal, key, sev, cmp, threshold string) Rule {
	expr := s.expr
	if cmp != "" {
		expr = fmt.Sprintf(s.expr, cmp)
	}
	r := Rule{
		Alert:  s.alert,
		Expr:   expr,
		Labels: map[string]string{"severity": sev, "threshold": key},
		Annotations: map[string]string{
			"summary":     s.summary,
			"description": fmt.Sprintf("%s at %s %s (the console's thresholds, ops/health).", sev, key, threshold),
		},
	}
	if s.store != "" {
		r.Labels["store"] = s.store
	}
	if s.source != "" {
		r.Annotations["source"] = "metric exported by " + s.source + ", not by the platform's pods"
	}
	if o.For > 0 {
		r.For = promDuration(o.For)
	}
	return r
}

// budget alerts when the pools of every instance could open more
// connections than the server allows, with capacity's near and over rules.
func budget(o Options) Group {
	near := number(capacity.NearFraction)
	g := Group{Name: "wotr-connection-budget"}
	for _, s := range []struct{ store, name, pool, limit, source string }{
		{"postgres", "PostgreSQL", "postgres_pool_size",
			`(max(pg_settings_max_connections) - max(pg_settings_superuser_reserved_connections))`, "postgres_exporter"},
		{"redis", "Redis", "redis_pool_size", `max(redis_config_maxclients)`, "redis_exporter"},
	} {
		for _, lv := range []struct{ sev, cmp, what string }{
			{SeverityWarning, "> " + near, fmt.Sprintf("above %s%% of the server's usable connections", number(capacity.NearFraction*100))},
			{SeverityCritical, "> 1", "more than the server's usable connections: some instances cannot connect"},
		} {
			r := rule(o, signal{
				alert: "WotrConnectionBudget", store: s.store, source: s.source + " (the limit)",
				summary: "the " + s.name + " pools of every instance could open {{ $value | humanizePercentage }} of the server's usable connections",
				expr:    "sum(" + s.pool + ") / scalar(" + s.limit + ") %s",
			}, "connection-budget", lv.sev, lv.cmp, lv.what)
			r.Annotations["description"] = lv.sev + ": pools " + lv.what + " (ops/capacity)."
			g.Rules = append(g.Rules, r)
		}
	}
	return g
}

// scrape alerts when the figures themselves are stale: a target that does
// not answer, or a job with no target at all.
func scrape(o Options) Group {
	sel := `up{job="` + o.Job + `"}`
	down := rule(o, signal{alert: "WotrScrapeDown", summary: "{{ $labels.instance }} ({{ $labels.pod }}) is not scraped: its figures are stale",
		expr: sel + " == 0"}, "stale-scrape", SeverityWarning, "", "the target's scrape failed")
	absent := rule(o, signal{alert: "WotrScrapeAbsent", summary: "no target of job " + o.Job + " is scraped: the console's Prometheus figures are empty",
		expr: "absent(" + sel + ")"}, "stale-scrape", SeverityCritical, "", "no target of the job")
	down.Annotations["description"] = "warning: a target's scrape failed; the console marks its figures stale."
	absent.Annotations["description"] = "critical: the job has no target; alerts on its metrics cannot fire."
	return Group{Name: "wotr-scrape", Rules: []Rule{down, absent}}
}

// Names lists the distinct alert names of groups, sorted.
func Names(groups []Group) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		for _, r := range g.Rules {
			if !seen[r.Alert] {
				seen[r.Alert] = true
				out = append(out, r.Alert)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Header heads the generated files.
const Header = "# Generated by wotr-tui alert-rules from the health thresholds (ops/health). Do not edit:\n# change the thresholds (or a context's overrides) and regenerate.\n"

// RulesFile renders groups as a plain Prometheus rules file.
func RulesFile(groups []Group) ([]byte, error) {
	return render(File{Groups: groups})
}

// PrometheusRule renders groups as a monitoring.coreos.com/v1 PrometheusRule
// named name in namespace.
func PrometheusRule(groups []Group, name, namespace string) ([]byte, error) {
	type meta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	type object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
		Spec       File   `yaml:"spec"`
	}
	return render(object{
		APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule",
		Metadata: meta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "wotr"}},
		Spec:     File{Groups: groups},
	})
}

func render(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// number writes v as PromQL reads it, without float noise.
func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// promDuration writes d in Prometheus' duration syntax (no fractions).
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
