package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// SQLQuerier runs a read-only query and returns rows as strings.
type SQLQuerier interface {
	QueryRows(ctx context.Context, query string) (columns []string, rows [][]string, err error)
}

// KubeQuerier returns one object of the context's namespace (or a cluster-scoped
// one) decoded as generic JSON.
type KubeQuerier interface {
	GetObject(ctx context.Context, resource, name string) (map[string]any, error)
}

// LBServer is one backend server as the load balancer sees it.
type LBServer struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"` // UP, DOWN, MAINT, DRAIN
}

// LBReader lists the load balancer's backend servers.
type LBReader interface {
	Servers(ctx context.Context) ([]LBServer, error)
}

// Env is everything a runbook step can read or do. Nil members make the
// steps that need them report "error: <source> not configured".
type Env struct {
	Context string
	// Collect takes a fresh snapshot of the platform.
	Collect func(ctx context.Context) (state.Snapshot, error)
	Prom    state.PromQuerier
	SQL     map[string]SQLQuerier // "postgres", "clickhouse"
	Kube    KubeQuerier
	LB      LBReader
	Actor   action.Actor
	// Confirm asks the operator for the plan's confirm phrase; nil means
	// non-interactive, and action steps are refused unless AssumeYes.
	Confirm func(plan *action.Plan) (string, error)
	// Ack asks the operator to tick off a manual step; nil with AssumeYes
	// records it as acknowledged, nil without it leaves it pending.
	Ack       func(step Step) (bool, error)
	AssumeYes bool
	// Progress receives each step result as it completes.
	Progress func(StepResult)
	// Now is injectable for tests.
	Now func() time.Time
	// Thresholds are the context's health table (config.ContextConfig.Health);
	// nil means the defaults. A step's explicit args still win.
	Thresholds *health.Thresholds
}

// StepStatus, ordered by Severity.
type StepStatus string

const (
	StepPass    StepStatus = "pass"
	StepWarn    StepStatus = "warn"
	StepPending StepStatus = "pending" // manual step not ticked off
	StepFail    StepStatus = "fail"
	StepError   StepStatus = "error" // could not evaluate (source down, bad query)
	StepRefused StepStatus = "refused"
)

// Severity orders step statuses, worst highest.
func (s StepStatus) Severity() int {
	switch s {
	case StepPass:
		return 0
	case StepWarn:
		return 1
	case StepPending:
		return 2
	case StepFail:
		return 3
	case StepError:
		return 4
	case StepRefused:
		return 5
	}
	return 0
}

// StepResult is one step's outcome with the evidence it captured.
type StepResult struct {
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Kind     string     `json:"kind"`
	Status   StepStatus `json:"status"`
	Summary  string     `json:"summary"`
	Evidence []string   `json:"evidence,omitempty"`
	Cause    string     `json:"cause,omitempty"`
	Fix      string     `json:"fix,omitempty"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
}

// RunState is a run in progress or finished; persisted after every step so an
// interrupted run resumes where it stopped.
type RunState struct {
	Runbook  string       `json:"runbook"`
	Hash     string       `json:"hash"`
	Context  string       `json:"context"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished,omitempty"`
	Steps    []StepResult `json:"steps"`
	// Diagnosis lists the causes of failed steps, worst first (diagnosis runbooks).
	Diagnosis []string   `json:"diagnosis,omitempty"`
	Worst     StepStatus `json:"worst"`
}

// Done reports whether every step has a result.
func (s *RunState) Done(rb *Runbook) bool { return len(s.Steps) >= len(rb.Steps) }

// RunStatePath is where a context's run of a runbook is persisted.
func RunStatePath(stateDir, context, runbook string) string {
	return filepath.Join(stateDir, "runs", context+"--"+runbook+".json")
}

// LoadRunState reads an unfinished run, or returns nil when there is none or it
// belongs to another version of the runbook.
func LoadRunState(path string, rb *Runbook) (*RunState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st RunState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("run state %s: %w", path, err)
	}
	if st.Hash != rb.Hash || !st.Finished.IsZero() {
		return nil, nil
	}
	return &st, nil
}

func saveRunState(path string, st *RunState) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return config.WritePrivate(path, data)
}

// Run executes the steps of rb that resume (if non-nil) has not done yet,
// persisting state to statePath after each step. A step whose result is pending
// (manual, not acknowledged) stops the run so that it resumes there.
func Run(ctx context.Context, env Env, rb *Runbook, resume *RunState, statePath string) (*RunState, error) {
	return runSteps(ctx, env, rb, resume, statePath, len(rb.Steps))
}

// RunNextStep runs only the next step of the run (the console's step-by-step
// mode); a pending or refused last step is tried again.
func RunNextStep(ctx context.Context, env Env, rb *Runbook, resume *RunState, statePath string) (*RunState, error) {
	return runSteps(ctx, env, rb, resume, statePath, 1)
}

// RecordStep appends the outcome of the next step when it ran outside the
// engine (an action confirmed in the console's action dialog) and saves the run.
func RecordStep(rb *Runbook, st *RunState, res StepResult, statePath string) (*RunState, error) {
	if st == nil {
		st = &RunState{Runbook: rb.Name, Hash: rb.Hash, Started: res.Started}
	}
	dropRetried(st)
	if len(st.Steps) >= len(rb.Steps) || rb.Steps[len(st.Steps)].ID != res.ID {
		return st, fmt.Errorf("runbook %s: step %q is not the next step", rb.Name, res.ID)
	}
	if step := rb.Steps[len(st.Steps)]; res.Status != StepPass && step.Cause != "" {
		res.Cause = step.Cause
	}
	st.Steps = append(st.Steps, res)
	finish(rb, st, res.Finished)
	return st, saveRunState(statePath, st)
}

// dropRetried removes a trailing pending (manual, not ticked) or refused
// (not confirmed, or refused by a preflight check) step: a resumed run asks again.
func dropRetried(st *RunState) {
	for len(st.Steps) > 0 {
		last := st.Steps[len(st.Steps)-1].Status
		if last != StepPending && last != StepRefused {
			return
		}
		st.Steps = st.Steps[:len(st.Steps)-1]
	}
}

// finish recomputes the worst status and the diagnosis, and marks the run
// finished once every step has a result and none is pending.
func finish(rb *Runbook, st *RunState, at time.Time) {
	st.Worst = StepPass
	st.Diagnosis = nil
	for _, r := range st.Steps {
		if r.Status.Severity() > st.Worst.Severity() {
			st.Worst = r.Status
		}
		if r.Cause != "" && (r.Status == StepFail || r.Status == StepWarn) {
			st.Diagnosis = append(st.Diagnosis, fmt.Sprintf("%s: %s", r.Cause, r.Summary))
		}
	}
	if st.Done(rb) && st.Worst != StepPending && st.Worst != StepRefused {
		st.Finished = at
	}
}

func runSteps(ctx context.Context, env Env, rb *Runbook, resume *RunState, statePath string, max int) (*RunState, error) {
	now := env.Now
	if now == nil {
		now = time.Now
	}
	st := resume
	if st == nil {
		st = &RunState{Runbook: rb.Name, Hash: rb.Hash, Context: env.Context, Started: now()}
	}
	dropRetried(st)
	var snap *state.Snapshot
	for i, ran := len(st.Steps), 0; i < len(rb.Steps) && ran < max; i, ran = i+1, ran+1 {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		step := rb.Steps[i]
		res := StepResult{ID: step.ID, Title: step.Title, Kind: step.Kind(), Started: now(), Fix: step.Fix}
		runStep(ctx, env, step, &snap, &res)
		if err := ctx.Err(); err != nil {
			// Interrupted mid-step: not a result; a resumed run runs it again.
			finish(rb, st, now())
			return st, err
		}
		res.Finished = now()
		if res.Status != StepPass && step.Cause != "" {
			res.Cause = step.Cause
		}
		st.Steps = append(st.Steps, res)
		if env.Progress != nil {
			env.Progress(res)
		}
		if err := saveRunState(statePath, st); err != nil {
			return st, err
		}
		// Actions change the platform: later checks must see the new state.
		if step.Action != nil {
			snap = nil
		}
		if res.Status == StepPending || res.Status == StepRefused {
			break
		}
	}
	finish(rb, st, now())
	return st, saveRunState(statePath, st)
}

func runStep(ctx context.Context, env Env, step Step, snap **state.Snapshot, res *StepResult) {
	failStatus := StepFail
	if step.Severity == "warn" {
		failStatus = StepWarn
	}
	switch {
	case step.Check != "":
		if *snap == nil {
			if env.Collect == nil {
				res.Status, res.Summary = StepError, "state: no collector configured"
				return
			}
			s, err := env.Collect(ctx)
			if err != nil {
				res.Status, res.Summary = StepError, "state: "+err.Error()
				return
			}
			*snap = &s
		}
		out := runbookChecks[step.Check](ctx, CheckInput{Env: env, Snapshot: **snap, Args: step.Args})
		res.Status, res.Summary, res.Evidence = out.Status, out.Summary, out.Evidence
		if res.Status == StepFail {
			res.Status = failStatus
		}
	case step.PromQL != "":
		if env.Prom == nil {
			res.Status, res.Summary = StepError, "prometheus: not configured for this context"
			return
		}
		samples, err := env.Prom.QueryVector(ctx, step.PromQL)
		if err != nil {
			res.Status, res.Summary = StepError, "prometheus: "+err.Error()
			return
		}
		res.Evidence = append(res.Evidence, "query: "+step.PromQL)
		var values []float64
		var names []string
		for _, s := range samples {
			values = append(values, s.Value)
			line := fmt.Sprintf("%s = %s", labelString(s.Labels), fmtFloat(s.Value))
			names = append(names, line)
			res.Evidence = append(res.Evidence, line)
		}
		expectValues(res, step.Expect, values, failStatus, names...)
	case step.SQL != nil:
		q := env.SQL[step.SQL.Store]
		if q == nil {
			res.Status, res.Summary = StepError, step.SQL.Store+": not configured for this context"
			return
		}
		cols, rows, err := q.QueryRows(ctx, step.SQL.Query)
		if err != nil {
			res.Status, res.Summary = StepError, step.SQL.Store+": "+err.Error()
			return
		}
		res.Evidence = append(res.Evidence, "query: "+strings.TrimSpace(step.SQL.Query), strings.Join(cols, " | "))
		var values []float64
		var names []string
		for _, r := range rows {
			res.Evidence = append(res.Evidence, strings.Join(r, " | "))
			names = append(names, strings.Join(r, " | "))
			if len(r) > 0 {
				v, err := strconv.ParseFloat(r[len(r)-1], 64)
				if err != nil {
					res.Status, res.Summary = StepError, fmt.Sprintf("last column %q is not a number", r[len(r)-1])
					return
				}
				values = append(values, v)
			}
		}
		expectValues(res, step.Expect, values, failStatus, names...)
	case step.Kube != nil:
		runKubeStep(ctx, env, step, res, failStatus)
	case step.Action != nil:
		runActionStep(ctx, env, step, res)
	case step.Manual != "":
		res.Evidence = []string{step.Manual}
		switch {
		case env.Ack != nil:
			ok, err := env.Ack(step)
			if err != nil {
				res.Status, res.Summary = StepError, err.Error()
			} else if ok {
				res.Status, res.Summary = StepPass, "ticked off by the operator"
			} else {
				res.Status, res.Summary = StepPending, "waiting for the operator"
			}
		case env.AssumeYes:
			res.Status, res.Summary = StepPass, "acknowledged (--yes)"
		default:
			res.Status, res.Summary = StepPending, "manual step: run interactively or with --yes to acknowledge"
		}
	}
}

func runKubeStep(ctx context.Context, env Env, step Step, res *StepResult, failStatus StepStatus) {
	if env.Kube == nil {
		res.Status, res.Summary = StepError, "kube: not configured for this context"
		return
	}
	obj, err := env.Kube.GetObject(ctx, step.Kube.Resource, step.Kube.Name)
	if err != nil {
		res.Status, res.Summary = StepError, "kube: "+err.Error()
		return
	}
	found := lookupPath(obj, strings.Split(step.Kube.Path, "."))
	res.Evidence = append(res.Evidence, fmt.Sprintf("%s/%s %s", step.Kube.Resource, step.Kube.Name, step.Kube.Path))
	var values []float64
	missing := 0
	for _, v := range found {
		if v == nil {
			missing++
			res.Evidence = append(res.Evidence, "  (absent)")
			continue
		}
		b, _ := json.Marshal(v)
		res.Evidence = append(res.Evidence, "  "+truncate(string(b), 160))
		if f, ok := v.(float64); ok {
			values = append(values, f)
		}
	}
	if len(found) == 0 || missing > 0 {
		res.Status, res.Summary = failStatus, fmt.Sprintf("%s absent on %s/%s", step.Kube.Path, step.Kube.Resource, step.Kube.Name)
		return
	}
	if step.Expect != "" {
		expectValues(res, step.Expect, values, failStatus)
		return
	}
	res.Status, res.Summary = StepPass, fmt.Sprintf("%s present (%d)", step.Kube.Path, len(found))
}

// lookupPath walks a generic JSON object; "*" fans out over a list. Missing
// fields yield nil entries so that "absent on one container" is visible.
func lookupPath(v any, path []string) []any {
	if len(path) == 0 || (len(path) == 1 && path[0] == "") {
		return []any{v}
	}
	switch t := v.(type) {
	case map[string]any:
		child, ok := t[path[0]]
		if !ok {
			return []any{nil}
		}
		return lookupPath(child, path[1:])
	case []any:
		if path[0] == "*" {
			var out []any
			for _, e := range t {
				out = append(out, lookupPath(e, path[1:])...)
			}
			return out
		}
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(t) {
			return []any{nil}
		}
		return lookupPath(t[i], path[1:])
	}
	return []any{nil}
}

func runActionStep(ctx context.Context, env Env, step Step, res *StepResult) {
	if env.Actor == nil {
		res.Status, res.Summary = StepError, "actions: not available for this context"
		return
	}
	// Parse refused these already; a runbook built in code meets the same rule.
	if err := action.RunbookRule(*step.Action); err != nil {
		res.Status, res.Summary = StepRefused, err.Error()
		return
	}
	plan, err := env.Actor.Plan(ctx, *step.Action)
	if err != nil {
		res.Status, res.Summary = StepError, "plan: "+err.Error()
		return
	}
	res.Evidence = append(res.Evidence, "plan: "+plan.Summary)
	for _, c := range plan.Checks {
		res.Evidence = append(res.Evidence, fmt.Sprintf("preflight %s: %s %s", c.Name, c.Status, c.Detail))
	}
	if plan.Blocked {
		res.Status, res.Summary = StepRefused, "refused by a preflight check"
		return
	}
	phrase := ""
	switch {
	case env.Confirm != nil:
		phrase, err = env.Confirm(plan)
		if err != nil {
			res.Status, res.Summary = StepRefused, "not confirmed: "+err.Error()
			return
		}
	case env.AssumeYes:
		phrase = plan.ConfirmPhrase
	default:
		res.Status, res.Summary = StepRefused, "action needs confirmation: run interactively or with --yes"
		return
	}
	result, err := env.Actor.Execute(ctx, plan, phrase, func(p action.Progress) {
		res.Evidence = append(res.Evidence, fmt.Sprintf("%s %s %s", p.Time.Format("15:04:05"), p.Step, p.Detail))
	})
	if err != nil {
		res.Status, res.Summary = StepFail, err.Error()
		return
	}
	for _, c := range result.Verified {
		res.Evidence = append(res.Evidence, fmt.Sprintf("verify %s: %s %s", c.Name, c.Status, c.Detail))
	}
	if result.OK {
		res.Status, res.Summary = StepPass, result.Summary
	} else {
		res.Status, res.Summary = StepFail, result.Summary+" "+result.Error
	}
}

// parseExpect parses "< 0.8", ">= 1", "== 0", "!= 0".
func parseExpect(s string) (op string, v float64, err error) {
	s = strings.TrimSpace(s)
	for _, o := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(s, o) {
			v, err := strconv.ParseFloat(strings.TrimSpace(s[len(o):]), 64)
			if err != nil {
				return "", 0, fmt.Errorf("expect %q: the value after %s must be a number", s, o)
			}
			return o, v, nil
		}
	}
	return "", 0, fmt.Errorf("expect %q: must start with one of <, <=, >, >=, ==, != followed by a number", s)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "==":
		return a == b
	case "!=":
		return a != b
	}
	return false
}

// expectValues passes when there is at least one value and every value meets
// the expectation; no data is a failure, since a check that sees nothing proves
// nothing. names (one per value, when given) name the offenders in the summary.
func expectValues(res *StepResult, expect string, values []float64, failStatus StepStatus, names ...string) {
	op, want, _ := parseExpect(expect)
	if len(values) == 0 {
		res.Status, res.Summary = failStatus, "no data returned"
		return
	}
	var offenders []string
	for i, v := range values {
		if !compare(op, v, want) {
			if i < len(names) && len(names) == len(values) {
				offenders = append(offenders, names[i])
			} else {
				offenders = append(offenders, fmtFloat(v))
			}
		}
	}
	if bad := len(offenders); bad > 0 {
		if bad > 3 {
			offenders = append(offenders[:3], fmt.Sprintf("and %d more", bad-3))
		}
		res.Status, res.Summary = failStatus, fmt.Sprintf("%d of %d values not %s: %s", bad, len(values), expect, strings.Join(offenders, "; "))
		return
	}
	res.Status, res.Summary = StepPass, fmt.Sprintf("all %d values %s", len(values), expect)
}

func labelString(l map[string]string) string {
	if len(l) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// StateDir is $XDG_STATE_HOME/wotr ($HOME/.local/state/wotr when
// unset): runs/ holds resumable run state, reports/ the Markdown reports.
func StateDir() string { return filepath.Join(config.StateHome(), "wotr") }

// ReportPath is the default report path of a run started at t.
func ReportPath(stateDir, runbook string, t time.Time) string {
	return filepath.Join(stateDir, "reports", runbook+"-"+t.UTC().Format("20060102T150405Z")+".md")
}

// ExitCode maps the worst step status to the CLI's exit code: 0 pass or
// warn, 1 fail, error or pending, 3 refused.
func (s StepStatus) ExitCode() int {
	switch s {
	case StepPass, StepWarn, "":
		return 0
	case StepRefused:
		return 3
	}
	return 1
}
