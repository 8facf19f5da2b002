package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops"
	"github.com/wotr/wotr-tui/ui/common"
)

// RunbookRunnerFromOps runs runbooks step by step with the ops engine: the
// same state files (resumable from the CLI and back) and the same Markdown
// report as `wotr-tui runbook run`. env opens what steps read, once, on the
// first step. Actions are never confirmed here: the Runbooks view sends them
// through the action dialog and records the outcome.
func RunbookRunnerFromOps(contextName, stateDir string, load func() ([]*ops.Runbook, error), env func(ctx context.Context) (ops.RunbookEnv, error)) common.RunbookRunner {
	return &opsRunner{context: contextName, stateDir: stateDir, load: load, openEnv: env}
}

type opsRunner struct {
	context  string
	stateDir string
	load     func() ([]*ops.Runbook, error)
	openEnv  func(ctx context.Context) (ops.RunbookEnv, error)

	mu     sync.Mutex // one step at a time, and env opened once
	env    *ops.RunbookEnv
	envErr error
}

// ErrConfirmInDialog refuses an action step run without the dialog.
var ErrConfirmInDialog = errors.New("confirm actions in the action dialog (press x)")

func (r *opsRunner) find(name string) (*ops.Runbook, error) {
	all, err := r.load()
	if err != nil {
		return nil, err
	}
	return ops.FindRunbook(all, name)
}

func (r *opsRunner) statePath(name string) string {
	return ops.RunStatePath(r.stateDir, r.context, name)
}

func (r *opsRunner) Open(_ context.Context, name string) (*ops.Runbook, *ops.RunState, error) {
	rb, err := r.find(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := ops.LoadRunState(r.statePath(name), rb)
	return rb, st, err
}

func (r *opsRunner) Next(ctx context.Context, name string, ack bool) (*ops.RunState, error) {
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
	env.Ack = func(ops.Step) (bool, error) { return ack, nil }
	env.Confirm = func(*ops.Plan) (string, error) { return "", ErrConfirmInDialog }
	st, err = ops.RunNextStep(ctx, env, rb, st, r.statePath(name))
	if st != nil {
		r.report(rb, st)
	}
	return st, err
}

func (r *opsRunner) Record(ctx context.Context, name string, ok bool) (*ops.RunState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rb, st, err := r.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &ops.RunState{Runbook: rb.Name, Hash: rb.Hash, Context: r.context, Started: time.Now()}
	}
	done := len(st.Steps)
	for done > 0 && (st.Steps[done-1].Status == ops.StepPending || st.Steps[done-1].Status == ops.StepRefused) {
		done--
	}
	if done >= len(rb.Steps) || rb.Steps[done].Action == nil {
		return st, fmt.Errorf("the next step of %s is not an action", name)
	}
	step := rb.Steps[done]
	now := time.Now()
	res := ops.StepResult{ID: step.ID, Title: step.Title, Kind: step.Kind(), Started: now, Finished: now, Fix: step.Fix,
		Status: ops.StepPass, Summary: "executed and verified in the action dialog (details in the audit log)"}
	if !ok {
		res.Status, res.Summary = ops.StepFail, "failed or cancelled in the action dialog (details in the audit log)"
	}
	st, err = ops.RecordStep(rb, st, res, r.statePath(name))
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
func (r *opsRunner) report(rb *ops.Runbook, st *ops.RunState) {
	_ = ops.WriteRunbookReport(ops.RunbookReportPath(r.stateDir, rb.Name, st.Started), rb, st)
}
