package action

import (
	"context"
	"strings"
	"time"
)

// Request names an action and its parameters, as typed by the operator.
type Request struct {
	Kind   Kind              `json:"kind"`
	Target string            `json:"target"` // deployment, topic, node, region, store
	Params map[string]string `json:"params,omitempty"`
	DryRun bool              `json:"dryRun,omitempty"`
	Force  bool              `json:"force,omitempty"`
	Reason string            `json:"reason,omitempty"` // required with Force; audited
}

// CheckStatus of one preflight or verify check.
type CheckStatus string

const (
	CheckPass CheckStatus = "pass"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
)

// Check is one preflight or verify check with its evidence.
type Check struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail"`
	// Hard failures cannot be overridden by --force (read-only context,
	// partition decrease).
	Hard bool `json:"hard,omitempty"`
}

// Plan is what an action will do, shown before confirmation.
type Plan struct {
	Request Request  `json:"request"`
	Context string   `json:"context"`
	Summary string   `json:"summary"`
	Steps   []string `json:"steps"`
	Checks  []Check  `json:"checks"`
	Effects []string `json:"effects"` // projected effect
	// Warnings the operator must read (e.g. key-to-partition mapping changes).
	Warnings []string `json:"warnings,omitempty"`
	// ConfirmPhrase is what the operator must type: "yes", or the region name for promote.
	ConfirmPhrase string `json:"confirmPhrase"`
	Destructive   bool   `json:"destructive"`
	// Blocked is true when a preflight check failed and Force was not given.
	Blocked bool `json:"blocked"`
	// OffsetReset is an offset reset's per-partition move.
	OffsetReset *OffsetReset `json:"offsetReset,omitempty"`
	// Inner is the plan an undo runs: the recorded way back.
	Inner *Plan `json:"inner,omitempty"`
}

// Progress is one event of a running action.
type Progress struct {
	Time   time.Time `json:"time"`
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
	Done   int       `json:"done"`
	Total  int       `json:"total"`
}

// Result of an executed action, after verification.
type Result struct {
	OK       bool          `json:"ok"`
	Summary  string        `json:"summary"`
	Verified []Check       `json:"verified,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNs"`
	Error    string        `json:"error,omitempty"`
	// Measurements such as "time to new primary accepting writes".
	Measurements map[string]float64 `json:"measurements,omitempty"`
	// Phases of a long action in the order they ran, with their timings.
	Phases []PhaseTiming `json:"phases,omitempty"`
	// OffsetReset is what an offset reset committed, previous offsets included.
	OffsetReset *OffsetReset `json:"offsetReset,omitempty"`
	// Undo is the request that reverses this action, from the state it found
	// (previous replicas, HPA bounds, offsets); nil when it cannot be undone.
	Undo *Request `json:"undo,omitempty"`
}

// Actor plans and executes actions. Implemented in ops by the action service;
// the UI and the CLI depend on this interface only.
type Actor interface {
	Plan(ctx context.Context, req Request) (*Plan, error)
	// Execute runs a confirmed plan. confirmation must equal plan.ConfirmPhrase.
	Execute(ctx context.Context, plan *Plan, confirmation string, progress func(Progress)) (*Result, error)
}

// Validate checks what every request must satisfy, whoever made it (CLI,
// console, runbook): a known kind, its parameters, and a reason for force.
func (r Request) Validate() error {
	if _, err := ParseParams(r.Kind, r.Params); err != nil {
		return err
	}
	if r.Force && strings.TrimSpace(r.Reason) == "" {
		return Invalidf("force needs a reason: overriding a check is audited with its reason")
	}
	return nil
}
