package wire

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`

// Every endpoint points at a closed port: clients open without dialling.
func twoRegions(t *testing.T) config.ContextConfig {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	region := func(name string, role state.Role, port string) config.RegionConfig {
		return config.RegionConfig{Name: name, Role: role,
			Kube:       &config.KubeEndpoint{Kubeconfig: kc, Namespace: "wotr"},
			Kafka:      &config.KafkaEndpoint{Brokers: []string{"127.0.0.1:" + port}},
			Prometheus: &config.PromEndpoint{URL: "http://127.0.0.1:" + port},
			Postgres:   &config.PostgresEndpoint{DSN: "postgres://wotr:secret@127.0.0.1:" + port + "/wotr"},
			Redis:      &config.RedisEndpoint{Addr: "127.0.0.1:" + port},
			ClickHouse: &config.CHEndpoint{Addrs: []string{"127.0.0.1:" + port}},
			HAProxy:    &config.HAProxyEndpoint{Socket: filepath.Join(t.TempDir(), "haproxy.sock")},
		}
	}
	return config.ContextConfig{Name: "wired", BackupDir: t.TempDir(),
		Regions: []config.RegionConfig{region("secondary", state.RoleSecondary, "2"), region("primary", state.RolePrimary, "1")}}
}

// The console's collector, a `get`, the actions and a runbook environment
// share one client per region and system: one PostgreSQL pool per region.
func TestClientsOpenOncePerRegion(t *testing.T) {
	cc := twoRegions(t)
	opened := map[string]int{}
	p := Open(context.Background(), cc, OnOpen(func(system, region string) { opened[system+"@"+region]++ }))

	console, err := p.Sources()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sources(CapReplication); err != nil {
		t.Fatal(err)
	}
	env, err := p.RunbookEnv()
	if err != nil {
		t.Fatal(err)
	}
	actions := p.Actions()
	if actions != p.Actions() {
		t.Fatal("two action services for one platform")
	}
	var actionPG []any
	for _, r := range cc.Regions {
		for _, system := range []state.System{state.SystemKube, state.SystemKafka, state.SystemPostgres, state.SystemRedis, state.SystemClickHouse, state.SystemPrometheus} {
			c, err := actions.Backends.Client(system, r)
			if err != nil || c == nil {
				t.Fatalf("%s@%s: %v %v", system, r.Name, c, err)
			}
			if system == "postgres" {
				actionPG = append(actionPG, c)
			}
		}
	}

	for key, n := range opened {
		if n != 1 {
			t.Errorf("%s opened %d times, want once", key, n)
		}
	}
	for _, want := range []string{"postgres@primary", "postgres@secondary", "kube@primary", "kafka@secondary", "clickhouse@primary", "prom@primary", "haproxy@primary", "redis@secondary"} {
		if opened[want] != 1 {
			t.Errorf("%s opened %d times, want 1 (opened: %v)", want, opened[want], opened)
		}
	}
	if opened["haproxy@secondary"] != 0 {
		t.Error("the secondary's load balancer is opened though nothing reads it")
	}
	// The same pool, not an equal one.
	for i, r := range cc.Regions {
		if console[i].PGPool != actionPG[i] || env.SQL["postgres@"+r.Name] != actionPG[i] {
			t.Errorf("%s: collector, actions and runbooks hold different PostgreSQL clients", r.Name)
		}
	}
	if env.SQL["clickhouse"] != env.SQL["clickhouse@primary"] || env.Actor == nil || env.Kube == nil || env.LB == nil || env.Prom == nil {
		t.Errorf("runbook env: %+v", env)
	}

	p.Close()
	pg := actionPG[0].(*postgres.Client)
	if err := pg.Pool.Ping(context.Background()); err == nil {
		t.Error("pool still open after Close")
	}
	if _, err := p.Client("postgres", cc.Regions[0]); err == nil {
		t.Error("a closed platform hands out clients")
	}
}

// `get lag` opens Kafka only.
func TestSourcesOpenOnlyWhatTheirCapsRead(t *testing.T) {
	opened := map[string]int{}
	p := Open(context.Background(), twoRegions(t), OnOpen(func(system, region string) { opened[system]++ }))
	defer p.Close()
	rs, err := p.Sources(CapKafka)
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened["kafka"] != 2 || rs[0].Kafka == nil || rs[0].PGPool != nil {
		t.Fatalf("opened %v", opened)
	}
}

// A read-only context's runbooks act through the action service like the
// CLI does, and it refuses them before opening anything for the action.
func TestReadOnlyRunbookEnvActorRefuses(t *testing.T) {
	cc := twoRegions(t)
	cc.ReadOnly = true
	cc.AuditLog = filepath.Join(t.TempDir(), "audit.jsonl") // the refusal is audited
	var opened []string
	p := Open(context.Background(), cc, OnOpen(func(system, region string) { opened = append(opened, system+"/"+region) }))
	defer p.Close()
	env, err := p.RunbookEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.Actor == nil {
		t.Fatal("no actor: action steps would error instead of being refused")
	}
	before := len(opened)
	plan, err := env.Actor.Plan(context.Background(), action.Request{Kind: action.KindScale, Target: "api", Params: map[string]string{"replicas": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Blocked || !strings.Contains(plan.Summary, "read-only") {
		t.Fatalf("plan in a read-only context: %+v", plan)
	}
	if _, err := env.Actor.Execute(context.Background(), plan, "yes", nil); !errors.Is(err, action.ErrRefused) {
		t.Fatalf("execute in a read-only context: %v", err)
	}
	if len(opened) != before {
		t.Fatalf("clients opened for a refused action: %v", opened[before:])
	}
}

// A context's thresholds reach the runbooks' checks through their environment.
func TestRunbookEnvCarriesTheContextsThresholds(t *testing.T) {
	cc := twoRegions(t)
	cc.Thresholds = map[string]config.ThresholdOverride{"replication-lag": {Warn: "20s"}}
	p := Open(context.Background(), cc)
	defer p.Close()
	env, err := p.RunbookEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.Thresholds == nil || env.Thresholds.ReplicationLag.Warn != 20 {
		t.Fatalf("runbook thresholds %+v, want replication-lag warn 20s from the context", env.Thresholds)
	}
}

// A region with Prometheus gets an alerts source on the same client as its
// load queries; one without gets none.
func TestAlertsSourceFollowsPrometheus(t *testing.T) {
	cc := twoRegions(t)
	cc.Regions[0].Prometheus = nil
	p := Open(context.Background(), cc)
	defer p.Close()
	rs, err := p.Sources()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		withProm := r.Region == "primary"
		if (r.Alerts != nil) != withProm {
			t.Errorf("%s: alerts source %v, want one only with Prometheus", r.Region, r.Alerts)
		}
		if withProm && any(r.Alerts) != any(r.Metrics) {
			t.Errorf("%s: alerts and load read through different Prometheus clients", r.Region)
		}
	}
}
