package common

import (
	"context"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// RunbookRunner runs runbooks step by step for the Runbooks view; the
// runbooks engine (ops) implements it through ui.RunbookRunnerFromOps.
type RunbookRunner interface {
	// Open returns the runbook and its unfinished run (nil when there is none).
	Open(ctx context.Context, name string) (*runbook.Runbook, *runbook.RunState, error)
	// Next runs the next step; ack ticks off a manual step.
	Next(ctx context.Context, name string, ack bool) (*runbook.RunState, error)
	// Record records the outcome of the next step when it is an action the
	// operator confirmed in the action dialog.
	Record(ctx context.Context, name string, ok bool) (*runbook.RunState, error)
	// Restart forgets the unfinished run.
	Restart(ctx context.Context, name string) error
}

// RunbookMsg carries a runner's answer to the Runbooks view.
type RunbookMsg struct {
	Name    string
	Runbook *runbook.Runbook
	Run     *runbook.RunState
	Err     error
}
