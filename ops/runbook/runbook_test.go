package runbook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/state"
)

func TestShippedRunbooksParse(t *testing.T) {
	rbs, err := LoadAll("")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"after-scaling", "backup-verification", "before-scaling", "consumer-rebalancing", "dr-drill", "high-latency", "pool-exhaustion", "uneven-load"}
	var got []string
	for _, rb := range rbs {
		got = append(got, rb.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("runbooks = %v, want %v", got, want)
	}
}

func TestParseRunbookRejectsBadInput(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"unknown key":   {"name: x\nsteps:\n- id: a\n  check: pool-budget\n  colour: red\n", "colour"},
		"two kinds":     {"name: x\nsteps:\n- id: a\n  check: pool-budget\n  manual: hi\n", "exactly one of"},
		"unknown check": {"name: x\nsteps:\n- id: a\n  check: nope\n", `unknown check "nope"`},
		"bad expect":    {"name: x\nsteps:\n- id: a\n  promql: up\n  expect: about 3\n", `expect "about 3"`},
		"no expect":     {"name: x\nsteps:\n- id: a\n  promql: up\n", "needs expect"},
		"dup id":        {"name: x\nsteps:\n- id: a\n  manual: x\n- id: a\n  manual: y\n", "duplicate id"},
		"bad kind":      {"name: x\nkind: essay\nsteps:\n- id: a\n  manual: x\n", `kind "essay"`},
		"bad store":     {"name: x\nsteps:\n- id: a\n  sql: {store: mysql, query: x}\n  expect: '== 1'\n", `store "mysql"`},
		"no name":       {"steps:\n- id: a\n  manual: x\n", "name is required"},
		"bad action":    {"name: x\nsteps:\n- id: a\n  action: {kind: reboot, target: node-1}\n", `unknown action "reboot"`},
		"bad param":     {"name: x\nsteps:\n- id: a\n  action: {kind: scale, target: api, params: {replicas: lots}}\n", "scale parameter replicas"},
		"alien param":   {"name: x\nsteps:\n- id: a\n  action: {kind: cordon, target: node-1, params: {disable-eviction: \"true\"}}\n", `cordon has no parameter "disable-eviction"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "test.yaml") {
				t.Fatalf("err %v does not name the file", err)
			}
		})
	}
}

func TestOverrideDirReplacesShipped(t *testing.T) {
	dir := t.TempDir()
	writeRunbookFile(t, filepath.Join(dir, "mine.yaml"), "name: before-scaling\ntitle: Mine\nsteps:\n- id: a\n  manual: only this\n")
	rbs, err := LoadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Find(rbs, "before-scaling")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Title != "Mine" || len(rb.Steps) != 1 {
		t.Fatalf("override not applied: %+v", rb)
	}
	if _, err := Find(rbs, "nope"); err == nil || !strings.Contains(err.Error(), "before-scaling") {
		t.Fatalf("unknown runbook error should list known ones: %v", err)
	}
}

func healthySnapshot() state.Snapshot {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := state.Snapshot{Context: "test", TakenAt: now}
	for _, p := range []string{"api-a", "api-b", "api-c"} {
		s.Instances = append(s.Instances, state.Instance{Pod: p, Deployment: "wotr-api", Ready: true, RPS: 100, P50: 0.002, P99: 0.01})
		s.Pools.Instances = append(s.Pools.Instances, state.InstancePools{Pod: p, Pools: []state.Pool{{Store: "postgres", Size: 10, InUse: 2, Available: 8}}})
	}
	for _, p := range []string{"c-a", "c-b"} {
		s.Instances = append(s.Instances, state.Instance{Pod: p, Deployment: "wotr-consumer", Ready: true})
	}
	s.Deployments = []state.Deployment{{Name: "wotr-consumer", Desired: 2, Current: 2, Ready: 2}}
	s.Kafka.Topics = []state.Topic{{Name: "ingest-events", Partitions: 4}}
	g := state.Group{Name: "wotr-consumer-group", State: "Stable", Members: []state.GroupMember{{ID: "m1"}, {ID: "m2"}}}
	for i := int32(0); i < 4; i++ {
		g.Partitions = append(g.Partitions, state.PartitionLag{Topic: "ingest-events", Partition: i, Member: "m1"})
	}
	s.Kafka.Groups = []state.Group{g}
	s.Pools.Budget = []state.Budget{{Store: "postgres", PerInstance: 10, Instances: 10, Total: 100, Limit: 200, OK: true}}
	s.Replication.Postgres = []state.PGStandby{{Name: "secondary", State: "streaming", ReplayLagSeconds: 0.1}}
	s.Sources = []state.Meta{{Source: "kube", FetchedAt: now}}
	return s
}

func snapshotEnv(s state.Snapshot) Env {
	return Env{Context: "test", Collect: func(context.Context) (state.Snapshot, error) { return s, nil }}
}

func mustRunbook(t *testing.T, name string) *Runbook {
	t.Helper()
	rbs, err := LoadAll("")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Find(rbs, name)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestUnevenLoadDiagnosisNamesSkew(t *testing.T) {
	rb := mustRunbook(t, "uneven-load")
	s := healthySnapshot()
	s.Instances[0].RPS = 1000 // one instance takes most of the traffic
	env := snapshotEnv(s)
	env.LB = fakeLB{{Name: "api1", Addr: "127.0.0.1:1", State: "UP"}, {Name: "api2", Addr: "127.0.0.1:2", State: "UP"}, {Name: "api3", Addr: "127.0.0.1:3", State: "UP"}}
	st, err := Run(context.Background(), env, rb, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Diagnosis) != 1 || !strings.Contains(st.Diagnosis[0], "skewed") {
		t.Fatalf("diagnosis = %q, want only the skew cause", st.Diagnosis)
	}
	if st.Steps[0].Status != StepFail || !strings.Contains(strings.Join(st.Steps[0].Evidence, "\n"), "api-a: 1000.0 req/s") {
		t.Fatalf("spread step = %+v", st.Steps[0])
	}

	// Healthy platform: the diagnosis stays quiet.
	env = snapshotEnv(healthySnapshot())
	env.LB = fakeLB{{Name: "api1", Addr: "127.0.0.1:1", State: "UP"}, {Name: "api2", Addr: "127.0.0.1:2", State: "UP"}, {Name: "api3", Addr: "127.0.0.1:3", State: "UP"}}
	st, err = Run(context.Background(), env, rb, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Diagnosis) != 0 || st.Worst != StepPass {
		t.Fatalf("healthy platform diagnosed %q (worst %s)", st.Diagnosis, st.Worst)
	}
}

func TestRebalancingDiagnosisIdleConsumers(t *testing.T) {
	s := healthySnapshot()
	s.Deployments[0].Desired, s.Deployments[0].Ready = 6, 6
	for _, id := range []string{"m3", "m4", "m5", "m6"} {
		s.Kafka.Groups[0].Members = append(s.Kafka.Groups[0].Members, state.GroupMember{ID: id})
	}
	in := CheckInput{Env: snapshotEnv(s), Snapshot: s}
	out := checkPartitionsVsConsumers(context.Background(), in)
	if out.Status != StepFail || !strings.Contains(out.Summary, "6 consumers for 4 partitions: 2 idle") {
		t.Fatalf("got %+v", out)
	}
}

func TestMembershipStableDetectsFlapping(t *testing.T) {
	s := healthySnapshot()
	calls := 0
	env := Env{Collect: func(context.Context) (state.Snapshot, error) {
		calls++
		c := healthySnapshot()
		if calls%2 == 1 { // a member leaves and rejoins
			c.Kafka.Groups[0].Members = c.Kafka.Groups[0].Members[:1]
			c.Kafka.Groups[0].State = "PreparingRebalance"
		}
		return c, nil
	}}
	out := checkMembershipStable(context.Background(), CheckInput{Env: env, Snapshot: s, Args: map[string]string{"window": "200ms", "interval": "5ms"}})
	if out.Status != StepFail || calls < 2 {
		t.Fatalf("flapping not detected after %d polls: %+v", calls, out)
	}
	env.Collect = func(context.Context) (state.Snapshot, error) { return healthySnapshot(), nil }
	out = checkMembershipStable(context.Background(), CheckInput{Env: env, Snapshot: s, Args: map[string]string{"window": "20ms", "interval": "5ms"}})
	if out.Status != StepPass {
		t.Fatalf("stable group reported %+v", out)
	}
}

func TestManualStepPendsAndRunResumes(t *testing.T) {
	rb, err := Parse("t.yaml", []byte(`name: t
steps:
- id: first
  check: pool-budget
- id: tick
  manual: do the thing
- id: last
  check: instances-healthy
`))
	if err != nil {
		t.Fatal(err)
	}
	collects := 0
	env := snapshotEnv(healthySnapshot())
	inner := env.Collect
	env.Collect = func(ctx context.Context) (state.Snapshot, error) { collects++; return inner(ctx) }
	path := filepath.Join(t.TempDir(), "run.json")
	st, err := Run(context.Background(), env, rb, nil, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Steps) != 2 || st.Steps[1].Status != StepPending || !st.Finished.IsZero() {
		t.Fatalf("want a run stopped at the manual step, got %+v", st)
	}
	resumed, err := LoadRunState(path, rb)
	if err != nil || resumed == nil {
		t.Fatalf("state not persisted: %v %v", resumed, err)
	}
	env.AssumeYes = true
	st, err = Run(context.Background(), env, rb, resumed, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Steps) != 3 || st.Steps[1].Status != StepPass || st.Worst != StepPass || st.Finished.IsZero() {
		t.Fatalf("resumed run = %+v", st)
	}
	if st.Steps[0].Started != resumed.Steps[0].Started {
		t.Fatal("the first step ran again on resume")
	}
	if again, _ := LoadRunState(path, rb); again != nil {
		t.Fatal("a finished run must not be resumed")
	}
	report := Report(rb, st)
	for _, want := range []string{"# ", "result: **PASS**", "### 2.", "acknowledged (--yes)"} {
		if !strings.Contains(report, want) {
			t.Fatalf("report lacks %q:\n%s", want, report)
		}
	}
}

type fakeLB []LBServer

func (f fakeLB) Servers(context.Context) ([]LBServer, error) { return f, nil }

type fakeActor struct {
	blocked  bool
	executed []string
}

func (a *fakeActor) Plan(_ context.Context, req action.Request) (*action.Plan, error) {
	return &action.Plan{Request: req, Summary: "scale " + req.Target, ConfirmPhrase: "yes", Blocked: a.blocked,
		Checks: []action.Check{{Name: "budget", Status: action.CheckPass}}}, nil
}

func (a *fakeActor) Execute(_ context.Context, p *action.Plan, confirm string, progress func(action.Progress)) (*action.Result, error) {
	if confirm != p.ConfirmPhrase {
		return nil, errors.New("confirmation does not match")
	}
	a.executed = append(a.executed, p.Request.Target)
	progress(action.Progress{Time: time.Now(), Step: "scaled"})
	return &action.Result{OK: true, Summary: "done"}, nil
}

func TestActionStepNeedsConfirmation(t *testing.T) {
	rb, err := Parse("t.yaml", []byte("name: t\nsteps:\n- id: s\n  action: {kind: scale, target: api, params: {replicas: \"4\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	actor := &fakeActor{}
	env := Env{Actor: actor}
	st, _ := Run(context.Background(), env, rb, nil, "")
	if st.Worst != StepRefused || len(actor.executed) != 0 {
		t.Fatalf("action ran without confirmation: %+v", st)
	}
	env.AssumeYes = true
	st, _ = Run(context.Background(), env, rb, nil, "")
	if st.Worst != StepPass || len(actor.executed) != 1 {
		t.Fatalf("confirmed action did not run: %+v", st)
	}
	actor.blocked = true
	st, _ = Run(context.Background(), env, rb, nil, "")
	if st.Worst != StepRefused || len(actor.executed) != 1 {
		t.Fatalf("blocked plan executed: %+v", st)
	}
}

type fakeSQL struct {
	rows [][]string
	err  error
}

func (f fakeSQL) QueryRows(context.Context, string) ([]string, [][]string, error) {
	return []string{"n"}, f.rows, f.err
}

func TestQueryStepsCompareEveryValue(t *testing.T) {
	rb, err := Parse("t.yaml", []byte("name: t\nsteps:\n- id: q\n  sql: {store: postgres, query: select 1}\n  expect: '== 0'\n"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(sql SQLQuerier) StepResult {
		env := Env{SQL: map[string]SQLQuerier{"postgres": sql}}
		st, _ := Run(context.Background(), env, rb, nil, "")
		return st.Steps[0]
	}
	if r := run(fakeSQL{rows: [][]string{{"0"}}}); r.Status != StepPass {
		t.Fatalf("0 == 0 failed: %+v", r)
	}
	if r := run(fakeSQL{rows: [][]string{{"0"}, {"3"}}}); r.Status != StepFail || r.Summary != "1 of 2 values not == 0: 3" {
		t.Fatalf("3 == 0 passed: %+v", r)
	}
	if r := run(fakeSQL{}); r.Status != StepFail || r.Summary != "no data returned" {
		t.Fatalf("no rows passed: %+v", r)
	}
	if r := run(fakeSQL{err: errors.New("connection refused")}); r.Status != StepError {
		t.Fatalf("error not reported: %+v", r)
	}
}

func TestKubePathLookup(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "a", "readinessProbe": map[string]any{"path": "/health"}},
		map[string]any{"name": "b"},
	}}}
	got := lookupPath(obj, strings.Split("spec.containers.*.readinessProbe", "."))
	if len(got) != 2 || got[0] == nil || got[1] != nil {
		t.Fatalf("lookup = %#v, want one present and one absent", got)
	}
}

func writeRunbookFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A refused action (no confirmation) is asked again when the run resumes,
// instead of being skipped.
func TestRefusedActionIsRetriedOnResume(t *testing.T) {
	rb, err := Parse("t.yaml", []byte("name: t\nsteps:\n- id: s\n  action: {kind: scale, target: api}\n- id: after\n  check: pool-budget\n"))
	if err != nil {
		t.Fatal(err)
	}
	actor := &fakeActor{}
	env := snapshotEnv(healthySnapshot())
	env.Actor = actor
	path := filepath.Join(t.TempDir(), "run.json")
	st, _ := Run(context.Background(), env, rb, nil, path)
	if st.Worst != StepRefused || len(st.Steps) != 1 || !st.Finished.IsZero() {
		t.Fatalf("want a run stopped at the refused action, got %+v", st)
	}
	resumed, err := LoadRunState(path, rb)
	if err != nil || resumed == nil {
		t.Fatalf("refused run not resumable: %v %v", resumed, err)
	}
	env.AssumeYes = true
	st, _ = Run(context.Background(), env, rb, resumed, path)
	if len(actor.executed) != 1 || len(st.Steps) != 2 || st.Steps[0].Status != StepPass || st.Worst != StepPass {
		t.Fatalf("resumed run did not retry the action: executed %v, %+v", actor.executed, st)
	}
}

// Step by step: RunNextStep runs exactly one step; RecordStep records an
// action confirmed elsewhere, and only for the next step.
func TestRunNextStepAndRecordStep(t *testing.T) {
	rb, err := Parse("t.yaml", []byte("name: t\nkind: diagnosis\nsteps:\n- id: a\n  check: pool-budget\n- id: act\n  action: {kind: scale, target: api}\n  cause: scaling failed\n- id: c\n  check: instances-healthy\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := snapshotEnv(healthySnapshot())
	path := filepath.Join(t.TempDir(), "run.json")
	st, err := RunNextStep(context.Background(), env, rb, nil, path)
	if err != nil || len(st.Steps) != 1 || st.Steps[0].ID != "a" {
		t.Fatalf("first step: %+v %v", st, err)
	}
	if _, err := RecordStep(rb, st, StepResult{ID: "c", Status: StepPass}, path); err == nil || !strings.Contains(err.Error(), `"c" is not the next step`) {
		t.Fatalf("recording a later step: %v, want refused", err)
	}
	st, err = RecordStep(rb, st, StepResult{ID: "act", Status: StepFail, Summary: "rollout stuck"}, path)
	if err != nil || len(st.Steps) != 2 || st.Worst != StepFail || len(st.Diagnosis) != 1 || !strings.HasPrefix(st.Diagnosis[0], "scaling failed: rollout stuck") {
		t.Fatalf("recorded action: %+v %v", st, err)
	}
	st, err = RunNextStep(context.Background(), env, rb, st, path)
	if err != nil || len(st.Steps) != 3 || st.Finished.IsZero() {
		t.Fatalf("last step: %+v %v", st, err)
	}
}

// A step interrupted by cancellation is not recorded: the resumed run runs it.
func TestInterruptedStepRunsAgainOnResume(t *testing.T) {
	rb, err := Parse("t.yaml", []byte("name: t\nsteps:\n- id: a\n  check: pool-budget\n- id: b\n  check: instances-healthy\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := snapshotEnv(healthySnapshot())
	collects := 0
	inner := env.Collect
	env.Collect = func(c context.Context) (state.Snapshot, error) {
		collects++
		if collects == 2 { // the second step's fresh snapshot: the operator hits ^C
			cancel()
			return state.Snapshot{}, c.Err()
		}
		return inner(c)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	rb.Steps[1].Check = "group-membership-stable" // collects again inside the step
	rb.Steps[1].Args = map[string]string{"window": "1s", "interval": "10ms"}
	st, err := Run(ctx, env, rb, nil, path)
	if err == nil || len(st.Steps) != 1 {
		t.Fatalf("interrupted run: err %v, steps %+v", err, st.Steps)
	}
	resumed, _ := LoadRunState(path, rb)
	if resumed == nil || len(resumed.Steps) != 1 {
		t.Fatalf("saved state: %+v", resumed)
	}
}
