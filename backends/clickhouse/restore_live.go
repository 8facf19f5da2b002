package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
)

var _ action.StoreRestorer = (*Client)(nil)

// liveTableDir is the directory of db.table on the replica's local disk,
// from the path of one of its parts.
func liveTableDir(ctx context.Context, r Replica, db, table string) (string, error) {
	var path string
	err := r.Conn.QueryRow(ctx, `SELECT path FROM system.parts WHERE database = ? AND table = ? LIMIT 1`, db, table).Scan(&path)
	if err != nil {
		return "", fmt.Errorf("%s.%s on %s has no part to find its directory from: %w", db, table, r.Addr, err)
	}
	dir := filepath.Dir(strings.TrimSuffix(path, "/"))
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s.%s on %s: its data dir %s is not on this machine: %w", db, table, r.Addr, dir, err)
	}
	return dir, nil
}

// RestoreFacts checks the backup is a local freeze copy and the live
// server's disk is reachable for putting its parts back.
func (c *Client) RestoreFacts(ctx context.Context, req action.StoreRestore) (action.RestoreFacts, error) {
	f := action.RestoreFacts{LostBytes: -1}
	if req.Entry.Method != "freeze" {
		return f, fmt.Errorf("backup %s was taken with %q: only freeze backups (copied parts) restore here", req.Entry.ID, req.Entry.Method)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	r, _, ver, err := c.serverVersion(ctx)
	if err != nil {
		return f, err
	}
	manifest, err := readManifest(req.Entry.Location)
	if err != nil {
		return f, err
	}
	for _, t := range manifest {
		dir, err := liveTableDir(ctx, r, c.Database, t.Table)
		if err != nil {
			return f, err
		}
		var rows uint64
		_ = r.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", quoteIdent(c.Database), quoteIdent(t.Table))).Scan(&rows)
		f.Notes = append(f.Notes, fmt.Sprintf("%s on %s (ClickHouse %s): %d rows now, data in %s", t.Table, r.Addr, ver, rows, dir))
	}
	return f, nil
}

// chPrepared is a backup attached to a scratch server and checked there.
type chPrepared struct {
	c      *Client
	rep    action.VerifyReport
	backup string
	counts map[string]int64 // recorded with the backup
}

// PrepareRestore attaches the backup to a scratch server and checks it as
// backup verify does; the live server is not touched.
func (c *Client) PrepareRestore(ctx context.Context, req action.StoreRestore, progress func(string)) (action.PreparedRestore, error) {
	rep, err := c.VerifyBackup(ctx, req.Entry, progress)
	if err != nil {
		return nil, err
	}
	return &chPrepared{c: c, rep: rep, backup: req.Entry.Location, counts: req.Entry.RowCounts}, nil
}

func (p *chPrepared) Checks() []action.Check { return p.rep.Checks }
func (p *chPrepared) Detail() string         { return p.rep.Detail }
func (p *chPrepared) Discard() error         { return nil }

// SwapIn detaches every live partition of each backed-up table (its parts
// are moved out of detached/ into a kept directory), then copies the
// backup's parts into detached/ and attaches them; a replicated table
// hands them to its other replicas.
func (p *chPrepared) SwapIn(ctx context.Context, progress func(string)) (action.SwapReport, error) {
	var rep action.SwapReport
	c := p.c
	r, _, _, err := c.serverVersion(ctx)
	if err != nil {
		return rep, err
	}
	manifest, err := readManifest(p.backup)
	if err != nil {
		return rep, err
	}
	parts, err := backupParts(p.backup, c.Database)
	if err != nil {
		return rep, err
	}
	stamp := time.Now().UTC().Format("20060102T150405")
	var kept []string
	for _, t := range manifest {
		full := quoteIdent(c.Database) + "." + quoteIdent(t.Table)
		dir, err := liveTableDir(ctx, r, c.Database, t.Table)
		if err != nil {
			return rep, err
		}
		rows, err := r.Conn.Query(ctx, `SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = ? AND table = ?`, c.Database, t.Table)
		if err != nil {
			return rep, err
		}
		var live []string
		for rows.Next() {
			var pid string
			if err := rows.Scan(&pid); err != nil {
				rows.Close()
				return rep, err
			}
			live = append(live, pid)
		}
		rows.Close()
		detached := filepath.Join(dir, "detached")
		old := filepath.Join(dir, "before-restore-"+stamp)
		if err := os.MkdirAll(old, 0o755); err != nil {
			return rep, err
		}
		// Earlier detached parts would be attached with the backup's: set them aside too.
		if err := moveChildren(detached, old); err != nil {
			return rep, err
		}
		progress(fmt.Sprintf("detaching %d partitions of %s", len(live), t.Table))
		for _, pid := range live {
			if err := r.Conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DETACH PARTITION ID '%s'", full, strings.ReplaceAll(pid, "'", ""))); err != nil {
				return rep, fmt.Errorf("detach partition %s of %s: %w", pid, t.Table, err)
			}
		}
		if err := moveChildren(detached, old); err != nil {
			return rep, err
		}
		kept = append(kept, old)
		pids := map[string]bool{}
		for _, bp := range parts {
			if bp.Table != t.Table {
				continue
			}
			if _, err := copyTree(bp.Path, filepath.Join(detached, bp.Name)); err != nil {
				return rep, fmt.Errorf("copy part %s: %w", bp.Name, err)
			}
			pids[bp.Partition] = true
		}
		for pid := range pids {
			if err := r.Conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ATTACH PARTITION ID '%s'", full, strings.ReplaceAll(pid, "'", ""))); err != nil {
				return rep, fmt.Errorf("attach partition %s of %s: %w", pid, t.Table, err)
			}
		}
		progress(fmt.Sprintf("attached %d partitions of %s from the backup", len(pids), t.Table))
	}
	rep.OldDataDir = strings.Join(kept, ", ")
	var total uint64
	if err := r.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", quoteIdent(c.Database), quoteIdent("events"))).Scan(&total); err != nil {
		return rep, err
	}
	var want int64
	for k, n := range p.counts {
		if strings.HasPrefix(k, "events/") {
			want += n
		}
	}
	st := action.CheckPass
	if int64(total) != want {
		st = action.CheckFail
	}
	rep.Checks = append(rep.Checks, action.Check{Name: "clickhouse rows after swap", Status: st, Detail: fmt.Sprintf("events on %s: %d rows, the backup %d", r.Addr, total, want)})
	rep.Detail = fmt.Sprintf("%d rows attached on %s", total, r.Addr)
	return rep, nil
}

func moveChildren(from, to string) error {
	ents, err := os.ReadDir(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
