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
)

const serviceRunbook = `name: svc
title: Service run
steps:
- id: count
  sql: {store: postgres, query: select 1}
  expect: '== 1'
- id: tell
  manual: Tell the team.
- id: scale
  action: {kind: scale, target: api, params: {replicas: "4"}}
- id: after
  sql: {store: postgres, query: select 1}
  expect: '== 1'
`

// countingSQL answers 1 and counts the queries it ran.
type countingSQL struct{ n *int }

func (c countingSQL) QueryRows(context.Context, string) ([]string, [][]string, error) {
	*c.n++
	return []string{"n"}, [][]string{{"1"}}, nil
}

func newTestService(t *testing.T, actor action.Actor) (*Service, *Runbook, *int) {
	t.Helper()
	rb, err := Parse("svc.yaml", []byte(serviceRunbook))
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env := Env{Context: "test", SQL: map[string]SQLQuerier{"postgres": countingSQL{&queries}}, Actor: actor,
		Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	return NewService(env, t.TempDir()), rb, &queries
}

func statuses(st *RunState) string {
	var out []string
	for _, r := range st.Steps {
		out = append(out, r.ID+"="+string(r.Status))
	}
	return strings.Join(out, " ")
}

// A run stopped at a manual step resumes there from the saved state: the
// query before it does not run again, and the report follows the run.
func TestServiceResumeContinuesAfterTheLastRecordedStep(t *testing.T) {
	svc, rb, queries := newTestService(t, &fakeActor{})
	run, err := svc.Open(rb)
	if err != nil || run.Resumed || run.State != nil {
		t.Fatalf("fresh open: %+v %v", run, err)
	}
	if err := svc.RunAll(context.Background(), run, Operator{}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(run.State); got != "count=pass tell=pending" {
		t.Fatalf("first run: %s", got)
	}

	again, err := svc.Open(rb)
	if err != nil || !again.Resumed || len(again.State.Steps) != 2 {
		t.Fatalf("reopened run: %+v %v", again, err)
	}
	acked := 0
	op := Operator{AssumeYes: true, Ack: func(Step) (bool, error) { acked++; return true, nil }}
	if err := svc.RunAll(context.Background(), again, op); err != nil {
		t.Fatal(err)
	}
	if got := statuses(again.State); got != "count=pass tell=pass scale=pass after=pass" {
		t.Fatalf("resumed run: %s", got)
	}
	if *queries != 2 || acked != 1 {
		t.Fatalf("queries %d (want 2: count once, after once), acks %d", *queries, acked)
	}
	if again.State.Finished.IsZero() {
		t.Fatal("finished run has no finish time")
	}
	report, err := os.ReadFile(svc.ReportPath(again))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "ticked off by the operator") {
		t.Errorf("report lacks the manual step:\n%s", report)
	}
	// A finished run is not resumed.
	if next, err := svc.Open(rb); err != nil || next.Resumed {
		t.Fatalf("finished run reopened as resumed: %+v %v", next, err)
	}
}

func TestServiceRestartDiscardsTheSavedRun(t *testing.T) {
	svc, rb, queries := newTestService(t, &fakeActor{})
	run, _ := svc.Open(rb)
	if err := svc.Next(context.Background(), run, Operator{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(svc.StatePath(rb)); err != nil {
		t.Fatalf("state not saved after a step: %v", err)
	}
	fresh, err := svc.Restart(rb)
	if err != nil || fresh.State != nil || fresh.Resumed {
		t.Fatalf("restart: %+v %v", fresh, err)
	}
	if _, err := os.Stat(svc.StatePath(rb)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("saved run survived the restart: %v", err)
	}
	if reopened, _ := svc.Open(rb); reopened.Resumed {
		t.Fatal("a restarted run resumes")
	}
	if err := svc.Next(context.Background(), fresh, Operator{}); err != nil {
		t.Fatal(err)
	}
	if got := statuses(fresh.State); got != "count=pass" || *queries != 2 {
		t.Fatalf("after restart: %s, %d queries", got, *queries)
	}
	if _, err := svc.Restart(rb); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restart(rb); err != nil {
		t.Fatalf("restart without a saved run: %v", err)
	}
}

// A refused action step (blocked plan) stops the run without executing; the
// next run asks again and, once the check passes, goes on.
func TestServiceRefusedActionStepIsAskedAgain(t *testing.T) {
	actor := &fakeActor{blocked: true}
	svc, rb, _ := newTestService(t, actor)
	run, _ := svc.Open(rb)
	op := Operator{AssumeYes: true}
	if err := svc.RunAll(context.Background(), run, op); err != nil {
		t.Fatal(err)
	}
	if got := statuses(run.State); got != "count=pass tell=pass scale=refused" || len(actor.executed) != 0 {
		t.Fatalf("blocked action: %s, executed %v", got, actor.executed)
	}
	if run.State.Worst.ExitCode() != 3 || !run.State.Finished.IsZero() {
		t.Fatalf("refused run: worst %s, finished %v", run.State.Worst, run.State.Finished)
	}
	actor.blocked = false
	again, _ := svc.Open(rb)
	if err := svc.RunAll(context.Background(), again, op); err != nil {
		t.Fatal(err)
	}
	if got := statuses(again.State); got != "count=pass tell=pass scale=pass after=pass" || len(actor.executed) != 1 {
		t.Fatalf("after the check passed: %s, executed %v", got, actor.executed)
	}
}

// The console confirms actions in its dialog: the operator without a
// confirmation refuses, and the dialog's outcome is recorded as the step.
func TestServiceRecordsAnActionConfirmedElsewhere(t *testing.T) {
	actor := &fakeActor{}
	svc, rb, _ := newTestService(t, actor)
	inDialog := errors.New("confirm in the dialog")
	op := Operator{Ack: func(Step) (bool, error) { return true, nil },
		Confirm: func(*action.Plan) (string, error) { return "", inDialog }}
	run, _ := svc.Open(rb)
	if err := svc.RecordAction(run, true); err == nil || !strings.Contains(err.Error(), "not an action") {
		t.Fatalf("recording the first step (a query) as an action: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := svc.Next(context.Background(), run, op); err != nil {
			t.Fatal(err)
		}
	}
	if got := statuses(run.State); got != "count=pass tell=pass scale=refused" || len(actor.executed) != 0 {
		t.Fatalf("step by step: %s, executed %v", got, actor.executed)
	}
	reopened, _ := svc.Open(rb)
	if err := svc.RecordAction(reopened, false); err != nil {
		t.Fatal(err)
	}
	if got := statuses(reopened.State); got != "count=pass tell=pass scale=fail" {
		t.Fatalf("recorded: %s", got)
	}
	saved, err := LoadRunState(svc.StatePath(rb), rb)
	if err != nil || saved == nil || statuses(saved) != "count=pass tell=pass scale=fail" {
		t.Fatalf("recorded step not saved: %+v %v", saved, err)
	}
	if report, err := os.ReadFile(svc.ReportPath(reopened)); err != nil || !strings.Contains(string(report), "failed or cancelled in the action dialog") {
		t.Fatalf("report does not carry the recorded step: %v\n%s", err, report)
	}
}

func TestServiceReportPath(t *testing.T) {
	svc, rb, _ := newTestService(t, nil)
	run, _ := svc.Open(rb)
	run.Report = filepath.Join(t.TempDir(), "incident.md")
	if err := svc.Next(context.Background(), run, Operator{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(run.Report); err != nil {
		t.Fatalf("report not at the chosen path: %v", err)
	}
	run.Report = filepath.Join(t.TempDir(), "missing", string([]byte{0}), "x.md")
	var rerr *ReportError
	if err := svc.Next(context.Background(), run, Operator{}); !errors.As(err, &rerr) {
		t.Fatalf("unwritable report: %v, want a ReportError", err)
	}
}

// "postgres" follows whichever server accepts writes.
func TestWritableSQLFollowsThePrimary(t *testing.T) {
	standby := fakeRecovery{inRecovery: true, answer: "standby"}
	primary := fakeRecovery{answer: "primary"}
	_, rows, err := WritableSQL{standby, primary}.QueryRows(context.Background(), "select who")
	if err != nil || rows[0][0] != "primary" {
		t.Fatalf("rows %v, err %v: want the primary's answer", rows, err)
	}
	_, rows, _ = WritableSQL{standby, standby}.QueryRows(context.Background(), "select who")
	if rows[0][0] != "standby" {
		t.Fatalf("no writable server: rows %v, want the first server's", rows)
	}
}

type fakeRecovery struct {
	inRecovery bool
	answer     string
}

func (f fakeRecovery) QueryRows(_ context.Context, q string) ([]string, [][]string, error) {
	if q == "select pg_is_in_recovery()" {
		if f.inRecovery {
			return []string{"r"}, [][]string{{"t"}}, nil
		}
		return []string{"r"}, [][]string{{"f"}}, nil
	}
	return []string{"who"}, [][]string{{f.answer}}, nil
}
