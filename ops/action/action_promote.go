package action

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// PGStatus is one PostgreSQL server's recovery state.
type PGStatus struct {
	InRecovery   bool
	ReplayPaused bool
	// CurrentLSN on a primary; ReceiveLSN and ReplayLSN on a standby.
	CurrentLSN string
	ReceiveLSN string
	ReplayLSN  string
	// LastReplay is the commit time of the last replayed transaction.
	LastReplay time.Time
	// ServerTime when the status was read (lag is measured on the server's clock).
	ServerTime time.Time
	ReadOnly   bool // default_transaction_read_only
	// StandbyReplayLag, on a primary, is the largest replay_lag its streaming
	// standbys report (pg_stat_replication), in seconds; 0 when caught up.
	StandbyReplayLag float64
}

// PostgresNode reads a server's recovery state.
type PostgresNode interface {
	PGStatus(ctx context.Context) (PGStatus, error)
}

// Fencer stops an old primary from taking writes.
type Fencer interface {
	Fence(ctx context.Context) (string, error) // returns what was done
}

// Promoter promotes a standby and reports where it listens.
type Promoter interface {
	// Promote runs pg_promote and waits until the server has left recovery.
	Promote(ctx context.Context, resumeReplay bool) error
	// WaitWritable returns once a transaction that needs a write xid succeeds.
	WaitWritable(ctx context.Context) error
	// Endpoint is the host and port clients use.
	Endpoint() (host string, port int)
}

// EnvSetter changes a Deployment's container env (repointing the platform).
type EnvSetter interface {
	// SetDeploymentEnv returns ErrNotFound when the Deployment does not exist.
	SetDeploymentEnv(ctx context.Context, deployment string, env map[string]string, dryRun bool) (changed bool, err error)
	DeploymentEnv(ctx context.Context, deployment string) (map[string]string, error)
}

// RedisPromoter promotes a Redis replica (REPLICAOF NO ONE).
type RedisPromoter interface {
	RedisRole(ctx context.Context) (string, error) // master, slave
	PromoteReplica(ctx context.Context) error
}

// ReplicaReporter reports ClickHouse replica health.
type ReplicaReporter interface {
	ReplicaReport(ctx context.Context) ([]state.CHReplica, error)
}

// MaxStandbyLagBytes is the DR gate's limit on WAL not yet replayed.
const MaxStandbyLagBytes = 16 << 20

// ParseLSN turns "16/B374D848" into a byte position.
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("LSN %q is not X/Y", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("LSN %q: %w", s, err)
	}
	return h<<32 | l, nil
}

func lsnDiff(a, b string) (int64, error) {
	x, err := ParseLSN(a)
	if err != nil {
		return 0, err
	}
	y, err := ParseLSN(b)
	if err != nil {
		return 0, err
	}
	return int64(x) - int64(y), nil
}

type promoteAction struct{}

func (promoteAction) params() []ParamSpec {
	return []ParamSpec{{Name: ParamRebuildOld, Type: ParamBool, Default: "false",
		Help: "afterwards rebuild the old primary as a streaming standby of the new one (local installations)"}}
}

// promoteRegions is promote's view of the regions, read from live state: the
// config's roles go stale with every promote done elsewhere.
type promoteRegions struct {
	target      config.RegionConfig
	targetState pgRegion
	old         *config.RegionConfig // the current primary region, when one is known
	oldStatus   *PGStatus            // nil when it is unreachable
	primaryHow  string               // how the current primary was determined
	splitBrain  []string
	// rebuild: the target is a fenced or stopped former primary; it is rebuilt
	// as a standby of the current primary before it is promoted.
	rebuild       bool
	rebuildMethod string
	rebuildErr    error
	// rebuildOld: after the promote, the old primary is rebuilt as a standby.
	rebuildOld       bool
	rebuildOldMethod string
	rebuildOldErr    error
}

func parsePromote(ctx context.Context, a *Service, req Request) (promoteRegions, error) {
	var pr promoteRegions
	if req.Target == "" {
		return pr, Invalidf("promote needs a REGION")
	}
	t, err := a.region(req.Target)
	if err != nil {
		return pr, err
	}
	if t.Postgres == nil {
		return pr, Invalidf("region %q has no PostgreSQL endpoint to promote", t.Name)
	}
	pr.target = t
	ps, err := paramsOf(req)
	if err != nil {
		return pr, err
	}
	pr.rebuildOld = ps.bool(ParamRebuildOld)
	states := readPGRegions(ctx, a)
	for _, s := range states {
		if s.Region.Name == t.Name {
			pr.targetState = s
		}
	}
	prim, how, split := livePrimary(states)
	pr.splitBrain = split
	if prim != nil && prim.Region.Name != t.Name {
		r := prim.Region
		pr.old, pr.oldStatus, pr.primaryHow = &r, prim.Status, how
	}
	ts := pr.targetState
	if ts.Status == nil || !ts.Status.InRecovery && ts.Status.ReadOnly {
		pr.rebuild = true
		pr.rebuildMethod, pr.rebuildErr = rebuildMethod(ctx, a, t)
	}
	if pr.rebuildOld && pr.old != nil {
		pr.rebuildOldMethod, pr.rebuildOldErr = rebuildMethod(ctx, a, *pr.old)
	}
	return pr, nil
}

func rebuildMethod(ctx context.Context, a *Service, r config.RegionConfig) (string, error) {
	if r.Postgres.DataDir == "" {
		return "", fmt.Errorf("the context has no data-dir for %s's PostgreSQL: only a local installation can be rebuilt by promote", r.Name)
	}
	rb, err := capability[StandbyRebuilder](a, state.SystemPostgres, r)
	if err != nil {
		return "", err
	}
	return rb.RebuildMethod(ctx, r.Postgres.DataDir)
}

func (promoteAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	pr, err := parsePromote(ctx, a, req)
	if err != nil {
		return err
	}
	o := a.opts()
	p.Destructive = true
	p.ConfirmPhrase = pr.target.Name
	if len(pr.splitBrain) > 0 {
		p.Summary = fmt.Sprintf("promote %s refused: more than one region accepts writes", pr.target.Name)
		p.Checks = append(p.Checks, Check{Name: "single primary", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("regions %s all accept writes (split brain): fence all but one by hand before promoting", strings.Join(pr.splitBrain, ", "))})
		return nil
	}
	ts := pr.targetState
	if ts.writable() {
		p.Summary = fmt.Sprintf("region %s is already the primary: nothing to promote", pr.target.Name)
		p.Checks = append(p.Checks, Check{Name: "target not primary", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("region %s's PostgreSQL is out of recovery and accepts writes (pg_is_in_recovery() = false): it already is the primary", pr.target.Name)})
		return nil
	}
	if pr.old != nil {
		p.Checks = append(p.Checks, Check{Name: "current primary", Status: CheckPass, Detail: pr.old.Name + ", by " + pr.primaryHow})
	}
	var oldSt *PGStatus
	if pr.old != nil {
		if pr.oldStatus != nil {
			oldSt = pr.oldStatus
		} else {
			p.Checks = append(p.Checks, Check{Name: "old primary reachable", Status: CheckWarn, Detail: fmt.Sprintf("%s: unreachable: it cannot be fenced and data loss cannot be measured", pr.old.Name)})
		}
	} else {
		p.Warnings = append(p.Warnings, "no primary region with PostgreSQL in this context: nothing to fence, data loss unknown")
	}
	if pr.rebuild {
		switch {
		case pr.rebuildErr != nil:
			p.Summary = fmt.Sprintf("region %s's PostgreSQL is not a standby: nothing to promote", pr.target.Name)
			p.Checks = append(p.Checks, Check{Name: "standby in recovery", Status: CheckFail, Hard: true,
				Detail: ts.describe() + "; it cannot be rebuilt as a standby here: " + pr.rebuildErr.Error()})
			return nil
		case oldSt == nil || oldSt.InRecovery:
			p.Summary = fmt.Sprintf("region %s's PostgreSQL is not a standby and there is no primary to rebuild it from", pr.target.Name)
			p.Checks = append(p.Checks, Check{Name: "rebuild source", Status: CheckFail, Hard: true,
				Detail: ts.describe() + "; no reachable primary to rebuild it from"})
			return nil
		}
		p.Checks = append(p.Checks, Check{Name: "rebuild as standby", Status: CheckPass, Detail: ts.describe() + "; " + pr.rebuildMethod})
		p.Steps = append(p.Steps, fmt.Sprintf("rebuild %s's PostgreSQL (%s) as a streaming standby of %s: stop it, %s, start it, wait until it streams and catches up",
			pr.target.Name, pr.target.Postgres.DataDir, pr.old.Name, pr.rebuildMethod))
		if pr.target.Redis != nil && pr.old.Redis != nil {
			p.Steps = append(p.Steps, fmt.Sprintf("Redis in %s: REPLICAOF %s's (%s), wait for the link and the initial sync", pr.target.Name, pr.old.Name, pr.old.Redis.Addr))
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("the rebuild replaces %s's PostgreSQL data with a copy of %s's: anything written only to %s after it stopped being the primary is discarded",
			pr.target.Name, pr.old.Name, pr.target.Name))
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckPass, Detail: "none: the rebuilt standby catches up with " + pr.old.Name + " before the switch"})
	} else {
		st := ts.Status
		p.Checks = append(p.Checks, Check{Name: "standby in recovery", Status: CheckPass, Detail: fmt.Sprintf("received %s, replayed %s", st.ReceiveLSN, st.ReplayLSN)})
		if st.ReplayPaused {
			p.Checks = append(p.Checks, Check{Name: "replay running", Status: CheckFail,
				Detail: fmt.Sprintf("WAL replay is paused at %s: the standby is falling behind; --force resumes replay before promoting", st.ReplayLSN)})
		}
		// DR gate: lag, estimated data loss, last backup.
		if oldSt != nil && !oldSt.InRecovery {
			replayLag, _ := lsnDiff(oldSt.CurrentLSN, st.ReplayLSN)
			unreceived, _ := lsnDiff(oldSt.CurrentLSN, st.ReceiveLSN)
			// replay_lag as the primary measures it: time since the last commit
			// replayed would grow on an idle primary although nothing is behind.
			lagSec := 0.0
			if replayLag > 0 {
				lagSec = oldSt.StandbyReplayLag
			}
			detail := fmt.Sprintf("%s behind the primary (%s), replay lag %.1fs", present.Bytes(max(replayLag, 0)), oldSt.CurrentLSN, lagSec)
			status := CheckPass
			if replayLag > MaxStandbyLagBytes || lagSec > o.MaxStandbyLag.Seconds() {
				status = CheckFail
				detail += fmt.Sprintf("; above the gate (%s or %s)", present.Bytes(MaxStandbyLagBytes), o.MaxStandbyLag)
			}
			p.Checks = append(p.Checks, Check{Name: "standby lag", Status: status, Detail: detail})
			loss := Check{Name: "estimated data loss", Status: CheckPass, Detail: "none: the standby has received all WAL the primary wrote"}
			if unreceived > 0 {
				loss.Status = CheckWarn
				loss.Detail = fmt.Sprintf("%s of WAL not yet received; the promote fences the primary and waits briefly for it", present.Bytes(unreceived))
			}
			p.Checks = append(p.Checks, loss)
		} else {
			p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckWarn, Detail: "unknown: the old primary is not reachable"})
		}
	}
	if oldSt != nil {
		p.Steps = append(p.Steps, fmt.Sprintf("fence the old primary in %s (default_transaction_read_only=on, end client sessions)", pr.old.Name))
	}
	if b, err := backup.Last(backup.Dir(a.Config), state.SystemPostgres); err != nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: err.Error()})
	} else if b == nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: "no PostgreSQL backup in " + backup.Dir(a.Config)})
	} else {
		age := a.now().Sub(b.Finished)
		c := Check{Name: "last backup", Status: CheckPass, Detail: fmt.Sprintf("%s, %s old, WAL %s", b.ID, age.Round(time.Second), b.WALPosition)}
		if age > o.MaxBackupAge {
			c.Status = CheckWarn
			c.Detail += fmt.Sprintf(" (older than %s)", o.MaxBackupAge)
		}
		p.Checks = append(p.Checks, c)
	}
	p.Steps = append(p.Steps,
		fmt.Sprintf("promote the standby in %s: pg_promote() and wait for pg_is_in_recovery() = false", pr.target.Name),
		"repoint the platform: the API Deployment's POSTGRES_HOST/POSTGRES_PORT")
	if pr.target.Redis != nil {
		p.Steps = append(p.Steps, fmt.Sprintf("promote the Redis replica in %s (REPLICAOF NO ONE)", pr.target.Name))
	}
	if pr.target.ClickHouse != nil {
		p.Steps = append(p.Steps, "report ClickHouse replicas (ReplicatedMergeTree replicas take writes on every replica: nothing to promote)")
	}
	effect := fmt.Sprintf("writes go to %s's PostgreSQL; the old primary stays read-only and must be rebuilt as a standby", pr.target.Name)
	if pr.rebuildOld {
		switch {
		case pr.old == nil || oldSt == nil:
			p.Checks = append(p.Checks, Check{Name: "rebuild old primary", Status: CheckFail, Hard: true, Detail: "--" + ParamRebuildOld + ": there is no reachable old primary to rebuild"})
		case pr.rebuildOldErr != nil:
			p.Checks = append(p.Checks, Check{Name: "rebuild old primary", Status: CheckFail, Hard: true, Detail: "--" + ParamRebuildOld + ": " + pr.rebuildOldErr.Error()})
		default:
			p.Checks = append(p.Checks, Check{Name: "rebuild old primary", Status: CheckPass, Detail: pr.old.Name + ": " + pr.rebuildOldMethod})
			p.Steps = append(p.Steps, fmt.Sprintf("rebuild the old primary in %s as a streaming standby of %s (%s)", pr.old.Name, pr.target.Name, pr.rebuildOldMethod))
			if pr.old.Redis != nil && pr.target.Redis != nil {
				p.Steps = append(p.Steps, fmt.Sprintf("Redis in %s: REPLICAOF %s's (%s)", pr.old.Name, pr.target.Name, pr.target.Redis.Addr))
			}
			effect = fmt.Sprintf("writes go to %s's PostgreSQL; %s streams from it as its standby", pr.target.Name, pr.old.Name)
		}
	}
	p.Steps = append(p.Steps, "record the new roles in the context"+savedWhere(a))
	p.Summary = fmt.Sprintf("promote region %s to primary", pr.target.Name)
	if pr.rebuild {
		p.Summary = fmt.Sprintf("rebuild region %s as a standby of %s, then promote it to primary", pr.target.Name, pr.old.Name)
	}
	if pr.old != nil {
		p.Summary += fmt.Sprintf(" (%s is fenced)", pr.old.Name)
	}
	p.Effects = append(p.Effects, effect)
	return nil
}

func savedWhere(a *Service) string {
	if a.Config.Source == "" {
		return ""
	}
	return " and save them to " + a.Config.Source
}

func (promoteAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	run := &promoteRun{a: a, p: p, res: res, t0: a.now()} // confirmation: the clock for "time to writes" starts here
	// Live state again: the plan may be minutes old.
	pr, err := parsePromote(ctx, a, p.Request)
	if err != nil {
		return err
	}
	run.pr = pr
	if len(pr.splitBrain) > 0 {
		return Refusedf("regions %s all accept writes (split brain)", strings.Join(pr.splitBrain, ", "))
	}
	if pr.targetState.writable() {
		return Refusedf("region %s already is the primary", pr.target.Name)
	}
	if run.promoter, err = capability[Promoter](a, state.SystemPostgres, pr.target); err != nil {
		return err
	}
	run.host, run.port = run.promoter.Endpoint()
	if p.Request.DryRun {
		what := "fence the old primary, promote"
		if pr.rebuild {
			what = "rebuild " + pr.target.Name + " as a standby, fence the old primary, promote"
		}
		res.Summary = fmt.Sprintf("dry run: would %s %s (%s:%d), repoint the API and promote Redis", what, pr.target.Name, run.host, run.port)
		return nil
	}
	res.Measurements = map[string]float64{}
	if err := runPhases(ctx, run.phases(), res, progress); err != nil {
		return err
	}
	res.Summary = fmt.Sprintf("region %s promoted: PostgreSQL %s:%d accepts writes %.2fs after confirmation; API repointed in %d region(s); %s",
		pr.target.Name, run.host, run.port, run.writable.Sub(run.t0).Seconds(), run.repointed, run.roles.Detail)
	return nil
}

// promoteRun is one promote's state, passed from phase to phase.
type promoteRun struct {
	a   *Service
	p   *Plan
	res *Result
	pr  promoteRegions

	promoter  Promoter
	host      string
	port      int
	standby   PostgresNode
	standbySt PGStatus
	fencedAt  string    // the fenced primary's last LSN
	t0        time.Time // confirmation
	tf        time.Time // writes stopped
	writable  time.Time
	repointed int
	roles     Check
}

func (r *promoteRun) verified(c Check) { r.res.Verified = append(r.res.Verified, c) }

// phases are promote's steps in order; the ones that do not apply are
// skipped but counted, so progress reads the same on every run of a plan.
func (r *promoteRun) phases() []phase {
	pr := r.pr
	var ps []phase
	if pr.rebuild {
		ps = append(ps,
			phase{name: "rebuild", detail: fmt.Sprintf("%s as a standby of %s (%s)", pr.target.Name, nameOf(pr.old), pr.rebuildMethod), run: r.rebuildTarget},
			phase{name: "redis resync", detail: pr.target.Name + " REPLICAOF " + nameOf(pr.old), run: r.resyncTargetRedis})
	}
	ps = append(ps,
		phase{name: "fence", run: r.fence, quiet: true},
		phase{name: "catch up", run: r.catchUp, quiet: true},
		phase{name: "promote", detail: fmt.Sprintf("pg_promote() on %s:%d", r.host, r.port), run: r.promote},
		phase{name: "repoint", detail: fmt.Sprintf("POSTGRES_HOST=%s POSTGRES_PORT=%d", r.host, r.port), run: r.repoint},
		phase{name: "redis", detail: "REPLICAOF NO ONE in " + pr.target.Name, run: r.redis},
		phase{name: "verify", uncounted: true, run: r.verifyEndState})
	if pr.rebuildOld {
		ps = append(ps, phase{name: "rebuild old primary", detail: nameOf(pr.old) + " as a standby of " + pr.target.Name, run: r.rebuildOld})
	}
	// The roles follow: the next plan, the console and the runbooks start from them.
	ps = append(ps, phase{name: "roles", uncounted: true, run: func(context.Context, func(string)) error {
		r.roles = saveRoles(r.a, pr.target.Name)
		r.verified(r.roles)
		return nil
	}})
	return ps
}

func nameOf(r *config.RegionConfig) string {
	if r == nil {
		return ""
	}
	return r.Name
}

// rebuildTarget: a fenced or stopped former primary becomes a standby of the current one.
func (r *promoteRun) rebuildTarget(ctx context.Context, detail func(string)) error {
	pr := r.pr
	if pr.rebuildErr != nil {
		return Refusedf("region %s's PostgreSQL is not a standby and cannot be rebuilt here: %v", pr.target.Name, pr.rebuildErr)
	}
	if pr.old == nil || pr.oldStatus == nil || pr.oldStatus.InRecovery {
		return Refusedf("region %s's PostgreSQL is not a standby and there is no reachable primary to rebuild it from", pr.target.Name)
	}
	return rebuildStandby(ctx, r.a, pr.target, *pr.old, r.res, detail)
}

func (r *promoteRun) resyncTargetRedis(ctx context.Context, _ func(string)) error {
	if r.pr.target.Redis != nil && r.pr.old.Redis != nil {
		r.verified(resyncRedis(ctx, r.a, r.pr.target, *r.pr.old))
	}
	return nil
}

// fence the old primary where reachable. Writes stop here.
func (r *promoteRun) fence(ctx context.Context, detail func(string)) error {
	r.tf = time.Now()
	if r.pr.old == nil {
		return errSkipped
	}
	old := *r.pr.old
	detail("old primary in " + old.Name)
	f, ferr := capability[Fencer](r.a, state.SystemPostgres, old)
	what := ""
	if ferr == nil {
		what, ferr = f.Fence(ctx)
	}
	r.res.Measurements["fence_seconds"] = time.Since(r.tf).Seconds()
	if ferr != nil {
		r.verified(Check{Name: "old primary fenced", Status: CheckWarn, Detail: "not fenced: " + ferr.Error()})
		return nil
	}
	r.verified(Check{Name: "old primary fenced", Status: CheckPass, Detail: what})
	// The primary's last LSN, so the standby can receive everything before it is cut loose.
	if node, err := capability[PostgresNode](r.a, state.SystemPostgres, old); err == nil {
		if s, err := node.PGStatus(ctx); err == nil {
			r.fencedAt = s.CurrentLSN
		}
	}
	return nil
}

// catchUp waits for the standby to receive the fenced primary's last LSN.
func (r *promoteRun) catchUp(ctx context.Context, detail func(string)) error {
	var err error
	if r.standby, err = capability[PostgresNode](r.a, state.SystemPostgres, r.pr.target); err != nil {
		return err
	}
	if r.standbySt, err = r.standby.PGStatus(ctx); err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	if !r.standbySt.InRecovery {
		return Refusedf("region %s's PostgreSQL already left recovery", r.pr.target.Name)
	}
	if r.fencedAt == "" {
		return errSkipped
	}
	detail("waiting for the standby to receive " + r.fencedAt)
	_, werr := waitFor(ctx, 5*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		s, err := r.standby.PGStatus(ctx)
		if err != nil {
			return false, "", err
		}
		d, err := lsnDiff(r.fencedAt, s.ReceiveLSN)
		return err == nil && d <= 0, fmt.Sprintf("received %s of %s", s.ReceiveLSN, r.fencedAt), err
	})
	if werr != nil {
		r.verified(Check{Name: "no data loss", Status: CheckWarn, Detail: "standby did not receive all WAL before promote: " + werr.Error()})
	} else {
		r.verified(Check{Name: "no data loss", Status: CheckPass, Detail: "standby received WAL up to the fenced primary's " + r.fencedAt})
	}
	return nil
}

// promote the standby and wait until it accepts writes.
func (r *promoteRun) promote(ctx context.Context, _ func(string)) error {
	tp := time.Now()
	if err := r.promoter.Promote(ctx, r.standbySt.ReplayPaused && r.p.Request.Force); err != nil {
		return fmt.Errorf("promote %s: %w", r.pr.target.Name, err)
	}
	if r.standbySt.ReadOnly {
		// A rebuilt server may carry a fence copied with its data.
		c := Check{Name: "fence lifted", Status: CheckPass}
		if u, err := capability[Unfencer](r.a, state.SystemPostgres, r.pr.target); err != nil {
			c.Status, c.Detail = CheckFail, err.Error()
		} else if what, err := u.Unfence(ctx); err != nil {
			c.Status, c.Detail = CheckFail, err.Error()
		} else {
			c.Detail = what
		}
		r.verified(c)
	}
	if err := r.promoter.WaitWritable(ctx); err != nil {
		return fmt.Errorf("new primary in %s does not accept writes: %w", r.pr.target.Name, err)
	}
	r.writable = r.a.now()
	m := r.res.Measurements
	m["promote_seconds"] = time.Since(tp).Seconds()
	m["confirm_to_writes_seconds"] = r.writable.Sub(r.t0).Seconds()
	m["write_pause_seconds"] = time.Since(r.tf).Seconds()
	r.verified(Check{Name: "new primary accepts writes", Status: CheckPass,
		Detail: fmt.Sprintf("%s:%d, %.3fs after confirmation, %.3fs after writes stopped", r.host, r.port, r.writable.Sub(r.t0).Seconds(), time.Since(r.tf).Seconds())})
	return nil
}

// repoint the platform in every region that runs the API.
func (r *promoteRun) repoint(ctx context.Context, _ func(string)) error {
	env := map[string]string{"POSTGRES_HOST": r.host, "POSTGRES_PORT": strconv.Itoa(r.port)}
	for _, reg := range r.a.Config.Regions {
		if reg.Kube == nil {
			continue
		}
		name := "repoint " + reg.Name
		es, err := capability[EnvSetter](r.a, state.SystemKube, reg)
		if err != nil {
			r.verified(Check{Name: name, Status: CheckWarn, Detail: err.Error()})
			continue
		}
		dep := serviceDeployments["api"]
		_, err = es.SetDeploymentEnv(ctx, dep, env, false)
		switch {
		case errors.Is(err, ErrNotFound):
			r.verified(Check{Name: name, Status: CheckWarn, Detail: dep + " does not run in " + reg.Name})
			continue
		case err != nil:
			r.verified(Check{Name: name, Status: CheckFail, Detail: err.Error()})
			continue
		}
		got, err := es.DeploymentEnv(ctx, dep)
		if err != nil || got["POSTGRES_HOST"] != r.host || got["POSTGRES_PORT"] != strconv.Itoa(r.port) {
			r.verified(Check{Name: name, Status: CheckFail, Detail: fmt.Sprintf("%s env after update: %v %v", dep, got, err)})
			continue
		}
		r.repointed++
		r.verified(Check{Name: name, Status: CheckPass, Detail: fmt.Sprintf("%s: POSTGRES_HOST=%s POSTGRES_PORT=%d", dep, r.host, r.port)})
	}
	return nil
}

// redis promotes the region's replica; ClickHouse is reported (nothing to promote).
func (r *promoteRun) redis(ctx context.Context, _ func(string)) error {
	if r.pr.target.Redis != nil {
		r.verified(promoteRedis(ctx, r.a, r.pr.target))
	}
	if r.pr.target.ClickHouse != nil {
		r.verified(reportClickHouse(ctx, r.a, r.pr.target))
	}
	return nil
}

// verifyEndState: the new primary left recovery, the old one is read-only.
func (r *promoteRun) verifyEndState(ctx context.Context, _ func(string)) error {
	if s, err := r.standby.PGStatus(ctx); err != nil || s.InRecovery {
		r.verified(Check{Name: "new primary out of recovery", Status: CheckFail, Detail: fmt.Sprintf("in recovery %v, %v", s.InRecovery, err)})
	} else {
		r.verified(Check{Name: "new primary out of recovery", Status: CheckPass, Detail: "pg_is_in_recovery() = false at " + s.CurrentLSN})
	}
	if r.pr.old == nil {
		return nil
	}
	if node, err := capability[PostgresNode](r.a, state.SystemPostgres, *r.pr.old); err == nil {
		if s, err := node.PGStatus(ctx); err == nil {
			c := Check{Name: "old primary read-only", Status: CheckPass, Detail: "default_transaction_read_only = on"}
			if !s.ReadOnly && !s.InRecovery {
				c.Status, c.Detail = CheckWarn, "the old primary still accepts writes"
			}
			r.verified(c)
		}
	}
	return nil
}

// rebuildOld makes the old primary the new primary's standby, when asked.
func (r *promoteRun) rebuildOld(ctx context.Context, detail func(string)) error {
	pr := r.pr
	name := "rebuilt " + pr.old.Name + " as standby"
	if pr.rebuildOldErr != nil {
		r.verified(Check{Name: name, Status: CheckFail, Detail: pr.rebuildOldErr.Error()})
	} else if err := rebuildStandby(ctx, r.a, *pr.old, pr.target, r.res, detail); err != nil {
		if checkByNamePrefix(r.res.Verified, "rebuilt "+pr.old.Name) == nil {
			r.verified(Check{Name: name, Status: CheckFail, Detail: err.Error()})
		}
	}
	if pr.old.Redis != nil && pr.target.Redis != nil {
		r.verified(resyncRedis(ctx, r.a, *pr.old, pr.target))
	}
	return nil
}

func checkByNamePrefix(checks []Check, prefix string) *Check {
	for i := range checks {
		if strings.HasPrefix(checks[i].Name, prefix) {
			return &checks[i]
		}
	}
	return nil
}

func promoteRedis(ctx context.Context, a *Service, r config.RegionConfig) Check {
	c := Check{Name: "redis primary"}
	rp, err := capability[RedisPromoter](a, state.SystemRedis, r)
	if err != nil {
		c.Status, c.Detail = CheckWarn, err.Error()
		return c
	}
	role, err := rp.RedisRole(ctx)
	if err != nil {
		c.Status, c.Detail = CheckFail, err.Error()
		return c
	}
	if role != "master" {
		if err := rp.PromoteReplica(ctx); err != nil {
			c.Status, c.Detail = CheckFail, "REPLICAOF NO ONE: "+err.Error()
			return c
		}
	}
	role, err = rp.RedisRole(ctx)
	if err != nil || role != "master" {
		c.Status, c.Detail = CheckFail, fmt.Sprintf("role after promote: %q %v", role, err)
		return c
	}
	c.Status, c.Detail = CheckPass, "Redis in "+r.Name+" is master"
	return c
}

func reportClickHouse(ctx context.Context, a *Service, r config.RegionConfig) Check {
	c := Check{Name: "clickhouse replicas"}
	rr, err := capability[ReplicaReporter](a, state.SystemClickHouse, r)
	if err != nil {
		c.Status, c.Detail = CheckWarn, err.Error()
		return c
	}
	reps, err := rr.ReplicaReport(ctx)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "not reported: "+err.Error()
		return c
	}
	var parts []string
	c.Status = CheckPass
	for _, x := range reps {
		s := fmt.Sprintf("%s %s.%s delay %.0fs queue %d", x.Replica, x.Database, x.Table, x.AbsoluteDelay, x.QueueSize)
		if x.IsReadonly || x.SessionExpired {
			s += " READ-ONLY"
			c.Status = CheckWarn
		}
		parts = append(parts, s)
	}
	c.Detail = "replicated tables take writes on every replica; " + strings.Join(parts, "; ")
	return c
}
