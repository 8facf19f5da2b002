package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// runbookHome isolates config (overrides) and state (runs, reports) of one test;
// it returns the --config path whose directory holds runbooks/.
func runbookHome(t *testing.T, app *testCLI) (configPath, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	stateDir = filepath.Join(dir, "state", "wotr")
	app.d.stateDir = func() string { return stateDir }
	configPath = filepath.Join(dir, "config", "wotr", "config.yaml")
	if err := os.MkdirAll(filepath.Join(filepath.Dir(configPath), "runbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	return configPath, stateDir
}

func writeOverride(t *testing.T, configPath, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(configPath), "runbooks", name+".yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runDoc(t *testing.T, r cliRun) runbookOutput {
	t.Helper()
	var d runbookOutput
	if err := json.Unmarshal([]byte(r.out), &d); err != nil || d.Run == nil {
		t.Fatalf("stdout is not the run document: %v\n%s\nstderr: %s", err, r.out, r.err)
	}
	if d.Exit != r.code {
		t.Fatalf("document exit %d, process exit %d", d.Exit, r.code)
	}
	return d
}

func TestRunbookListAndShow(t *testing.T) {
	app := newCLI(t)
	cfg, _ := runbookHome(t, app)
	writeOverride(t, cfg, "uneven-load", "name: uneven-load\ntitle: Local uneven load\nkind: diagnosis\nsteps:\n- id: s\n  check: load-spread\n")
	r := app.run("--config", cfg, "runbook", "list", "-o", "json")
	mustCode(t, r, ExitOK)
	var items []struct {
		Name, Title, Kind, Source string
		Steps                     int
	}
	if err := json.Unmarshal([]byte(r.out), &items); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.out)
	}
	names := map[string]string{}
	for _, it := range items {
		names[it.Name] = it.Source
	}
	for _, want := range []string{"before-scaling", "after-scaling", "uneven-load", "consumer-rebalancing", "pool-exhaustion", "high-latency", "dr-drill", "backup-verification"} {
		if _, ok := names[want]; !ok {
			t.Errorf("list lacks %s: %v", want, names)
		}
	}
	if !strings.HasSuffix(names["uneven-load"], "runbooks/uneven-load.yaml") {
		t.Errorf("override not used: uneven-load from %s", names["uneven-load"])
	}

	r = app.run("--config", cfg, "runbook", "show", "high-latency")
	mustCode(t, r, ExitOK)
	for _, want := range []string{"wotr_api_dependency_duration_seconds_bucket", "circuit_breaker_state", "cause: a dependency is slow"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show lacks %q:\n%s", want, r.out)
		}
	}
	r = app.run("--config", cfg, "runbook", "show", "no-such")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.err, `"no-such"`) || !strings.Contains(r.err, "before-scaling") {
		t.Errorf("unknown runbook error does not name it and the known ones: %s", r.err)
	}
	mustCode(t, app.run("--config", cfg, "runbook", "list", "-o", "yaml"), ExitUsage)
	mustCode(t, app.run("--config", cfg, "runbook", "run"), ExitUsage)

	writeOverride(t, cfg, "broken", "name: broken\nsteps:\n- id: s\n  check: no-such-check\n")
	r = app.run("--config", cfg, "runbook", "list")
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.err, "no-such-check") || !strings.Contains(r.err, "broken.yaml") {
		t.Errorf("a bad override must be named with its file and rule: %s", r.err)
	}
}

// Manual steps: pending without a terminal or --yes (exit 1, state saved),
// acknowledged with --yes on resume (exit 0), and a report with evidence.
func TestRunbookRunManualStepsResume(t *testing.T) {
	app := newCLI(t)
	cfg, stateDir := runbookHome(t, app)
	app.withContext(config.ContextConfig{Name: "offline", Regions: []config.RegionConfig{{Name: "primary", Role: "primary"}}})
	writeOverride(t, cfg, "handover", "name: handover\ntitle: Handover\nsteps:\n- id: one\n  manual: Read the incident log.\n- id: two\n  manual: Page the next on-call.\n")

	r := app.run("--config", cfg, "runbook", "run", "handover", "-o", "json")
	mustCode(t, r, ExitFailed)
	d := runDoc(t, r)
	if d.Run.Worst != runbook.StepPending || len(d.Run.Steps) != 1 || d.Resumed {
		t.Fatalf("first run: %+v", d.Run)
	}
	if _, err := os.Stat(runbook.RunStatePath(stateDir, "offline", "handover")); err != nil {
		t.Fatalf("run state not saved: %v", err)
	}

	r = app.run("--config", cfg, "runbook", "run", "handover", "-o", "json", "--yes")
	mustCode(t, r, ExitOK)
	d = runDoc(t, r)
	if !d.Resumed || d.Run.Worst != runbook.StepPass || len(d.Run.Steps) != 2 || d.Run.Finished.IsZero() {
		t.Fatalf("resumed run: %+v", d.Run)
	}
	report, err := os.ReadFile(d.Report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Report, filepath.Join(stateDir, "reports")) {
		t.Errorf("report %s not under the state dir", d.Report)
	}
	for _, want := range []string{"# Handover", "result: **PASS**", "Page the next on-call.", "acknowledged (--yes)"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	// A finished run starts over; --report puts the report where asked.
	custom := filepath.Join(t.TempDir(), "incident.md")
	r = app.run("--config", cfg, "runbook", "run", "handover", "--yes", "--report", custom)
	mustCode(t, r, ExitOK)
	if !strings.Contains(r.out, "[2/2] PASS") || !strings.Contains(r.out, "report: "+custom) {
		t.Errorf("progress lines or report path missing:\n%s", r.out)
	}
	if _, err := os.Stat(custom); err != nil {
		t.Errorf("--report not written: %v", err)
	}
}

// Action steps on the local platform: refused without confirmation (exit 3)
// and resumed with --yes; a preflight refusal is exit 3 even with --yes.
func TestRunbookRunActionSteps(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Postgres, local.Redis)
	app := newCLI(t)
	cfg, _ := runbookHome(t, app)
	cc := contextFor(t, p)
	app.withContext(cc)
	cs, ns := p.Kube.Clientset, p.Kube.Namespace
	createDeployment(t, cs, deployment("wotr-api", ns, 2, nil, map[string]string{"POSTGRES_POOL_MAX": "10"}))
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))
	writeOverride(t, cfg, "grow", `name: grow
title: Grow the API
steps:
- id: manifest
  title: Readiness of the API Deployment
  kube: {resource: deployments, name: wotr-api, path: spec.replicas}
  expect: ">= 2"
- id: scale
  title: Scale the API to 3
  action: {kind: scale, target: api, params: {replicas: "3"}}
- id: scaled
  title: Three replicas asked for
  kube: {resource: deployments, name: wotr-api, path: spec.replicas}
  expect: "== 3"
`)
	r := app.run("--config", cfg, "runbook", "run", "grow", "-o", "json")
	mustCode(t, r, ExitRefused)
	d := runDoc(t, r)
	if len(d.Run.Steps) != 2 || d.Run.Steps[0].Status != runbook.StepPass || d.Run.Steps[1].Status != runbook.StepRefused {
		t.Fatalf("want the kube step passed and the action refused: %+v", d.Run.Steps)
	}

	r = app.run("--config", cfg, "runbook", "run", "grow", "-o", "json", "--yes")
	mustCode(t, r, ExitOK)
	d = runDoc(t, r)
	if !d.Resumed || len(d.Run.Steps) != 3 || d.Run.Steps[1].Status != runbook.StepPass || d.Run.Steps[2].Status != runbook.StepPass {
		t.Fatalf("resumed run with --yes: %+v", d.Run.Steps)
	}

	writeOverride(t, cfg, "overgrow", "name: overgrow\nsteps:\n- id: scale\n  action: {kind: scale, target: consumer, params: {replicas: \"11\"}}\n")
	r = app.run("--config", cfg, "runbook", "run", "overgrow", "-o", "json", "--yes")
	mustCode(t, r, ExitRefused)
	d = runDoc(t, r)
	ev := strings.Join(d.Run.Steps[0].Evidence, "\n")
	if d.Run.Steps[0].Status != runbook.StepRefused || !strings.Contains(ev, "consumers vs partitions") {
		t.Fatalf("preflight refusal not reported with its check: %+v", d.Run.Steps[0])
	}
}

// SQL steps reach one region's server with postgres@REGION, and "postgres"
// goes to whichever server accepts writes.
func TestRunbookSQLStoresPerRegion(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	app := newCLI(t)
	cfg, _ := runbookHome(t, app)
	app.withContext(contextFor(t, p))
	q := "select case when pg_is_in_recovery() then 0 else 1 end as accepts_writes"
	writeOverride(t, cfg, "where", `name: where
steps:
- id: writable
  sql: {store: postgres, query: "`+q+`"}
  expect: "== 1"
- id: primary
  sql: {store: postgres@primary, query: "`+q+`"}
  expect: "== 1"
- id: standby
  sql: {store: postgres@secondary, query: "`+q+`"}
  expect: "== 0"
`)
	r := app.run("--config", cfg, "runbook", "run", "where", "-o", "json")
	mustCode(t, r, ExitOK)
	if d := runDoc(t, r); len(d.Run.Steps) != 3 || d.Run.Worst != runbook.StepPass {
		t.Fatalf("steps: %+v", d.Run.Steps)
	}

	writeOverride(t, cfg, "nowhere", "name: nowhere\nsteps:\n- id: s\n  sql: {store: postgres@moon, query: select 1}\n  expect: '== 1'\n")
	r = app.run("--config", cfg, "runbook", "run", "nowhere", "-o", "json")
	mustCode(t, r, ExitFailed)
	if d := runDoc(t, r); d.Run.Steps[0].Status != runbook.StepError || !strings.Contains(d.Run.Steps[0].Summary, "postgres@moon: not configured") {
		t.Fatalf("unknown region store: %+v", d.Run.Steps[0])
	}
}
