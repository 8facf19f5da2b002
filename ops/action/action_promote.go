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

// ServerStop is a PostgreSQL server's state as its data dir tells it.
type ServerStop struct {
	Running bool
	// State is pg_controldata's "Database cluster state" of a stopped server.
	State string
	// Clean: a primary's clean shutdown; CheckpointLSN, the shutdown
	// checkpoint, is then the last WAL it wrote.
	Clean         bool
	CheckpointLSN string
}

// Fencer fences an old primary for a switchover: it stops the server so that
// no session of any role can write to it or undo the fence. It needs the
// server's data dir on this machine.
type Fencer interface {
	// FenceState says whether the server at dataDir runs, and how it stopped.
	FenceState(ctx context.Context, dataDir string) (ServerStop, error)
	// Fence stops the server at dataDir (fast shutdown) and returns its state.
	Fence(ctx context.Context, dataDir string) (ServerStop, error)
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
	return []ParamSpec{
		{Name: ParamRebuildOld, Type: ParamBool, Default: "false",
			Help: "afterwards rebuild the old primary as a streaming standby of the new one (local installations)"},
		{Name: ParamFailover, Type: ParamBool, Default: "false",
			Help: "promote although the old primary cannot be fenced (unreachable): a failover, which may lose its last writes; needs --force and --reason"},
	}
}

// catchUpTimeout bounds a switchover's wait for the standby to replay the
// fenced primary's last WAL; past it nothing is promoted without --force.
func catchUpTimeout(a *Service) time.Duration { return min(a.opts().VerifyTimeout, 30*time.Second) }

// promoteTimeout bounds the promotion phase (pg_promote, end of recovery, first write).
const promoteTimeout = 90 * time.Second

// promoteRegions is promote's view of the regions, read from live state: the
// config's roles go stale with every promote done elsewhere.
type promoteRegions struct {
	target      config.RegionConfig
	targetState pgRegion
	old         *config.RegionConfig // the current primary region, when one is known
	oldStatus   *PGStatus            // nil when it is unreachable
	primaryHow  string               // how the current primary was determined
	splitBrain  []string
	failover    bool
	// oldStop is the old primary's data dir state, when it can be fenced
	// (its data dir is on this machine); fenceErr says why it cannot.
	oldStop  *ServerStop
	fenceErr error
	// resume: the target already accepts writes and the old primary does not:
	// an earlier promote got past pg_promote; the remaining phases run.
	resume bool
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

// fenced: the old primary takes no writes now (stopped cleanly, or a standby).
func (pr promoteRegions) fenced() bool {
	return pr.oldStop != nil && !pr.oldStop.Running && pr.oldStop.Clean ||
		pr.oldStatus != nil && pr.oldStatus.InRecovery
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
	pr.failover = ps.bool(ParamFailover)
	states := readPGRegions(ctx, a)
	for _, s := range states {
		if s.Region.Name == t.Name {
			pr.targetState = s
		}
	}
	prim, how, split := livePrimary(states)
	pr.splitBrain = split
	switch {
	case prim != nil && prim.Region.Name != t.Name:
		r := prim.Region
		pr.old, pr.oldStatus, pr.primaryHow = &r, prim.Status, how
	case len(split) == 0 && pr.targetState.writable():
		// The target is the only writable server. The old primary is the other
		// region the config named primary, or else the other region.
		pr.resume = true
		for i := range states {
			s := states[i]
			if s.Region.Name == t.Name {
				continue
			}
			if pr.old == nil || s.Region.Role == state.RolePrimary {
				r := s.Region
				pr.old, pr.oldStatus, pr.primaryHow = &r, s.Status, "the region promote moves the primary role from"
			}
		}
	}
	if pr.old != nil {
		pr.oldStop, pr.fenceErr = fenceState(ctx, a, *pr.old)
	}
	ts := pr.targetState
	if !pr.resume && (ts.Status == nil || !ts.Status.InRecovery && ts.Status.ReadOnly) {
		pr.rebuild = true
		pr.rebuildMethod, pr.rebuildErr = rebuildMethod(ctx, a, t)
	}
	if pr.rebuildOld && pr.old != nil {
		pr.rebuildOldMethod, pr.rebuildOldErr = rebuildMethod(ctx, a, *pr.old)
	}
	return pr, nil
}

func fenceState(ctx context.Context, a *Service, r config.RegionConfig) (*ServerStop, error) {
	if r.Postgres.DataDir == "" {
		return nil, fmt.Errorf("the context has no data-dir for %s's PostgreSQL: the console fences a server by stopping it, which it can do only on this machine", r.Name)
	}
	f, err := capability[Fencer](a, state.SystemPostgres, r)
	if err != nil {
		return nil, err
	}
	st, err := f.FenceState(ctx, r.Postgres.DataDir)
	if err != nil {
		return nil, err
	}
	return &st, nil
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

// describeOld is the old primary's state, for checks.
func (pr promoteRegions) describeOld() string {
	switch {
	case pr.oldStatus != nil && pr.oldStatus.InRecovery:
		return pr.old.Name + ": a standby (in recovery)"
	case pr.oldStatus != nil:
		return pr.old.Name + ": running, accepts writes"
	case pr.oldStop != nil && pr.oldStop.Running:
		return pr.old.Name + ": running but not reachable over its DSN"
	case pr.oldStop != nil && pr.oldStop.Clean:
		return pr.old.Name + ": stopped cleanly (shutdown checkpoint at " + pr.oldStop.CheckpointLSN + ")"
	case pr.oldStop != nil:
		return fmt.Sprintf("%s: stopped without a clean shutdown (%s, last checkpoint %s)", pr.old.Name, pr.oldStop.State, pr.oldStop.CheckpointLSN)
	}
	return pr.old.Name + ": unreachable"
}

func (promoteAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	pr, err := parsePromote(ctx, a, req)
	if err != nil {
		return err
	}
	p.Destructive = true
	p.ConfirmPhrase = pr.target.Name
	if len(pr.splitBrain) > 0 {
		p.Summary = fmt.Sprintf("promote %s refused: more than one region accepts writes", pr.target.Name)
		p.Checks = append(p.Checks, Check{Name: "single primary", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("regions %s all accept writes (split brain): fence all but one by hand before promoting", strings.Join(pr.splitBrain, ", "))})
		return nil
	}
	if pr.resume {
		return planResume(ctx, a, pr, p)
	}
	if pr.old != nil {
		p.Checks = append(p.Checks, Check{Name: "current primary", Status: CheckPass, Detail: pr.old.Name + ", by " + pr.primaryHow})
	}
	var oldSt *PGStatus
	if pr.old != nil {
		if pr.oldStatus != nil {
			oldSt = pr.oldStatus
		}
		planFence(pr, p)
	} else {
		p.Warnings = append(p.Warnings, "no primary region with PostgreSQL in this context: nothing to fence, data loss unknown")
	}
	ts := pr.targetState
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
		what := ts.describe()
		if st, err := fenceState(ctx, a, pr.target); err == nil && !st.Running {
			what = fmt.Sprintf("%s: fenced, stopped (%s, last checkpoint %s)", pr.target.Name, st.State, st.CheckpointLSN)
		}
		p.Checks = append(p.Checks, Check{Name: "rebuild as standby", Status: CheckPass, Detail: what + "; " + pr.rebuildMethod})
		p.Steps = append(p.Steps, fmt.Sprintf("rebuild %s's PostgreSQL (%s) as a streaming standby of %s: stop it, %s, start it, wait until it streams and catches up",
			pr.target.Name, pr.target.Postgres.DataDir, pr.old.Name, pr.rebuildMethod))
		if pr.target.Redis != nil && pr.old.Redis != nil {
			p.Steps = append(p.Steps, fmt.Sprintf("Redis in %s: REPLICAOF %s's (%s), wait for the link and the initial sync", pr.target.Name, pr.old.Name, pr.old.Redis.Addr))
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("the rebuild replaces %s's PostgreSQL data with a copy of %s's: anything written only to %s after it stopped being the primary is discarded",
			pr.target.Name, pr.old.Name, pr.target.Name))
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckPass, Detail: "none: the rebuilt standby replays " + pr.old.Name + "'s last WAL before the switch"})
	} else {
		planDataLoss(a, pr, p)
	}
	if pr.old != nil && !pr.failover {
		p.Steps = append(p.Steps,
			fmt.Sprintf("fence the old primary in %s: stop it (fast shutdown: every session ends, no role can reconnect or undo it)", pr.old.Name),
			fmt.Sprintf("wait until %s has replayed the old primary's shutdown checkpoint (at most %s; nothing is promoted otherwise)", pr.target.Name, catchUpTimeout(a)))
	}
	planBackup(a, p)
	planRegions(ctx, a, pr, p)
	promoteSteps(a, pr, p)
	p.Summary = fmt.Sprintf("switch over: promote region %s to primary", pr.target.Name)
	if pr.failover {
		p.Summary = fmt.Sprintf("fail over: promote region %s to primary without fencing %s", pr.target.Name, nameOf(pr.old))
	}
	if pr.rebuild {
		p.Summary = fmt.Sprintf("rebuild region %s as a standby of %s, then switch over to it", pr.target.Name, pr.old.Name)
	}
	if pr.old != nil && !pr.failover {
		p.Summary += fmt.Sprintf(" (%s is stopped)", pr.old.Name)
	}
	return nil
}

// planFence judges whether the old primary can be fenced: a switchover needs
// it; a failover is for when it cannot be.
func planFence(pr promoteRegions, p *Plan) {
	old := pr.old.Name
	writable := pr.oldStatus != nil && !pr.oldStatus.InRecovery
	switch {
	case pr.failover && writable:
		p.Checks = append(p.Checks, Check{Name: "failover", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("--%s: the old primary in %s is reachable and accepts writes: promoting without fencing it makes two writable primaries; run a switchover (without --%s)", ParamFailover, old, ParamFailover)})
	case pr.failover && pr.fenced():
		p.Checks = append(p.Checks, Check{Name: "failover", Status: CheckPass, Detail: pr.describeOld() + ": it takes no writes"})
	case pr.failover:
		p.Checks = append(p.Checks, Check{Name: "failover", Status: CheckFail,
			Detail: fmt.Sprintf("%s; it cannot be fenced, so it may still take writes that are lost; --force with --reason promotes anyway", pr.describeOld())})
	case pr.fenced():
		p.Checks = append(p.Checks, Check{Name: "old primary fenced", Status: CheckPass, Detail: pr.describeOld()})
	case pr.oldStop != nil && pr.oldStop.Running:
		p.Checks = append(p.Checks, Check{Name: "old primary fenceable", Status: CheckPass,
			Detail: fmt.Sprintf("%s; it is stopped through its data dir %s", pr.describeOld(), pr.old.Postgres.DataDir)})
	case pr.oldStop != nil:
		p.Checks = append(p.Checks, Check{Name: "old primary fenceable", Status: CheckFail, Hard: true,
			Detail: pr.describeOld() + ": its last WAL is unknown, so a switchover cannot prove it loses nothing; --" + ParamFailover + " promotes anyway"})
	case pr.oldStatus == nil:
		p.Checks = append(p.Checks, Check{Name: "old primary fenceable", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("%s (%v): a switchover needs it fenced; --%s promotes without it", pr.describeOld(), pr.fenceErr, ParamFailover)})
	default:
		p.Checks = append(p.Checks, Check{Name: "old primary fenceable", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("%s, but it cannot be fenced: %v; nothing is promoted", pr.describeOld(), pr.fenceErr)})
	}
}

// planDataLoss is the DR gate: lag, replay, estimated data loss.
func planDataLoss(a *Service, pr promoteRegions, p *Plan) {
	o := a.opts()
	st := pr.targetState.Status
	p.Checks = append(p.Checks, Check{Name: "standby in recovery", Status: CheckPass, Detail: fmt.Sprintf("received %s, replayed %s", st.ReceiveLSN, st.ReplayLSN)})
	if st.ReplayPaused {
		p.Checks = append(p.Checks, Check{Name: "replay running", Status: CheckFail,
			Detail: fmt.Sprintf("WAL replay is paused at %s: the standby is falling behind; --force resumes replay before promoting", st.ReplayLSN)})
	}
	oldSt := pr.oldStatus
	switch {
	case oldSt != nil && !oldSt.InRecovery:
		replayLag, _ := lsnDiff(oldSt.CurrentLSN, st.ReplayLSN)
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
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckPass,
			Detail: "none: the old primary is stopped first and the standby must replay its shutdown checkpoint before it is promoted"})
	case pr.fenced() && pr.oldStop != nil:
		behind, _ := lsnDiff(pr.oldStop.CheckpointLSN, st.ReplayLSN)
		d := fmt.Sprintf("none: the old primary's last WAL is its shutdown checkpoint at %s; the standby replayed %s", pr.oldStop.CheckpointLSN, st.ReplayLSN)
		if behind >= 0 {
			d += " and must replay past it before it is promoted"
		}
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckPass, Detail: d})
	case pr.old == nil || pr.fenced():
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckPass, Detail: "none known: no primary takes writes"})
	default:
		// A failover: what the standby has is all that survives.
		d := fmt.Sprintf("unknown, not bounded: %s cannot be read; the standby received WAL up to %s and replayed up to %s", pr.describeOld(), st.ReceiveLSN, st.ReplayLSN)
		if !st.LastReplay.IsZero() && !st.ServerTime.IsZero() {
			d += fmt.Sprintf("; its last replayed commit is from %s (%.1fs before now): anything the old primary committed after it is lost",
				st.LastReplay.Format(time.RFC3339), st.ServerTime.Sub(st.LastReplay).Seconds())
		}
		if pr.oldStop != nil && pr.oldStop.CheckpointLSN != "" {
			if behind, err := lsnDiff(pr.oldStop.CheckpointLSN, st.ReplayLSN); err == nil && behind > 0 {
				d += fmt.Sprintf("; at least %s: its last checkpoint (%s) is past the standby's replay", present.Bytes(behind), pr.oldStop.CheckpointLSN)
			}
		}
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckWarn, Detail: d})
	}
}

func planBackup(a *Service, p *Plan) {
	if b, err := backup.Last(backup.Dir(a.Config), state.SystemPostgres); err != nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: err.Error()})
	} else if b == nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: "no PostgreSQL backup in " + backup.Dir(a.Config)})
	} else {
		age := a.now().Sub(b.Finished)
		c := Check{Name: "last backup", Status: CheckPass, Detail: fmt.Sprintf("%s, %s old, WAL %s", b.ID, age.Round(time.Second), b.WALPosition)}
		if age > a.opts().MaxBackupAge {
			c.Status = CheckWarn
			c.Detail += fmt.Sprintf(" (older than %s)", a.opts().MaxBackupAge)
		}
		p.Checks = append(p.Checks, c)
	}
}

// promoteSteps are the steps from pg_promote on, shared by a fresh promote
// and a resumed one.
func promoteSteps(a *Service, pr promoteRegions, p *Plan) {
	if !pr.resume {
		p.Steps = append(p.Steps, fmt.Sprintf("promote the standby in %s: pg_promote() and wait for pg_is_in_recovery() = false", pr.target.Name))
	}
	p.Steps = append(p.Steps, "repoint the platform: the API Deployment's POSTGRES_HOST/POSTGRES_PORT")
	if pr.target.Redis != nil {
		p.Steps = append(p.Steps, fmt.Sprintf("promote the Redis replica in %s (REPLICAOF NO ONE)", pr.target.Name))
	}
	if pr.target.ClickHouse != nil {
		p.Steps = append(p.Steps, "report ClickHouse replicas (ReplicatedMergeTree replicas take writes on every replica: nothing to promote)")
	}
	effect := fmt.Sprintf("writes go to %s's PostgreSQL; the old primary stays stopped until it is rebuilt as a standby (--%s)", pr.target.Name, ParamRebuildOld)
	if pr.failover {
		effect = fmt.Sprintf("writes go to %s's PostgreSQL; the old primary is not fenced: it must not come back as a primary (rebuild it as a standby)", pr.target.Name)
	}
	if pr.rebuildOld {
		switch {
		case pr.old == nil:
			p.Checks = append(p.Checks, Check{Name: "rebuild old primary", Status: CheckFail, Hard: true, Detail: "--" + ParamRebuildOld + ": there is no old primary to rebuild"})
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
	p.Effects = append(p.Effects, effect)
}

// planResume: an earlier promote of the target got past pg_promote. What
// is left (repoint, Redis, roles, a requested rebuild) runs again; each of
// those phases changes only what is not yet as it should be.
func planResume(ctx context.Context, a *Service, pr promoteRegions, p *Plan) error {
	left := resumeWork(ctx, a, pr)
	if len(left) == 0 {
		p.Summary = fmt.Sprintf("region %s is already the primary: nothing to promote", pr.target.Name)
		p.Checks = append(p.Checks, Check{Name: "target not primary", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("region %s's PostgreSQL is out of recovery and accepts writes (pg_is_in_recovery() = false): it already is the primary, and the platform follows it", pr.target.Name)})
		return nil
	}
	old := "no other region with PostgreSQL"
	if pr.old != nil {
		old = pr.describeOld()
	}
	p.Checks = append(p.Checks, Check{Name: "resume", Status: CheckPass,
		Detail: fmt.Sprintf("%s already accepts writes and the old primary does not (%s): an earlier promote got past pg_promote; left: %s", pr.target.Name, old, strings.Join(left, ", "))})
	promoteSteps(a, pr, p)
	p.Summary = fmt.Sprintf("resume the promote of region %s: %s", pr.target.Name, strings.Join(left, ", "))
	return nil
}

// resumeWork lists what a resumed promote still has to do.
func resumeWork(ctx context.Context, a *Service, pr promoteRegions) []string {
	var left []string
	if pr.old != nil && pr.oldStop != nil && pr.oldStop.Running && (pr.oldStatus == nil || !pr.oldStatus.InRecovery) {
		left = append(left, "fence "+pr.old.Name)
	}
	if pm, err := capability[Promoter](a, state.SystemPostgres, pr.target); err == nil {
		host, port := pm.Endpoint()
		for _, reg := range a.Config.Regions {
			if reg.Kube == nil {
				continue
			}
			es, err := capability[EnvSetter](a, state.SystemKube, reg)
			if err != nil {
				continue
			}
			env, err := es.DeploymentEnv(ctx, serviceDeployments["api"])
			if err == nil && (env["POSTGRES_HOST"] != host || env["POSTGRES_PORT"] != strconv.Itoa(port)) || err != nil && !errors.Is(err, ErrNotFound) {
				left = append(left, "repoint "+reg.Name)
			}
		}
	}
	if pr.target.Redis != nil {
		if rp, err := capability[RedisPromoter](a, state.SystemRedis, pr.target); err == nil {
			if role, err := rp.RedisRole(ctx); err != nil || role != "master" {
				left = append(left, "redis "+pr.target.Name)
			}
		}
	}
	if pr.target.Role != state.RolePrimary {
		left = append(left, "roles")
	}
	if pr.rebuildOld && pr.old != nil && (pr.oldStatus == nil || !pr.oldStatus.InRecovery) {
		left = append(left, "rebuild "+pr.old.Name)
	}
	return left
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
	if pr.resume && len(resumeWork(ctx, a, pr)) == 0 {
		return Refusedf("region %s already is the primary", pr.target.Name)
	}
	if pr.failover && pr.oldStatus != nil && !pr.oldStatus.InRecovery {
		return Refusedf("--%s: the old primary in %s accepts writes now", ParamFailover, pr.old.Name)
	}
	if run.promoter, err = capability[Promoter](a, state.SystemPostgres, pr.target); err != nil {
		return err
	}
	if run.standby, err = capability[PostgresNode](a, state.SystemPostgres, pr.target); err != nil {
		return err
	}
	run.host, run.port = run.promoter.Endpoint()
	if p.Request.DryRun {
		what := "fence the old primary, promote"
		switch {
		case pr.resume:
			what = "resume the promote of"
		case pr.failover:
			what = "fail over to"
		case pr.rebuild:
			what = "rebuild " + pr.target.Name + " as a standby, fence the old primary, promote"
		}
		res.Summary = fmt.Sprintf("dry run: would %s %s (%s:%d), repoint the API and promote Redis", what, pr.target.Name, run.host, run.port)
		return nil
	}
	res.Measurements = map[string]float64{}
	if err := runPhases(ctx, run.phases(), res, progress); err != nil {
		return err
	}
	how := "promoted"
	if pr.resume {
		how = "promote resumed"
	}
	res.Summary = fmt.Sprintf("region %s %s: PostgreSQL %s:%d accepts writes %.2fs after confirmation; API repointed in %d region(s); %s",
		pr.target.Name, how, run.host, run.port, run.writable.Sub(run.t0).Seconds(), run.repointed, run.roles.Detail)
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
	fencedAt  string    // the fenced primary's shutdown checkpoint
	t0        time.Time // confirmation
	tf        time.Time // writes stopped
	writable  time.Time
	repointed int
	roles     Check
	// standbySizes are the target region's sizes before the promote, for
	// the old region once it is the standby (own clusters only).
	standbySizes map[string]regionSize
}

func (r *promoteRun) verified(c Check) { r.res.Verified = append(r.res.Verified, c) }

// phases are promote's steps in order; the ones that do not apply are
// skipped but counted, so progress reads the same on every run of a plan.
// Each phase checks the live state first and does only what is left, so a
// promote that failed at any phase is finished by running it again.
func (r *promoteRun) phases() []phase {
	pr := r.pr
	var ps []phase
	if pr.rebuild {
		ps = append(ps,
			phase{name: "rebuild", detail: fmt.Sprintf("%s as a standby of %s (%s)", pr.target.Name, nameOf(pr.old), pr.rebuildMethod), run: r.rebuildTarget},
			phase{name: "redis resync", detail: pr.target.Name + " REPLICAOF " + nameOf(pr.old), run: r.resyncTargetRedis})
	}
	before, after := r.regionPhases()
	ps = append(ps, before...)
	ps = append(ps,
		phase{name: "fence", run: r.fence, quiet: true},
		phase{name: "catch up", run: r.catchUp, quiet: true},
		phase{name: "promote", detail: fmt.Sprintf("pg_promote() on %s:%d", r.host, r.port), run: r.promote},
		phase{name: "repoint", detail: fmt.Sprintf("POSTGRES_HOST=%s POSTGRES_PORT=%d", r.host, r.port), run: r.repoint},
		phase{name: "redis", detail: "REPLICAOF NO ONE in " + pr.target.Name, run: r.redis})
	ps = append(ps, after...)
	ps = append(ps, phase{name: "verify", uncounted: true, run: r.verifyEndState})
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

// fence stops the old primary. Writes stop here. A switchover that cannot
// fence promotes nothing.
//
// Its writers are not stopped first: the stop itself ends every session and
// refuses new ones, and the API answers the pause with retryable errors (its
// acknowledged events are in Kafka, not in PostgreSQL). HAProxy fronts the
// API, not PostgreSQL, so it has no PostgreSQL backend to drain.
func (r *promoteRun) fence(ctx context.Context, detail func(string)) error {
	r.tf = time.Now()
	pr := r.pr
	if pr.old == nil {
		return errSkipped
	}
	old := *pr.old
	if pr.failover {
		r.verified(Check{Name: "old primary fenced", Status: CheckWarn, Detail: "failover: not fenced: " + pr.describeOld()})
		return errSkipped
	}
	st, err := fenceState(ctx, r.a, old)
	if err != nil {
		if pr.oldStatus != nil && pr.oldStatus.InRecovery {
			return errSkipped // a standby takes no writes
		}
		if pr.resume {
			r.verified(Check{Name: "old primary fenced", Status: CheckWarn, Detail: pr.describeOld() + "; not fenced by promote: " + err.Error()})
			return errSkipped
		}
		return Refusedf("the old primary in %s cannot be fenced: %v; nothing was promoted", old.Name, err)
	}
	if st.Running {
		detail("stopping the old primary in " + old.Name)
		f, err := capability[Fencer](r.a, state.SystemPostgres, old)
		if err == nil {
			*st, err = f.Fence(ctx, old.Postgres.DataDir)
		}
		r.res.Measurements["fence_seconds"] = time.Since(r.tf).Seconds()
		if err != nil {
			r.verified(Check{Name: "old primary fenced", Status: CheckFail, Detail: "not fenced: " + err.Error()})
			return Refusedf("fence of the old primary in %s failed: %v; nothing was promoted", old.Name, err)
		}
	}
	if !st.Clean {
		if pr.resume || st.State == "shut down in recovery" {
			return errSkipped
		}
		r.verified(Check{Name: "old primary fenced", Status: CheckFail, Detail: fmt.Sprintf("stopped, but not cleanly (%s): its last WAL is unknown", st.State)})
		return Refusedf("the old primary in %s did not shut down cleanly (%s); nothing was promoted (--%s promotes without proof of no loss)", old.Name, st.State, ParamFailover)
	}
	r.fencedAt = st.CheckpointLSN
	r.verified(Check{Name: "old primary fenced", Status: CheckPass,
		Detail: fmt.Sprintf("%s stopped (fast shutdown): no session can write to it or undo the fence; shutdown checkpoint at %s", old.Name, st.CheckpointLSN)})
	return nil
}

// catchUp waits until the standby has replayed the fenced primary's
// shutdown checkpoint: everything the old primary committed is then on it.
func (r *promoteRun) catchUp(ctx context.Context, detail func(string)) error {
	var err error
	if r.standbySt, err = r.standby.PGStatus(ctx); err != nil {
		if r.pr.resume {
			return errSkipped
		}
		return fmt.Errorf("standby: %w", err)
	}
	if !r.standbySt.InRecovery {
		if r.pr.resume {
			return errSkipped
		}
		return Refusedf("region %s's PostgreSQL already left recovery", r.pr.target.Name)
	}
	if r.fencedAt == "" {
		return errSkipped
	}
	detail("waiting for the standby to replay " + r.fencedAt)
	timeout := catchUpTimeout(r.a)
	last, werr := waitFor(ctx, timeout, 2*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		s, err := r.standby.PGStatus(ctx)
		if err != nil {
			return false, "", err
		}
		r.standbySt = s
		// ReplayLSN is the end of the last record replayed: past the
		// checkpoint's start once the checkpoint itself is replayed.
		d, err := lsnDiff(s.ReplayLSN, r.fencedAt)
		return err == nil && d > 0, fmt.Sprintf("replayed %s, received %s, of %s", s.ReplayLSN, s.ReceiveLSN, r.fencedAt), err
	})
	r.res.Measurements["catch_up_seconds"] = time.Since(r.tf).Seconds() - r.res.Measurements["fence_seconds"]
	if werr != nil {
		if !r.p.Request.Force {
			r.verified(Check{Name: "no data loss", Status: CheckFail, Detail: fmt.Sprintf("the standby did not replay the old primary's last WAL (%s) within %s: %s", r.fencedAt, timeout, last)})
			return Refusedf("the standby in %s did not catch up with the fenced primary within %s (%s); nothing was promoted; the old primary stays stopped: run promote again to wait again, or --force --reason to promote and lose what it lacks",
				r.pr.target.Name, timeout, last)
		}
		r.verified(Check{Name: "no data loss", Status: CheckWarn, Detail: "--force: promoted although the standby did not replay all WAL: " + werr.Error()})
		return nil
	}
	r.verified(Check{Name: "no data loss", Status: CheckPass, Detail: fmt.Sprintf("the standby replayed the fenced primary's shutdown checkpoint at %s (%s)", r.fencedAt, last)})
	return nil
}

// promote the standby and wait until it accepts writes. A standby already
// out of recovery (a resumed promote) is only checked for writes.
func (r *promoteRun) promote(ctx context.Context, _ func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, promoteTimeout)
	defer cancel()
	tp := time.Now()
	promoted := false
	if r.pr.resume {
		if s, err := r.standby.PGStatus(ctx); err == nil && !s.InRecovery {
			promoted = true
		}
	}
	if !promoted {
		if err := r.promoter.Promote(ctx, r.standbySt.ReplayPaused && r.p.Request.Force); err != nil {
			return fmt.Errorf("promote %s: %w", r.pr.target.Name, err)
		}
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
	d := fmt.Sprintf("%s:%d, %.3fs after confirmation, %.3fs after writes stopped", r.host, r.port, r.writable.Sub(r.t0).Seconds(), time.Since(r.tf).Seconds())
	if promoted {
		d = fmt.Sprintf("%s:%d, already promoted by an earlier run", r.host, r.port)
	}
	r.verified(Check{Name: "new primary accepts writes", Status: CheckPass, Detail: d})
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

// verifyEndState: the new primary left recovery, the old one takes no writes.
func (r *promoteRun) verifyEndState(ctx context.Context, _ func(string)) error {
	if s, err := r.standby.PGStatus(ctx); err != nil || s.InRecovery {
		r.verified(Check{Name: "new primary out of recovery", Status: CheckFail, Detail: fmt.Sprintf("in recovery %v, %v", s.InRecovery, err)})
	} else {
		r.verified(Check{Name: "new primary out of recovery", Status: CheckPass, Detail: "pg_is_in_recovery() = false at " + s.CurrentLSN})
	}
	if r.pr.old == nil {
		return nil
	}
	old := *r.pr.old
	c := Check{Name: "old primary unwritable"}
	if node, err := capability[PostgresNode](r.a, state.SystemPostgres, old); err == nil {
		if s, err := node.PGStatus(ctx); err == nil {
			if s.InRecovery {
				c.Status, c.Detail = CheckPass, old.Name+" is a standby (in recovery)"
			} else {
				c.Status, c.Detail = CheckFail, old.Name+" is up and out of recovery: two primaries"
			}
			r.verified(c)
			return nil
		}
	}
	st, err := fenceState(ctx, r.a, old)
	switch {
	case err != nil:
		c.Status, c.Detail = CheckWarn, "unknown: "+old.Name+" does not answer and "+err.Error()+"; keep it from starting as a primary"
	case st.Running:
		c.Status, c.Detail = CheckFail, old.Name+"'s postmaster runs although it does not answer: it is not fenced"
	default:
		c.Status, c.Detail = CheckPass, fmt.Sprintf("%s is stopped (%s)", old.Name, st.State)
	}
	r.verified(c)
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
