package runbook

import (
	"context"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// Without args a check fails where the console warns; args and the
// context's table move that point.
func TestCheckDefaultsComeFromHealthTable(t *testing.T) {
	snap := state.Snapshot{
		Replication: state.Replication{Postgres: []state.PGStandby{{Name: "s", State: "streaming", ReplayLagSeconds: 12}}},
		Instances:   []state.Instance{{Pod: "a", Deployment: "wotr-api", Ready: true, RPS: 10, P99: 0.3, ErrorRate: 0.02}},
		Pools:       state.Pools{Instances: []state.InstancePools{{Pod: "a", Pools: []state.Pool{{Store: "postgres", InUse: 8.5, Size: 10}}}}},
	}
	loose := health.Defaults()
	loose.ReplicationLag = health.Bound{Warn: 30, Crit: 60}
	checks := []string{"replication-lag", "standby-ready", "latency", "error-rate", "pool-utilization"}
	for _, name := range checks {
		run := func(env Env, args map[string]string) StepStatus {
			return runbookChecks[name](context.Background(), CheckInput{Env: env, Snapshot: snap, Args: args}).Status
		}
		if got := run(Env{}, nil); got != StepFail {
			t.Errorf("%s with the default table: %s, want fail", name, got)
		}
		if got := run(Env{}, map[string]string{"max_seconds": "100", "max": "0.9", "max_p99_seconds": "1"}); got != StepPass {
			t.Errorf("%s with explicit args: %s, want pass", name, got)
		}
	}
	for _, name := range []string{"replication-lag", "standby-ready"} {
		out := runbookChecks[name](context.Background(), CheckInput{Env: Env{Thresholds: &loose}, Snapshot: snap})
		if out.Status != StepPass {
			t.Errorf("%s with the context's 30 s warn: %s (%s), want pass", name, out.Status, out.Summary)
		}
	}
}
