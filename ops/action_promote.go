package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	ReplicaReport(ctx context.Context) ([]CHReplica, error)
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

type promoteRegions struct {
	target RegionConfig
	old    *RegionConfig // the current primary region, when one is configured
}

func parsePromote(a *Actions, req ActionRequest) (promoteRegions, error) {
	var pr promoteRegions
	if req.Target == "" {
		return pr, invalidf("promote needs a REGION")
	}
	t, err := a.region(req.Target)
	if err != nil {
		return pr, err
	}
	if t.Postgres == nil {
		return pr, invalidf("region %q has no PostgreSQL endpoint to promote", t.Name)
	}
	pr.target = t
	for _, r := range a.Config.Regions {
		if r.Name != t.Name && r.Role == "primary" && r.Postgres != nil {
			r := r
			pr.old = &r
		}
	}
	return pr, nil
}

func (promoteAction) plan(ctx context.Context, a *Actions, req ActionRequest, p *Plan) error {
	pr, err := parsePromote(a, req)
	if err != nil {
		return err
	}
	o := a.opts()
	p.Destructive = true
	p.ConfirmPhrase = pr.target.Name
	standby, err := capability[PostgresNode](a, "postgres", pr.target)
	if err != nil {
		return err
	}
	st, err := standby.PGStatus(ctx)
	if err != nil {
		p.Checks = append(p.Checks, Check{Name: "standby reachable", Status: CheckFail, Hard: true, Detail: err.Error()})
		return nil
	}
	if !st.InRecovery {
		p.Summary = fmt.Sprintf("region %s's PostgreSQL is not a standby: nothing to promote", pr.target.Name)
		p.Checks = append(p.Checks, Check{Name: "standby in recovery", Status: CheckFail, Hard: true, Detail: "pg_is_in_recovery() is false: it already accepts writes"})
		return nil
	}
	p.Checks = append(p.Checks, Check{Name: "standby in recovery", Status: CheckPass, Detail: fmt.Sprintf("received %s, replayed %s", st.ReceiveLSN, st.ReplayLSN)})
	if st.ReplayPaused {
		p.Checks = append(p.Checks, Check{Name: "replay running", Status: CheckFail,
			Detail: fmt.Sprintf("WAL replay is paused at %s: the standby is falling behind; --force resumes replay before promoting", st.ReplayLSN)})
	}
	// DR gate: lag, estimated data loss, last backup.
	var oldSt *PGStatus
	if pr.old != nil {
		if node, err := capability[PostgresNode](a, "postgres", *pr.old); err == nil {
			if s, err := node.PGStatus(ctx); err == nil {
				oldSt = &s
			} else {
				p.Checks = append(p.Checks, Check{Name: "old primary reachable", Status: CheckWarn, Detail: fmt.Sprintf("%s: %v: it cannot be fenced and data loss cannot be measured", pr.old.Name, err)})
			}
		}
	} else {
		p.Warnings = append(p.Warnings, "no primary region with PostgreSQL in this context: nothing to fence, data loss unknown")
	}
	if oldSt != nil {
		replayLag, _ := lsnDiff(oldSt.CurrentLSN, st.ReplayLSN)
		unreceived, _ := lsnDiff(oldSt.CurrentLSN, st.ReceiveLSN)
		// replay_lag as the primary measures it: time since the last commit
		// replayed would grow on an idle primary although nothing is behind.
		lagSec := 0.0
		if replayLag > 0 {
			lagSec = oldSt.StandbyReplayLag
		}
		detail := fmt.Sprintf("%s behind the primary (%s), replay lag %.1fs", humanBytes(max(replayLag, 0)), oldSt.CurrentLSN, lagSec)
		status := CheckPass
		if replayLag > MaxStandbyLagBytes || lagSec > o.MaxStandbyLag.Seconds() {
			status = CheckFail
			detail += fmt.Sprintf("; above the gate (%s or %s)", humanBytes(MaxStandbyLagBytes), o.MaxStandbyLag)
		}
		p.Checks = append(p.Checks, Check{Name: "standby lag", Status: status, Detail: detail})
		loss := Check{Name: "estimated data loss", Status: CheckPass, Detail: "none: the standby has received all WAL the primary wrote"}
		if unreceived > 0 {
			loss.Status = CheckWarn
			loss.Detail = fmt.Sprintf("%s of WAL not yet received; the promote fences the primary and waits briefly for it", humanBytes(unreceived))
		}
		p.Checks = append(p.Checks, loss)
		p.Steps = append(p.Steps, fmt.Sprintf("fence the old primary in %s (default_transaction_read_only=on, end client sessions)", pr.old.Name))
	} else {
		p.Checks = append(p.Checks, Check{Name: "estimated data loss", Status: CheckWarn, Detail: "unknown: the old primary is not reachable"})
	}
	if b, err := LastBackup(BackupDir(a.Config), "postgres"); err != nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: err.Error()})
	} else if b == nil {
		p.Checks = append(p.Checks, Check{Name: "last backup", Status: CheckWarn, Detail: "no PostgreSQL backup in " + BackupDir(a.Config)})
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
	p.Summary = fmt.Sprintf("promote region %s to primary", pr.target.Name)
	if pr.old != nil {
		p.Summary += fmt.Sprintf(" (%s is fenced)", pr.old.Name)
	}
	p.Effects = append(p.Effects, fmt.Sprintf("writes go to %s's PostgreSQL; the old primary stays read-only and must be rebuilt as a standby", pr.target.Name))
	return nil
}

func (promoteAction) execute(ctx context.Context, a *Actions, p *Plan, res *Result, progress func(Progress)) error {
	t0 := a.now() // confirmation: the clock for "time to writes" starts here
	pr, err := parsePromote(a, p.Request)
	if err != nil {
		return err
	}
	promoter, err := capability[Promoter](a, "postgres", pr.target)
	if err != nil {
		return err
	}
	host, port := promoter.Endpoint()
	if p.Request.DryRun {
		res.Summary = fmt.Sprintf("dry run: would fence the old primary, promote %s (%s:%d), repoint the API and promote Redis", pr.target.Name, host, port)
		return nil
	}
	res.Measurements = map[string]float64{}
	const total = 5
	// 1. Fence the old primary where reachable.
	var fencedAt string
	if pr.old != nil {
		progress(Progress{Step: "fence", Detail: "old primary in " + pr.old.Name, Done: 0, Total: total})
		tf := time.Now()
		f, ferr := capability[Fencer](a, "postgres", *pr.old)
		what := ""
		if ferr == nil {
			what, ferr = f.Fence(ctx)
		}
		res.Measurements["fence_seconds"] = time.Since(tf).Seconds()
		if ferr != nil {
			res.Verified = append(res.Verified, Check{Name: "old primary fenced", Status: CheckWarn, Detail: "not fenced: " + ferr.Error()})
		} else {
			res.Verified = append(res.Verified, Check{Name: "old primary fenced", Status: CheckPass, Detail: what})
			// The primary's last LSN, so the standby can receive everything before it is cut loose.
			if node, err := capability[PostgresNode](a, "postgres", *pr.old); err == nil {
				if s, err := node.PGStatus(ctx); err == nil {
					fencedAt = s.CurrentLSN
				}
			}
		}
	}
	standby, err := capability[PostgresNode](a, "postgres", pr.target)
	if err != nil {
		return err
	}
	st, err := standby.PGStatus(ctx)
	if err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	if !st.InRecovery {
		return refusedf("region %s's PostgreSQL already left recovery", pr.target.Name)
	}
	if fencedAt != "" {
		progress(Progress{Step: "catch up", Detail: "waiting for the standby to receive " + fencedAt, Done: 1, Total: total})
		_, werr := waitFor(ctx, 5*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, string, error) {
			s, err := standby.PGStatus(ctx)
			if err != nil {
				return false, "", err
			}
			d, err := lsnDiff(fencedAt, s.ReceiveLSN)
			return err == nil && d <= 0, fmt.Sprintf("received %s of %s", s.ReceiveLSN, fencedAt), err
		})
		if werr != nil {
			res.Verified = append(res.Verified, Check{Name: "no data loss", Status: CheckWarn, Detail: "standby did not receive all WAL before promote: " + werr.Error()})
		} else {
			res.Verified = append(res.Verified, Check{Name: "no data loss", Status: CheckPass, Detail: "standby received WAL up to the fenced primary's " + fencedAt})
		}
	}
	// 2. Promote and wait for writes.
	progress(Progress{Step: "promote", Detail: fmt.Sprintf("pg_promote() on %s:%d", host, port), Done: 2, Total: total})
	tp := time.Now()
	if err := promoter.Promote(ctx, st.ReplayPaused && p.Request.Force); err != nil {
		return fmt.Errorf("promote %s: %w", pr.target.Name, err)
	}
	if err := promoter.WaitWritable(ctx); err != nil {
		return fmt.Errorf("new primary in %s does not accept writes: %w", pr.target.Name, err)
	}
	writable := a.now()
	res.Measurements["promote_seconds"] = time.Since(tp).Seconds()
	res.Measurements["confirm_to_writes_seconds"] = writable.Sub(t0).Seconds()
	res.Verified = append(res.Verified, Check{Name: "new primary accepts writes", Status: CheckPass,
		Detail: fmt.Sprintf("%s:%d, %.3fs after confirmation", host, port, writable.Sub(t0).Seconds())})

	// 3. Repoint the platform in every region that runs the API.
	progress(Progress{Step: "repoint", Detail: fmt.Sprintf("POSTGRES_HOST=%s POSTGRES_PORT=%d", host, port), Done: 3, Total: total})
	env := map[string]string{"POSTGRES_HOST": host, "POSTGRES_PORT": strconv.Itoa(port)}
	repointed := 0
	for _, r := range a.Config.Regions {
		if r.Kube == nil {
			continue
		}
		es, err := capability[EnvSetter](a, "kube", r)
		if err != nil {
			res.Verified = append(res.Verified, Check{Name: "repoint " + r.Name, Status: CheckWarn, Detail: err.Error()})
			continue
		}
		dep := serviceDeployments["api"]
		_, err = es.SetDeploymentEnv(ctx, dep, env, false)
		switch {
		case errors.Is(err, ErrNotFound):
			res.Verified = append(res.Verified, Check{Name: "repoint " + r.Name, Status: CheckWarn, Detail: dep + " does not run in " + r.Name})
			continue
		case err != nil:
			res.Verified = append(res.Verified, Check{Name: "repoint " + r.Name, Status: CheckFail, Detail: err.Error()})
			continue
		}
		got, err := es.DeploymentEnv(ctx, dep)
		if err != nil || got["POSTGRES_HOST"] != host || got["POSTGRES_PORT"] != strconv.Itoa(port) {
			res.Verified = append(res.Verified, Check{Name: "repoint " + r.Name, Status: CheckFail, Detail: fmt.Sprintf("%s env after update: %v %v", dep, got, err)})
			continue
		}
		repointed++
		res.Verified = append(res.Verified, Check{Name: "repoint " + r.Name, Status: CheckPass, Detail: fmt.Sprintf("%s: POSTGRES_HOST=%s POSTGRES_PORT=%d", dep, host, port)})
	}
	// 4. Redis.
	if pr.target.Redis != nil {
		progress(Progress{Step: "redis", Detail: "REPLICAOF NO ONE in " + pr.target.Name, Done: 4, Total: total})
		res.Verified = append(res.Verified, promoteRedis(ctx, a, pr.target))
	}
	// 5. ClickHouse: report.
	if pr.target.ClickHouse != nil {
		res.Verified = append(res.Verified, reportClickHouse(ctx, a, pr.target))
	}
	// Verify the end state of PostgreSQL.
	if s, err := standby.PGStatus(ctx); err != nil || s.InRecovery {
		res.Verified = append(res.Verified, Check{Name: "new primary out of recovery", Status: CheckFail, Detail: fmt.Sprintf("in recovery %v, %v", s.InRecovery, err)})
	} else {
		res.Verified = append(res.Verified, Check{Name: "new primary out of recovery", Status: CheckPass, Detail: "pg_is_in_recovery() = false at " + s.CurrentLSN})
	}
	if pr.old != nil {
		if node, err := capability[PostgresNode](a, "postgres", *pr.old); err == nil {
			if s, err := node.PGStatus(ctx); err == nil {
				c := Check{Name: "old primary read-only", Status: CheckPass, Detail: "default_transaction_read_only = on"}
				if !s.ReadOnly {
					c.Status, c.Detail = CheckWarn, "the old primary still accepts writes"
				}
				res.Verified = append(res.Verified, c)
			}
		}
	}
	progress(Progress{Step: "done", Done: total, Total: total})
	res.Summary = fmt.Sprintf("region %s promoted: PostgreSQL %s:%d accepts writes %.2fs after confirmation; API repointed in %d region(s)",
		pr.target.Name, host, port, writable.Sub(t0).Seconds(), repointed)
	return nil
}

func promoteRedis(ctx context.Context, a *Actions, r RegionConfig) Check {
	c := Check{Name: "redis primary"}
	rp, err := capability[RedisPromoter](a, "redis", r)
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

func reportClickHouse(ctx context.Context, a *Actions, r RegionConfig) Check {
	c := Check{Name: "clickhouse replicas"}
	rr, err := capability[ReplicaReporter](a, "clickhouse", r)
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
