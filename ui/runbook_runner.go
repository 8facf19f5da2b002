package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui/common"
)

// RunbookRunnerFromOps runs runbooks step by step with the ops engine: the
// same state files (resumable from the CLI and back) and the same Markdown
// report as `wotr-tui runbook run`. env opens what steps read, once, on the
// first step. Actions are never confirmed here: the Runbooks view sends them
// through the action dialog and records the outcome.
func RunbookRunnerFromOps(contextName, stateDir string, load func() ([]*runbook.Runbook, error), env func(ctx context.Context) (runbook.Env, error)) common.RunbookRunner {
	return &opsRunner{context: contextName, stateDir: stateDir, load: load, openEnv: env}
}

type opsRunner struct {
	context  string
	stateDir string
	load     func() ([]*runbook.Runbook, error)
	openEnv  func(ctx context.Context) (runbook.Env, error)

	mu     sync.Mutex // one step at a time, and env opened once
	env    *runbook.Env
	envErr error
}

// ErrConfirmInDialog refuses an action step run without the dialog.
var ErrConfirmInDialog = errors.New("confirm actions in the action dialog (press x)")

func (r *opsRunner) find(name string) (*runbook.Runbook, error) {
	all, err := r.load()
	if err != nil {
		return nil, err
	}
	return runbook.Find(all, name)
}

func (r *opsRunner) statePath(name string) string {
	return runbook.RunStatePath(r.stateDir, r.context, name)
}

func (r *opsRunner) Open(_ context.Context, name string) (*runbook.Runbook, *runbook.RunState, error) {
	rb, err := r.find(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := runbook.LoadRunState(r.statePath(name), rb)
	return rb, st, err
}

func (r *opsRunner) Next(ctx context.Context, name string, ack bool) (*runbook.RunState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rb, st, err := r.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.env == nil && r.envErr == nil {
		e, err := r.openEnv(ctx)
		if err != nil {
			r.envErr = err
		} else {
			r.env = &e
		}
	}
	if r.envErr != nil {
		return st, r.envErr
	}
	env := *r.env
	env.Context = r.context
	env.AssumeYes = false
	env.Progress = nil
	env.Ack = func(runbook.Step) (bool, error) { return ack, nil }
	env.Confirm = func(*action.Plan) (string, error) { return "", ErrConfirmInDialog }
	st, err = runbook.RunNextStep(ctx, env, rb, st, r.statePath(name))
	if st != nil {
		r.report(rb, st)
	}
	return st, err
}

func (r *opsRunner) Record(ctx context.Context, name string, ok bool) (*runbook.RunState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rb, st, err := r.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &runbook.RunState{Runbook: rb.Name, Hash: rb.Hash, Context: r.context, Started: time.Now()}
	}
	done := len(st.Steps)
	for done > 0 && (st.Steps[done-1].Status == runbook.StepPending || st.Steps[done-1].Status == runbook.StepRefused) {
		done--
	}
	if done >= len(rb.Steps) || rb.Steps[done].Action == nil {
		return st, fmt.Errorf("the next step of %s is not an action", name)
	}
	step := rb.Steps[done]
	now := time.Now()
	res := runbook.StepResult{ID: step.ID, Title: step.Title, Kind: step.Kind(), Started: now, Finished: now, Fix: step.Fix,
		Status: runbook.StepPass, Summary: "executed and verified in the action dialog (details in the audit log)"}
	if !ok {
		res.Status, res.Summary = runbook.StepFail, "failed or cancelled in the action dialog (details in the audit log)"
	}
	st, err = runbook.RecordStep(rb, st, res, r.statePath(name))
	if st != nil {
		r.report(rb, st)
	}
	return st, err
}

func (r *opsRunner) Restart(_ context.Context, name string) error {
	err := os.Remove(r.statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// report rewrites the run's report after every step (same path for the whole run).
func (r *opsRunner) report(rb *runbook.Runbook, st *runbook.RunState) {
	_ = runbook.WriteReport(runbook.ReportPath(r.stateDir, rb.Name, st.Started), rb, st)
}
