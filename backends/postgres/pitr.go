package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
)

var _ action.StoreRestorer = (*Client)(nil)

func (sr recoveryTarget) beyondBackup() bool { return sr.LSN != "" || !sr.Time.IsZero() }

func targetOf(req action.StoreRestore) recoveryTarget {
	return recoveryTarget{LSN: req.ToLSN, Time: req.ToTime, Immediate: req.ToLSN == "" && req.ToTime.IsZero()}
}

// RestoreFacts reads what a restore would replace: the live server's WAL
// position, its data dir on this machine, and the WAL archive a target past
// the backup needs.
func (c *Client) RestoreFacts(ctx context.Context, req action.StoreRestore) (action.RestoreFacts, error) {
	f := action.RestoreFacts{LostBytes: -1}
	if req.DataDir == "" {
		return f, errors.New("the region's postgres endpoint has no data-dir: a restore swaps data dirs on the server's machine")
	}
	lc, err := openLocalCluster(req.DataDir)
	if err != nil {
		return f, err
	}
	qctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := c.Pool.QueryRow(qctx, "SELECT pg_current_wal_lsn()::text").Scan(&f.CurrentLSN); err != nil {
		return f, fmt.Errorf("the server is not a primary accepting writes (pg_current_wal_lsn): %w", err)
	}
	f.Notes = append(f.Notes, fmt.Sprintf("data dir %s (PostgreSQL %d), server at WAL %s", req.DataDir, lc.major, f.CurrentLSN))
	cur, _ := action.ParseLSN(f.CurrentLSN)
	t := targetOf(req)
	switch {
	case t.LSN != "":
		if n, err := action.ParseLSN(t.LSN); err == nil {
			if n > cur {
				return f, fmt.Errorf("--to-lsn %s is past the server's current WAL position %s: that WAL does not exist yet", t.LSN, f.CurrentLSN)
			}
			f.LostBytes = int64(cur - n)
		}
	case t.Immediate:
		if end, err := action.BackupEndLSN(req.Entry.WALPosition); err == nil {
			if n, _ := action.ParseLSN(end); n <= cur {
				f.LostBytes = int64(cur - n)
			}
		}
	}
	if t.beyondBackup() {
		archive := WALArchiveFor(req.Entry)
		if !dirExists(archive) {
			return f, fmt.Errorf("a target past the backup needs the WAL archive at %s, which does not exist (is archive_command set?)", archive)
		}
		var mode string
		if err := c.Pool.QueryRow(qctx, "SHOW archive_mode").Scan(&mode); err != nil {
			return f, err
		}
		if mode == "off" {
			return f, fmt.Errorf("archive_mode is off: WAL after the backup was not archived to %s", archive)
		}
		var failing bool
		var lastFailed string
		if err := c.Pool.QueryRow(qctx, `SELECT coalesce(last_failed_time > coalesce(last_archived_time, 'epoch'), false), coalesce(last_failed_wal, '') FROM pg_stat_archiver`).Scan(&failing, &lastFailed); err != nil {
			return f, err
		}
		if failing {
			return f, fmt.Errorf("archive_command is failing (last failed WAL %s, see the server log): WAL after the backup may be missing from %s", lastFailed, archive)
		}
		n, _ := filepath.Glob(filepath.Join(archive, "0*"))
		f.Notes = append(f.Notes, fmt.Sprintf("WAL archive %s: %d files", archive, len(n)))
	}
	return f, nil
}

// pgPrepared is a restored copy paused at its target.
type pgPrepared struct {
	c         *Client
	s         *scratchPG
	live      *localCluster
	replayed  string
	counts    map[string]int64
	checks    []action.Check
	discarded bool
}

// PrepareRestore archives the live server's current WAL (so a target up to
// now is reachable), restores the backup into a new data dir beside the live
// one and recovers it to the target, where it pauses, read-only.
func (c *Client) PrepareRestore(ctx context.Context, req action.StoreRestore, progress func(string)) (action.PreparedRestore, error) {
	if progress == nil {
		progress = func(string) {}
	}
	lc, err := openLocalCluster(req.DataDir)
	if err != nil {
		return nil, err
	}
	t := targetOf(req)
	if t.beyondBackup() {
		progress("switching WAL and waiting for the archiver")
		if err := c.archiveCurrentWAL(ctx); err != nil {
			return nil, err
		}
	}
	s, err := c.restoreScratch(ctx, req.Entry, filepath.Dir(req.DataDir), t, true, progress)
	if err != nil {
		return nil, err
	}
	p := &pgPrepared{c: c, s: s, live: lc}
	conn, err := s.connect(ctx)
	if err != nil {
		_ = s.remove()
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&p.replayed); err != nil {
		_ = s.remove()
		return nil, err
	}
	p.checks = append(p.checks, action.Check{Name: "recovered", Status: action.CheckPass, Detail: "paused at the target, replayed to " + p.replayed})
	if p.counts, err = tableRowCounts(ctx, conn); err != nil {
		_ = s.remove()
		return nil, err
	}
	if t.Immediate {
		p.checks = append(p.checks, action.CompareCounts("rows", req.Entry.RowCounts, p.counts))
	} else {
		p.checks = append(p.checks, action.Check{Name: "rows", Status: action.CheckPass, Detail: fmt.Sprintf("%d tables readable: %v", len(p.counts), p.counts)})
	}
	return p, nil
}

// archiveCurrentWAL switches to a new WAL segment and waits until the
// archiver has the one just closed.
func (c *Client) archiveCurrentWAL(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var seg string
	if err := c.Pool.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		return fmt.Errorf("pg_switch_wal: %w", err)
	}
	for {
		var last string
		var failed int64
		if err := c.Pool.QueryRow(ctx, "SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver").Scan(&last, &failed); err != nil {
			return err
		}
		// Segment names of one timeline sort in WAL order.
		if len(last) == len(seg) && last >= seg {
			return nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("WAL segment %s not archived (last archived %q, %d failures): %w", seg, last, failed, ctx.Err())
		case <-t.C:
		}
	}
}

func (p *pgPrepared) Checks() []action.Check { return p.checks }

func (p *pgPrepared) Detail() string {
	return fmt.Sprintf("restored copy in %s at WAL %s, %d tables", p.s.dataDir, p.replayed, len(p.counts))
}

func (p *pgPrepared) Discard() error {
	if p.discarded {
		return nil
	}
	p.discarded = true
	return p.s.remove()
}

// SwapIn ends the copy's recovery (a new timeline), stops it cleanly, stops
// the live server, swaps the data dirs and starts the server with the
// options of its last start.
func (p *pgPrepared) SwapIn(ctx context.Context, progress func(string)) (action.SwapReport, error) {
	var rep action.SwapReport
	conn, err := p.s.connect(ctx)
	if err != nil {
		return rep, err
	}
	_, err = conn.Exec(ctx, "SELECT pg_wal_replay_resume()")
	if err == nil {
		err = p.s.srv.WaitReady(ctx, "restored copy promoted", func(ctx context.Context) error {
			var rec bool
			if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
				return err
			}
			if rec {
				return errors.New("still in recovery")
			}
			return nil
		})
	}
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return rep, fmt.Errorf("end recovery of the restored copy: %w", err)
	}
	if err := p.s.srv.Stop(syscall.SIGINT, 2*time.Minute); err != nil {
		return rep, err
	}
	progress("stopping the live server (pg_ctl stop -m fast)")
	if p.live.running() {
		if _, err := p.live.run(ctx, nil, "pg_ctl", "stop", "-D", p.live.dataDir, "-m", "fast", "-w", "-t", "60"); err != nil {
			return rep, err
		}
	}
	p.c.Pool.Reset()
	// The server comes back with its own start options, not the copy's.
	if b, err := os.ReadFile(filepath.Join(p.live.dataDir, "postmaster.opts")); err == nil {
		path := filepath.Join(p.s.dataDir, "postmaster.opts")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return rep, err
		}
		_ = os.Chown(path, int(p.live.uid), int(p.live.gid))
	}
	old := p.live.dataDir + ".before-restore-" + time.Now().UTC().Format("20060102T150405")
	if err := os.Rename(p.live.dataDir, old); err != nil {
		return rep, err
	}
	if err := os.Rename(p.s.dataDir, p.live.dataDir); err != nil {
		return rep, errors.Join(err, os.Rename(old, p.live.dataDir))
	}
	rep.OldDataDir = old
	_ = os.RemoveAll(p.s.srv.Dir)
	p.discarded = true
	progress("starting the server on the restored data (pg_ctl start)")
	logPath := p.live.dataDir + ".log"
	args := []string{"start", "-D", p.live.dataDir, "-w", "-t", "120", "-l", logPath}
	if p.live.postOpts != "" {
		args = append(args, "-o", p.live.postOpts)
	}
	if _, err := p.live.run(ctx, nil, "pg_ctl", args...); err != nil {
		return rep, fmt.Errorf("%w (server log: %s)", err, logPath)
	}
	p.c.Pool.Reset()
	if err := p.c.WaitWritable(ctx); err != nil {
		return rep, fmt.Errorf("the restored server does not accept writes: %w", err)
	}
	counts, err := tableRowCounts(ctx, p.c.Pool)
	if err != nil {
		return rep, err
	}
	st := action.CheckPass
	detail := fmt.Sprintf("%d tables, counts as in the restored copy", len(counts))
	if c := action.CompareCounts("rows", p.counts, counts); c.Status != action.CheckPass {
		st, detail = action.CheckFail, c.Detail
	}
	var tl int
	_ = p.c.Pool.QueryRow(ctx, "SELECT timeline_id FROM pg_control_checkpoint()").Scan(&tl)
	rep.Checks = append(rep.Checks, action.Check{Name: "server on restored data", Status: action.CheckPass, Detail: "accepts writes"},
		action.Check{Name: "rows after swap", Status: st, Detail: detail})
	rep.Detail = fmt.Sprintf("server accepts writes on the restored data (replayed to %s, new timeline after checkpoint %d)", p.replayed, tl)
	return rep, nil
}
