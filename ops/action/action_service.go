package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// Errors an action returns, so the CLI can map them to exit codes and the TUI
// can tell a refusal from a failure.
var (
	// ErrInvalid: bad input (exit 2). Nothing was changed.
	ErrInvalid = errors.New("invalid request")
	// ErrRefused: a preflight check, a read-only context, a wrong confirmation or
	// a busy lock refused the action (exit 3). Nothing was changed.
	ErrRefused = errors.New("refused")
	// ErrBlocked: the system blocked a running action (a PodDisruptionBudget
	// refusing evictions). Reported as a block, exit 3.
	ErrBlocked = errors.New("blocked")
	// ErrNotFound: the named object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported: the context has no backend for a capability the action needs.
	ErrUnsupported = errors.New("capability not available")
)

// Invalidf wraps ErrInvalid with a message naming the value and the rule.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func Refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Kind names an action.
type Kind string

// Action kinds.
const (
	KindScale       Kind = "scale"
	KindPartitions  Kind = "partitions"
	KindDrain       Kind = "drain"
	KindCordon      Kind = "cordon"
	KindUncordon    Kind = "uncordon"
	KindPromote     Kind = "promote"
	KindBackup      Kind = "backup"
	KindOffsetReset Kind = "offset-reset"
	KindUndo        Kind = "undo"
)

// Kinds lists every action the service knows.
var Kinds = []Kind{KindScale, KindPartitions, KindDrain, KindCordon, KindUncordon, KindPromote, KindBackup, KindBackupVerify, KindRestore, KindRestoreSet, KindOffsetReset, KindUndo}

// Backends hands the actions a region's client of one system: "kube",
// "kafka", "postgres", "redis", "clickhouse" or "prom" (per-instance load, to
// verify a scale's load spread). The composition root (backends/wire) opens
// each client once per region, shares it with the collector and the runbooks,
// and closes it; the service never does. The client is checked for the
// capability interfaces an action needs (Scaler, Drainer, Promoter, ...), so an
// action is offered only where the capability exists.
type Backends interface {
	Client(system state.System, region config.RegionConfig) (any, error)
}

// BackendsFunc adapts a function to Backends.
type BackendsFunc func(system state.System, region config.RegionConfig) (any, error)

func (f BackendsFunc) Client(system state.System, region config.RegionConfig) (any, error) {
	return f(system, region)
}

// Options tunes waits; zero values take defaults.
type Options struct {
	// VerifyTimeout bounds waits for replicas ready, group rebalance, metadata.
	VerifyTimeout time.Duration
	// PDBBlockWait is how long a drain retries an eviction a PDB refuses before
	// reporting the block.
	PDBBlockWait time.Duration
	// DrainTimeout bounds a whole drain (kubectl's --timeout).
	DrainTimeout time.Duration
	// MaxStandbyLag is the DR gate's limit on replay lag.
	MaxStandbyLag time.Duration
	// MaxBackupAge is the DR gate's limit on the newest PostgreSQL backup.
	MaxBackupAge time.Duration
	// PollInterval between verification reads.
	PollInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.VerifyTimeout == 0 {
		o.VerifyTimeout = 2 * time.Minute
	}
	if o.PDBBlockWait == 0 {
		o.PDBBlockWait = 10 * time.Second
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 5 * time.Minute
	}
	if o.MaxStandbyLag == 0 {
		o.MaxStandbyLag = 30 * time.Second
	}
	if o.MaxBackupAge == 0 {
		o.MaxBackupAge = 26 * time.Hour
	}
	if o.PollInterval == 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	return o
}

// Service is the action service: it implements Actor for one context. The
// CLI verbs and the TUI both drive it.
type Service struct {
	Config   config.ContextConfig
	Backends Backends
	Audit    *audit.Log
	Options  Options
	// Who is recorded in the audit log; default: the OS user.
	Who string
	Now func() time.Time
}

var _ Actor = (*Service)(nil)

// NewService builds the service for a context. The audit log path comes from
// the context (or $XDG_STATE_HOME/wotr/audit.jsonl).
func NewService(cfg config.ContextConfig, b Backends) *Service {
	return &Service{Config: cfg, Backends: b, Audit: audit.NewLog(audit.PathFor(cfg))}
}

func (a *Service) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Service) opts() Options { return a.Options.withDefaults() }

func (a *Service) who() string {
	if a.Who != "" {
		return a.Who
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
}

// client is the backend of one system for one region.
func (a *Service) client(system state.System, r config.RegionConfig) (any, error) {
	if a.Backends == nil || !configured(system, r) {
		return nil, fmt.Errorf("%w: region %q has no %s endpoint", ErrUnsupported, r.Name, system)
	}
	c, err := a.Backends.Client(system, r)
	if err != nil {
		return nil, fmt.Errorf("%s client for region %s: %w", system, r.Name, err)
	}
	if c == nil {
		return nil, fmt.Errorf("%w: region %q has no %s client", ErrUnsupported, r.Name, system)
	}
	return c, nil
}

// configured reports whether region r names an endpoint of system.
func configured(system state.System, r config.RegionConfig) bool {
	switch system {
	case state.SystemKube:
		return r.Kube != nil
	case state.SystemKafka:
		return r.Kafka != nil
	case state.SystemPostgres:
		return r.Postgres != nil
	case state.SystemRedis:
		return r.Redis != nil
	case state.SystemClickHouse:
		return r.ClickHouse != nil
	case state.SystemPrometheus:
		return r.Prometheus != nil
	case state.SystemHAProxy:
		return r.HAProxy != nil
	}
	return false
}

// capability opens the system's client in region r and asserts capability T.
func capability[T any](a *Service, system state.System, r config.RegionConfig) (T, error) {
	var zero T
	c, err := a.client(system, r)
	if err != nil {
		return zero, err
	}
	t, ok := c.(T)
	if !ok {
		return zero, fmt.Errorf("%w: the %s backend cannot %T", ErrUnsupported, system, &zero)
	}
	return t, nil
}

// primaryCapability opens system in the first region, primary first, that has
// it and asserts capability T. The region comes back too (its group name, say).
func primaryCapability[T any](a *Service, system state.System) (T, config.RegionConfig, error) {
	r, err := a.primaryWith(system, "")
	if err != nil {
		var zero T
		return zero, r, err
	}
	t, err := capability[T](a, system, r)
	return t, r, err
}

// region returns the named region, or the primary when name is empty.
func (a *Service) region(name string) (config.RegionConfig, error) {
	var names []string
	for _, r := range a.Config.Regions {
		if name == "" && (r.Role == state.RolePrimary || r.Role == "") {
			return r, nil
		}
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	if name == "" {
		if len(a.Config.Regions) > 0 {
			return a.Config.Regions[0], nil
		}
		return config.RegionConfig{}, Invalidf("context %q has no regions", a.Config.Name)
	}
	return config.RegionConfig{}, Invalidf("region %q is not in context %q (regions: %s)", name, a.Config.Name, strings.Join(names, ", "))
}

// primaryWith returns the first region, primary first, that has the system configured.
func (a *Service) primaryWith(system state.System, want string) (config.RegionConfig, error) {
	if want != "" {
		return a.region(want)
	}
	for _, r := range a.Config.RegionsPrimaryFirst() {
		if configured(system, r) {
			return r, nil
		}
	}
	return config.RegionConfig{}, fmt.Errorf("%w: context %q has no %s endpoint", ErrUnsupported, a.Config.Name, system)
}

// actionImpl is one action: its parameters, and its plan and execute halves.
type actionImpl interface {
	params() []ParamSpec
	plan(ctx context.Context, a *Service, req Request, p *Plan) error
	execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error
}

func implFor(kind Kind) (actionImpl, error) {
	switch kind {
	case KindScale:
		return scaleAction{}, nil
	case KindPartitions:
		return partitionsAction{}, nil
	case KindDrain:
		return drainAction{}, nil
	case KindCordon:
		return cordonAction{cordon: true}, nil
	case KindUncordon:
		return cordonAction{cordon: false}, nil
	case KindPromote:
		return promoteAction{}, nil
	case KindBackup:
		return backupAction{}, nil
	case KindOffsetReset:
		return offsetResetAction{}, nil
	case KindUndo:
		return undoAction{}, nil
	case KindBackupVerify:
		return verifyAction{}, nil
	case KindRestore:
		return restoreAction{}, nil
	case KindRestoreSet:
		return restoreSetAction{}, nil
	}
	known := make([]string, len(Kinds))
	for i, k := range Kinds {
		known[i] = string(k)
	}
	return nil, Invalidf("unknown action %q (known: %s)", kind, strings.Join(known, ", "))
}

// Plan reads state, runs the preflight checks and describes the effect. It
// changes nothing. Bad input returns ErrInvalid; failed checks set Blocked.
func (a *Service) Plan(ctx context.Context, req Request) (*Plan, error) {
	impl, err := implFor(req.Kind)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Request: req, Context: a.Config.Name, ConfirmPhrase: "yes"}
	if a.Config.ReadOnly {
		p.Summary = fmt.Sprintf("%s %s refused: context %q is read-only", req.Kind, req.Target, a.Config.Name)
		p.Checks = append(p.Checks, Check{Name: "read-only context", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("context %q is marked read-only; no action runs against it", a.Config.Name)})
		p.Blocked = true
		return p, nil
	}
	if err := impl.plan(ctx, a, req, p); err != nil {
		return nil, err
	}
	p.Blocked = blocked(p.Checks, req.Force)
	return p, nil
}

// blocked: any hard failure, or any failure without --force.
func blocked(checks []Check, force bool) bool {
	for _, c := range checks {
		if c.Status == CheckFail && (c.Hard || !force) {
			return true
		}
	}
	return false
}

// FailedChecks lists the checks that failed, for refusal messages.
func (p *Plan) FailedChecks() []Check {
	var out []Check
	for _, c := range p.Checks {
		if c.Status == CheckFail {
			out = append(out, c)
		}
	}
	return out
}

// Execute runs a confirmed plan, verifies it and audits it write-ahead: an
// intent record is fsynced before anything executes (if it cannot be, the
// action is refused and nothing changes) and a result record follows. A
// blocked plan or a confirmation that does not match is refused
// (ErrRefused) before execution, and the refusal is audited too.
func (a *Service) Execute(ctx context.Context, p *Plan, confirmation string, progress func(Progress)) (*Result, error) {
	start := a.now()
	res := &Result{Started: start}
	if progress == nil {
		progress = func(Progress) {}
	}
	emit := func(pr Progress) {
		if pr.Time.IsZero() {
			pr.Time = a.now()
		}
		progress(pr)
	}
	intent := ""
	finish := func(outcome string, err error) (*Result, error) {
		res.Duration = a.now().Sub(start)
		if err != nil {
			res.OK = false
			res.Error = err.Error()
			if res.Summary == "" {
				res.Summary = err.Error()
			}
		}
		if aerr := a.auditOutcome(intent, p, res, outcome); aerr != nil {
			// The intent is on record, so the action shows as interrupted;
			// it is reported as failed: the log is the record.
			err = errors.Join(err, fmt.Errorf("audit result: %w", aerr))
			res.OK = false
		}
		return res, err
	}
	if p == nil {
		return nil, Invalidf("no plan to execute")
	}
	impl, err := implFor(p.Request.Kind)
	if err != nil {
		return finish(audit.OutcomeRefused, err)
	}
	if p.Context != a.Config.Name {
		return finish(audit.OutcomeRefused, Refusedf("plan was made for context %q, this is %q", p.Context, a.Config.Name))
	}
	if a.Config.ReadOnly {
		return finish(audit.OutcomeRefused, Refusedf("context %q is read-only", a.Config.Name))
	}
	if blocked(p.Checks, p.Request.Force) {
		var why []string
		for _, c := range p.FailedChecks() {
			why = append(why, c.Name+": "+c.Detail)
		}
		return finish(audit.OutcomeRefused, Refusedf("preflight failed: %s", strings.Join(why, "; ")))
	}
	if !p.Request.DryRun && confirmation != p.ConfirmPhrase {
		return finish(audit.OutcomeRefused, Refusedf("confirmation %q does not match %q", confirmation, p.ConfirmPhrase))
	}
	if intent, err = a.auditIntent(p); err != nil {
		// No record, no action. The log cannot take a refusal record either.
		res.Duration = a.now().Sub(start)
		res.Error = fmt.Sprintf("audit intent not written, nothing was done: %v", err)
		res.Summary = res.Error
		return res, Refusedf("%s", res.Error)
	}
	err = impl.execute(context.WithValue(ctx, intentKey{}, intent), a, p, res, emit)
	if err != nil {
		outcome := audit.OutcomeFailed
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrBlocked) {
			outcome = audit.OutcomeRefused
		}
		return finish(outcome, err)
	}
	res.OK = true
	for _, c := range res.Verified {
		if c.Status == CheckFail {
			res.OK = false
		}
	}
	if !res.OK {
		var why []string
		for _, c := range res.Verified {
			if c.Status == CheckFail {
				why = append(why, c.Name+": "+c.Detail)
			}
		}
		return finish(audit.OutcomeFailed, fmt.Errorf("verification failed: %s", strings.Join(why, "; ")))
	}
	return finish(audit.OutcomeOK, nil)
}

// waitFor polls cond until it reports done, ctx ends or timeout passes. The
// last detail is returned with the timeout error.
func waitFor(ctx context.Context, timeout, every time.Duration, cond func(context.Context) (bool, string, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	last := ""
	for {
		ok, detail, err := cond(ctx)
		if detail != "" {
			last = detail
		}
		if err == nil && ok {
			return last, nil
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("timed out after %s: %s", timeout, last)
		case <-t.C:
		}
	}
}
