package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
)

const thresholdsHead = "contexts:\n  - name: a\n    regions:\n      - {name: r, role: primary}\n    thresholds:\n"

func TestThresholdsOverlayDefaults(t *testing.T) {
	y := thresholdsHead +
		"      replication-lag: {warn: 10s, crit: 2m}\n" +
		"      pool-utilization:\n        crit: 90%\n" +
		"      error-rate: {warn: 0.02}\n" +
		"      latency-p99: {warn: 0.5, crit: 2}\n"
	cfg, err := Parse("/cfg/config.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Contexts[0].Health()
	want := health.Defaults()
	want.ReplicationLag = health.Bound{Warn: 10, Crit: 120}
	want.PoolUtilization.Crit = 0.9
	want.ErrorRate.Warn = 0.02
	want.LatencyP99 = health.Bound{Warn: 0.5, Crit: 2}
	if got != want {
		t.Fatalf("Health() = %+v, want %+v", got, want)
	}
	if got.Replication(9) != health.OK || got.Replication(10) != health.Warn || got.Replication(120) != health.Crit {
		t.Errorf("the override does not judge: %+v", got.ReplicationLag)
	}
	var none ContextConfig
	if none.Health() != health.Defaults() {
		t.Errorf("a context without thresholds: %+v, want the defaults", none.Health())
	}
}

func TestThresholdsRejectedWithFileLineAndRule(t *testing.T) {
	cases := []struct {
		name, body string
		line       int
		field      string
		want       string
	}{
		{"unknown key", "      replication-delay: {warn: 5s}\n", 6, "contexts[0].thresholds.replication-delay", `unknown threshold "replication-delay"`},
		{"unknown field", "      replication-lag: {warm: 5s}\n", 6, "contexts[0].thresholds.replication-lag.warm", `unknown key "warm"`},
		{"negative", "      replication-lag:\n        warn: -5s\n", 7, "contexts[0].thresholds.replication-lag.warn", "negative"},
		{"not a duration", "      replication-lag: {crit: soon}\n", 6, "contexts[0].thresholds.replication-lag.crit", `"soon" is not a duration`},
		{"not a fraction", "      pool-utilization: {warn: high}\n", 6, "contexts[0].thresholds.pool-utilization.warn", `"high" is not a fraction`},
		{"above 100%", "      error-rate: {crit: 150%}\n", 6, "contexts[0].thresholds.error-rate.crit", "more than 100%"},
		{"warn above crit", "      replication-lag: {warn: 2m, crit: 1m}\n", 6, "contexts[0].thresholds.replication-lag", "warn must not exceed crit"},
		{"warn above default crit", "      pool-utilization: {warn: 0.99}\n", 6, "contexts[0].thresholds.pool-utilization", "warn 99% is above crit 95%"},
		{"empty", "      latency-p99: {}\n", 6, "contexts[0].thresholds.latency-p99", "give warn, crit or both"},
		{"not a mapping", "      latency-p99: 1s\n", 6, "contexts[0].thresholds.latency-p99", "must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("/cfg/config.yaml", []byte(thresholdsHead+c.body))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.File != "/cfg/config.yaml" || ce.Line != c.line || ce.Field != c.field || !strings.Contains(ce.Rule, c.want) {
				t.Errorf("got %q (line %d, field %s), want line %d, field %s and %q", err, ce.Line, ce.Field, c.line, c.field, c.want)
			}
		})
	}
	if _, err := Parse("/cfg/config.yaml", []byte(strings.TrimSuffix(thresholdsHead, "    thresholds:\n")+"    thresholds: fast\n")); err == nil || !strings.Contains(err.Error(), ":5: contexts[0].thresholds: must be a mapping") {
		t.Errorf("thresholds as a scalar: %v", err)
	}
}
