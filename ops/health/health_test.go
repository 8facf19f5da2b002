package health

import (
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestDefaultsJudgeLikeTheConsoleDid(t *testing.T) {
	th := Defaults()
	for _, c := range []struct {
		name string
		got  Level
		want Level
	}{
		{"lag 4.9s", th.Replication(4.9), OK}, {"lag 5s", th.Replication(5), Warn}, {"lag 60s", th.Replication(60), Crit},
		{"lag unknown", th.Replication(-1), OK},
		{"pool 79%", th.Pool(0.79), OK}, {"pool 80%", th.Pool(0.8), Warn}, {"pool 95%", th.Pool(0.95), Crit},
		{"errors 1%", th.Errors(0.01), Warn}, {"errors 5%", th.Errors(0.05), Crit},
		{"not ready", th.Instance(state.Instance{}), Crit},
		{"stale", th.Instance(state.Instance{Ready: true, Meta: state.Meta{Stale: true}}), Warn},
		{"paused standby", th.PG(state.PGStandby{State: "streaming", ReplayPaused: true}), Warn},
		{"redis link down", th.Redis(state.RedisReplica{LinkStatus: "down"}), Crit},
		{"one of three down", th.Instances([]state.Instance{{}, {Ready: true}, {Ready: true}}), Warn},
		{"two of three down", th.Instances([]state.Instance{{}, {}, {Ready: true}}), Crit},
		{"no replicas", th.ReplicationAll(state.Replication{}), Warn},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestOverride(t *testing.T) {
	th := Defaults()
	if err := th.Override("replication-lag", "1m30s", "300"); err != nil {
		t.Fatal(err)
	}
	if th.ReplicationLag != (Bound{Warn: 90, Crit: 300}) {
		t.Errorf("replication-lag = %+v", th.ReplicationLag)
	}
	if err := th.Override("pool-utilization", "70%", ""); err != nil || th.PoolUtilization != (Bound{Warn: 0.7, Crit: 0.95}) {
		t.Errorf("pool-utilization = %+v, %v", th.PoolUtilization, err)
	}
	for _, c := range []struct{ key, warn, crit, want string }{
		{"nope", "1", "", `unknown threshold "nope"`},
		{"error-rate", "-0.1", "", "negative"},
		{"error-rate", "", "lots", "not a fraction"},
		{"latency-p99", "2s", "1s", "warn 2s is above crit 1s"},
		{"latency-p99", "NaN", "", "not a finite number"},
	} {
		before := th
		err := th.Override(c.key, c.warn, c.crit)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Override(%s, %q, %q) = %v, want %q", c.key, c.warn, c.crit, err, c.want)
		}
		if th != before {
			t.Errorf("a rejected override changed the table")
		}
	}
}
