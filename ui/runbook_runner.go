package ui

import (
	"context"
	"errors"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui/common"
)

// RunbookRunnerFromOps runs runbooks step by step with the ops runbook
// service: the same state files (resumable from the CLI and back) and the
// same Markdown report as `wotr-tui runbook run`. Actions are never confirmed
// here: the Runbooks view sends them through the action dialog and records
// the outcome.
func RunbookRunnerFromOps(svc *runbook.Service, load func() ([]*runbook.Runbook, error)) common.RunbookRunner {
	return &opsRunner{svc: svc, load: load}
}

type opsRunner struct {
	svc  *runbook.Service
	load func() ([]*runbook.Runbook, error)
}

// ErrConfirmInDialog refuses an action step run without the dialog.
var ErrConfirmInDialog = errors.New("confirm actions in the action dialog (press x)")

// open reads the runbook and its saved run afresh each time: the CLI may
// have moved the run on in between.
func (r *opsRunner) open(name string) (*runbook.OpenRun, error) {
	all, err := r.load()
	if err != nil {
		return nil, err
	}
	rb, err := runbook.Find(all, name)
	if err != nil {
		return nil, err
	}
	return r.svc.Open(rb)
}

func (r *opsRunner) Open(_ context.Context, name string) (*runbook.Runbook, *runbook.RunState, error) {
	run, err := r.open(name)
	if err != nil {
		return nil, nil, err
	}
	return run.Runbook, run.State, nil
}

func (r *opsRunner) Next(ctx context.Context, name string, ack bool) (*runbook.RunState, error) {
	run, err := r.open(name)
	if err != nil {
		return nil, err
	}
	err = r.svc.Next(ctx, run, runbook.Operator{
		Ack:     func(runbook.Step) (bool, error) { return ack, nil },
		Confirm: func(*action.Plan) (string, error) { return "", ErrConfirmInDialog },
	})
	return run.State, ignoreReport(err)
}

func (r *opsRunner) Record(_ context.Context, name string, ok bool) (*runbook.RunState, error) {
	run, err := r.open(name)
	if err != nil {
		return nil, err
	}
	err = r.svc.RecordAction(run, ok)
	return run.State, ignoreReport(err)
}

func (r *opsRunner) Restart(_ context.Context, name string) error {
	all, err := r.load()
	if err != nil {
		return err
	}
	rb, err := runbook.Find(all, name)
	if err != nil {
		return err
	}
	_, err = r.svc.Restart(rb)
	return err
}

// ignoreReport: the run's state is saved; the report is rewritten on the next step.
func ignoreReport(err error) error {
	var rerr *runbook.ReportError
	if errors.As(err, &rerr) {
		return nil
	}
	return err
}
