package runbook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// Service runs one context's runbooks: it opens a run (resumed from the saved
// state, or fresh), runs the next step or every remaining one, records the
// outcome of a step that ran elsewhere (an action confirmed in the console's
// action dialog), and starts over. The run's state is saved and its report
// rewritten after each of these, so the CLI and the console resume each
// other's runs. Both drive it and keep only their own I/O (Operator).
type Service struct {
	env      Env
	stateDir string

	mu sync.Mutex // one step at a time
}

// NewService runs runbooks in env (env.Context names the runs) and keeps runs
// and reports under stateDir (see StateDir).
func NewService(env Env, stateDir string) *Service {
	return &Service{env: env, stateDir: stateDir}
}

// Operator is how a run reaches whoever runs it. Nil members behave as in Env:
// without Confirm an action needs AssumeYes, without Ack a manual step needs
// AssumeYes or stays pending.
type Operator struct {
	Confirm   func(plan *action.Plan) (string, error)
	Ack       func(step Step) (bool, error)
	AssumeYes bool
	// Progress receives each step result as it completes.
	Progress func(StepResult)
}

// OpenRun is one runbook's run as Open or Restart found it.
type OpenRun struct {
	Runbook *Runbook
	// State is nil until the first step of a fresh run.
	State *RunState
	// Resumed: State was saved by an earlier, unfinished run.
	Resumed bool
	// Report is where the report goes; empty: under the state dir, named
	// after the run's start.
	Report string
}

// ReportError is a report that could not be written; the run's state is saved.
type ReportError struct{ Err error }

func (e *ReportError) Error() string { return e.Err.Error() }
func (e *ReportError) Unwrap() error { return e.Err }

// checkNames refuses a context or runbook name that would not stay a file
// name in the run state and report paths.
func (s *Service) checkNames(rb *Runbook) error {
	if err := config.FileNamePart("context name", s.env.Context); err != nil {
		return err
	}
	return config.FileNamePart("runbook name", rb.Name)
}

// StatePath is where the service saves rb's run.
func (s *Service) StatePath(rb *Runbook) string {
	return RunStatePath(s.stateDir, s.env.Context, rb.Name)
}

// ReportPath is where run's report is written.
func (s *Service) ReportPath(run *OpenRun) string {
	if run.Report != "" {
		return run.Report
	}
	started := s.now()
	if run.State != nil {
		started = run.State.Started
	}
	return ReportPath(s.stateDir, run.Runbook.Name, started)
}

// Open returns rb's unfinished run, or a fresh one when there is none or the
// saved one belongs to another version of rb.
func (s *Service) Open(rb *Runbook) (*OpenRun, error) {
	if err := s.checkNames(rb); err != nil {
		return nil, err
	}
	st, err := LoadRunState(s.StatePath(rb), rb)
	if err != nil {
		return nil, err
	}
	return &OpenRun{Runbook: rb, State: st, Resumed: st != nil}, nil
}

// Restart discards rb's saved run and returns a fresh one.
func (s *Service) Restart(rb *Runbook) (*OpenRun, error) {
	if err := s.checkNames(rb); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.StatePath(rb)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return &OpenRun{Runbook: rb}, nil
}

// Next runs the next step of run; a pending or refused last step is tried again.
func (s *Service) Next(ctx context.Context, run *OpenRun, op Operator) error {
	return s.steps(ctx, run, op, RunNextStep)
}

// RunAll runs the remaining steps of run, stopping at a pending or refused one
// so that the run resumes there.
func (s *Service) RunAll(ctx context.Context, run *OpenRun, op Operator) error {
	return s.steps(ctx, run, op, Run)
}

func (s *Service) steps(ctx context.Context, run *OpenRun, op Operator,
	do func(context.Context, Env, *Runbook, *RunState, string) (*RunState, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	env := s.env
	env.Confirm, env.Ack, env.AssumeYes, env.Progress = op.Confirm, op.Ack, op.AssumeYes, op.Progress
	st, err := do(ctx, env, run.Runbook, run.State, s.StatePath(run.Runbook))
	if st != nil {
		run.State = st
	}
	// The report follows the run even when the run stopped on an error.
	rerr := s.report(run)
	if err != nil {
		return err
	}
	return rerr
}

// Record appends the result of the next step when it ran outside the engine.
func (s *Service) Record(run *OpenRun, res StepResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if run.State == nil {
		run.State = &RunState{Runbook: run.Runbook.Name, Hash: run.Runbook.Hash, Context: s.env.Context, Started: res.Started}
	}
	st, err := RecordStep(run.Runbook, run.State, res, s.StatePath(run.Runbook))
	if st != nil {
		run.State = st
	}
	if err != nil {
		return err
	}
	return s.report(run)
}

// RecordAction records the next step, an action the operator ran and
// confirmed elsewhere (the console's action dialog, which audits it): passed
// when ok, failed otherwise.
func (s *Service) RecordAction(run *OpenRun, ok bool) error {
	step, err := s.nextStep(run)
	if err != nil {
		return err
	}
	if step.Action == nil {
		return fmt.Errorf("the next step of %s is not an action", run.Runbook.Name)
	}
	now := s.now()
	res := StepResult{ID: step.ID, Title: step.Title, Kind: step.Kind(), Started: now, Finished: now, Fix: step.Fix,
		Status: StepPass, Summary: "executed and verified in the action dialog (details in the audit log)"}
	if !ok {
		res.Status, res.Summary = StepFail, "failed or cancelled in the action dialog (details in the audit log)"
	}
	return s.Record(run, res)
}

// nextStep is the step a resumed run runs next: a trailing pending or
// refused step is asked again.
func (s *Service) nextStep(run *OpenRun) (Step, error) {
	done := 0
	if run.State != nil {
		done = len(run.State.Steps)
		for done > 0 && (run.State.Steps[done-1].Status == StepPending || run.State.Steps[done-1].Status == StepRefused) {
			done--
		}
	}
	if done >= len(run.Runbook.Steps) {
		return Step{}, fmt.Errorf("%s has no step left to run", run.Runbook.Name)
	}
	return run.Runbook.Steps[done], nil
}

func (s *Service) report(run *OpenRun) error {
	if run.State == nil {
		return nil
	}
	if err := WriteReport(s.ReportPath(run), run.Runbook, run.State); err != nil {
		return &ReportError{Err: err}
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.env.Now != nil {
		return s.env.Now()
	}
	return time.Now()
}

// CollectFrom takes one fresh snapshot of col per call, for Env.Collect.
// Without Prometheus, rates come from two scrapes of /metrics: the first call
// scrapes twice, a second apart.
func CollectFrom(col *collect.Collector) func(ctx context.Context) (state.Snapshot, error) {
	scraping := false
	for _, s := range col.Sources() {
		if strings.HasPrefix(s, "metrics-scrape") {
			scraping = true
		}
	}
	var mu sync.Mutex
	primed := false
	return func(ctx context.Context) (state.Snapshot, error) {
		mu.Lock()
		defer mu.Unlock()
		if scraping && !primed {
			col.CollectOnce(ctx)
			select {
			case <-ctx.Done():
				return state.Snapshot{}, ctx.Err()
			case <-time.After(time.Second):
			}
			primed = true
		}
		snap := col.CollectOnce(ctx)
		return snap, ctx.Err()
	}
}

// WritableSQL runs each query on the first server, configured primary first,
// that is not in recovery: after a promotion, the new primary. When none says
// so, the first server runs it and reports what is wrong.
type WritableSQL []SQLQuerier

func (w WritableSQL) QueryRows(ctx context.Context, query string) ([]string, [][]string, error) {
	for _, q := range w {
		if _, rows, err := q.QueryRows(ctx, "select pg_is_in_recovery()"); err == nil && len(rows) == 1 && len(rows[0]) == 1 && rows[0][0] == "f" {
			return q.QueryRows(ctx, query)
		}
	}
	return w[0].QueryRows(ctx, query)
}
