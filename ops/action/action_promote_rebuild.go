package action

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// StandbyRebuild asks for a server's data dir to be resynchronised from the
// current primary and the server restarted as its streaming standby.
type StandbyRebuild struct {
	// DataDir of the server to rebuild; it must be on this machine.
	DataDir string
	// SourceDSN connects to the current primary (the copy's source and the
	// standby's upstream).
	SourceDSN string
	// ApplicationName the standby streams as (pg_stat_replication): the region.
	ApplicationName string
}

// RebuildReport says how a rebuild went.
type RebuildReport struct {
	Method string // pg_rewind or pg_basebackup
	Detail string
}

// StandbyRebuilder turns a fenced or stopped former primary into a streaming
// standby of the current primary. Only a local installation (data dir on this
// machine) can be rebuilt.
type StandbyRebuilder interface {
	// RebuildMethod checks that dataDir can be rebuilt here and names the
	// method that will be tried first.
	RebuildMethod(ctx context.Context, dataDir string) (string, error)
	// RebuildAsStandby stops the server, resynchronises its data dir (pg_rewind
	// where possible, else pg_basebackup), configures streaming and starts it.
	RebuildAsStandby(ctx context.Context, req StandbyRebuild, progress func(string)) (RebuildReport, error)
}

// Unfencer lifts a fence (default_transaction_read_only) from a server.
type Unfencer interface {
	Unfence(ctx context.Context) (string, error)
}

// RedisReplicator points a Redis server at a primary.
type RedisReplicator interface {
	// ReplicaOf makes the server a replica of addr (REPLICAOF host port).
	ReplicaOf(ctx context.Context, addr, password string) error
	// ReplicationLink reports whether the server is a replica with its link up
	// and no sync in progress.
	ReplicationLink(ctx context.Context) (synced bool, detail string, err error)
}

// Promote parameters.
const (
	// ParamRebuildOld: after the promote, rebuild the old primary as a standby of
	// the new one, so that the pair is whole again (a drill ends as it began).
	ParamRebuildOld = "rebuild-old-primary"
	// ParamFailover: promote although the old primary cannot be fenced.
	ParamFailover = "failover"
)

// pgRegion is one region's PostgreSQL as it answers now.
type pgRegion struct {
	Region config.RegionConfig
	Status *PGStatus
	Err    error
}

func (s pgRegion) writable() bool {
	return s.Status != nil && !s.Status.InRecovery && !s.Status.ReadOnly
}

func (s pgRegion) describe() string {
	switch {
	case s.Status == nil:
		return fmt.Sprintf("%s: unreachable (%v)", s.Region.Name, s.Err)
	case s.Status.InRecovery:
		return s.Region.Name + ": standby (in recovery)"
	case s.Status.ReadOnly:
		return s.Region.Name + ": fenced (not in recovery, default_transaction_read_only = on)"
	}
	return s.Region.Name + ": primary (accepts writes)"
}

// readPGRegions reads every region's PostgreSQL recovery state.
func readPGRegions(ctx context.Context, a *Service) []pgRegion {
	var out []pgRegion
	for _, r := range a.Config.Regions {
		if r.Postgres == nil {
			continue
		}
		s := pgRegion{Region: r}
		node, err := capability[PostgresNode](a, state.SystemPostgres, r)
		if err == nil {
			var st PGStatus
			st, err = node.PGStatus(ctx)
			if err == nil {
				s.Status = &st
			}
		}
		s.Err = err
		out = append(out, s)
	}
	return out
}

// livePrimary decides which region is primary now: the one whose PostgreSQL
// is out of recovery and accepts writes. The config's role decides only when
// no region does (it may be down). Two writable regions are a split brain.
func livePrimary(states []pgRegion) (primary *pgRegion, how string, splitBrain []string) {
	var writable []int
	for i, s := range states {
		if s.writable() {
			writable = append(writable, i)
		}
	}
	switch len(writable) {
	case 1:
		return &states[writable[0]], "live: pg_is_in_recovery() = false and it accepts writes", nil
	case 0:
		for i, s := range states {
			if s.Region.Role == state.RolePrimary {
				return &states[i], "config role (no region's PostgreSQL accepts writes now: " + s.describe() + ")", nil
			}
		}
		return nil, "", nil
	}
	for _, i := range writable {
		splitBrain = append(splitBrain, states[i].Region.Name)
	}
	return nil, "", splitBrain
}

// rebuildStandby rebuilds region r's PostgreSQL as a standby of source and
// waits until it streams and has replayed what the source had written.
func rebuildStandby(ctx context.Context, a *Service, r, source config.RegionConfig, res *Result, progress func(string)) error {
	rb, err := capability[StandbyRebuilder](a, state.SystemPostgres, r)
	if err != nil {
		return err
	}
	t0 := time.Now()
	rep, err := rb.RebuildAsStandby(ctx, StandbyRebuild{DataDir: r.Postgres.DataDir, SourceDSN: source.Postgres.DSN, ApplicationName: r.Name}, progress)
	if err != nil {
		return fmt.Errorf("rebuild %s as a standby of %s: %w", r.Name, source.Name, err)
	}
	rebuilt := time.Since(t0)
	node, err := capability[PostgresNode](a, state.SystemPostgres, r)
	if err != nil {
		return err
	}
	src, err := capability[PostgresNode](a, state.SystemPostgres, source)
	if err != nil {
		return err
	}
	progress("waiting until " + r.Name + " streams from " + source.Name + " and catches up")
	detail, err := waitFor(ctx, a.opts().VerifyTimeout, 20*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		ps, err := src.PGStatus(ctx)
		if err != nil {
			return false, "", fmt.Errorf("%s: %w", source.Name, err)
		}
		s, err := node.PGStatus(ctx)
		if err != nil {
			return false, "", fmt.Errorf("%s: %w", r.Name, err)
		}
		if !s.InRecovery {
			return false, "", fmt.Errorf("%s is not in recovery after the rebuild", r.Name)
		}
		behind, err := lsnDiff(ps.CurrentLSN, s.ReplayLSN)
		if err != nil {
			return false, "", err
		}
		state := streamState(ctx, a, source, r.Name)
		return behind <= 0 && state == "streaming",
			fmt.Sprintf("replayed %s of %s, %s", s.ReplayLSN, ps.CurrentLSN, state), nil
	})
	name := "rebuilt " + r.Name + " as standby"
	if err != nil {
		res.Verified = append(res.Verified, Check{Name: name, Status: CheckFail, Detail: fmt.Sprintf("%s (%s): does not stream: %v", rep.Method, rep.Detail, err)})
		return fmt.Errorf("%s does not stream from %s after the rebuild: %w", r.Name, source.Name, err)
	}
	res.Measurements["rebuild_"+r.Name+"_seconds"] = rebuilt.Seconds()
	res.Measurements["catch_up_"+r.Name+"_seconds"] = time.Since(t0).Seconds() - rebuilt.Seconds()
	res.Verified = append(res.Verified, Check{Name: name, Status: CheckPass,
		Detail: fmt.Sprintf("%s (%s) in %.2fs; streaming from %s, %s", rep.Method, rep.Detail, rebuilt.Seconds(), source.Name, detail)})
	return nil
}

// streamState is the standby's state in the source's pg_stat_replication.
func streamState(ctx context.Context, a *Service, source config.RegionConfig, standby string) string {
	rr, err := capability[collect.PGReplicationReader](a, state.SystemPostgres, source)
	if err != nil {
		return "streaming" // the source cannot tell; its LSNs decided
	}
	rows, err := rr.ReadPGReplication(ctx)
	if err != nil {
		return "pg_stat_replication: " + err.Error()
	}
	for _, x := range rows {
		if x.Name == standby {
			return strings.ToLower(x.State)
		}
	}
	return "not in " + source.Name + "'s pg_stat_replication"
}

// resyncRedis makes region r's Redis a replica of source's and waits for the
// link to be up with the initial sync done.
func resyncRedis(ctx context.Context, a *Service, r, source config.RegionConfig) Check {
	c := Check{Name: "redis " + r.Name + " replicates " + source.Name}
	rr, err := capability[RedisReplicator](a, state.SystemRedis, r)
	if err != nil {
		c.Status, c.Detail = CheckWarn, err.Error()
		return c
	}
	if err := rr.ReplicaOf(ctx, source.Redis.Addr, source.Redis.Password); err != nil {
		c.Status, c.Detail = CheckFail, fmt.Sprintf("REPLICAOF %s: %v", source.Redis.Addr, err)
		return c
	}
	detail, err := waitFor(ctx, a.opts().VerifyTimeout, 20*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		return rr.ReplicationLink(ctx)
	})
	if err != nil {
		c.Status, c.Detail = CheckFail, fmt.Sprintf("REPLICAOF %s: link not up: %v", source.Redis.Addr, err)
		return c
	}
	c.Status, c.Detail = CheckPass, fmt.Sprintf("REPLICAOF %s: %s", source.Redis.Addr, detail)
	return c
}

// saveRoles records the new primary in the context, and in its config file
// when it came from one, so the next plan and the console start from it.
func saveRoles(a *Service, primary string) Check {
	c := Check{Name: "config roles", Status: CheckPass}
	for i := range a.Config.Regions {
		r := &a.Config.Regions[i]
		switch {
		case r.Name == primary:
			r.Role = "primary"
		case r.Role == state.RolePrimary:
			r.Role = "secondary"
		}
	}
	if a.Config.Source == "" {
		c.Detail = fmt.Sprintf("%s is primary in this session; not saved: the context %q did not come from a config file", primary, a.Config.Name)
		return c
	}
	if err := config.SaveContext(a.Config.Source, a.Config); err != nil {
		c.Status, c.Detail = CheckWarn, fmt.Sprintf("%s is primary now, but the roles were not saved: %v", primary, err)
		return c
	}
	c.Detail = fmt.Sprintf("saved to %s: %s is primary", a.Config.Source, primary)
	return c
}
