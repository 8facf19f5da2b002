package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/state"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ action.BackupTaker     = (*Client)(nil)
	_ action.ReplicaReporter = (*Client)(nil)
)

// ReplicaReport reads system.replicas from every replica that answers.
func (c *Client) ReplicaReport(ctx context.Context) ([]state.CHReplica, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var out []state.CHReplica
	var errs []error
	for _, r := range c.Replicas {
		rows, err := r.Conn.Query(ctx, `SELECT database, table, replica_name, toUInt8(is_leader), toUInt8(is_readonly),
			toUInt8(is_session_expired), toFloat64(absolute_delay), toInt64(queue_size), toInt64(inserts_in_queue) FROM system.replicas`)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Addr, err))
			continue
		}
		for rows.Next() {
			var x state.CHReplica
			var leader, ro, expired uint8
			var queue, inserts int64
			if err := rows.Scan(&x.Database, &x.Table, &x.Replica, &leader, &ro, &expired, &x.AbsoluteDelay, &queue, &inserts); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Addr, err))
				break
			}
			x.IsLeader, x.IsReadonly, x.SessionExpired = leader == 1, ro == 1, expired == 1
			x.QueueSize, x.InsertsInQueue = int(queue), int(inserts)
			x.Source = "clickhouse:" + r.Addr
			out = append(out, x)
		}
		rows.Close()
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// serverVersion returns the first answering replica and its version.
func (c *Client) serverVersion(ctx context.Context) (Replica, []int, string, error) {
	var errs []error
	for _, r := range c.Replicas {
		var v string
		if err := r.Conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Addr, err))
			continue
		}
		var parts []int
		for _, s := range strings.Split(v, ".") {
			n, _ := strconv.Atoi(s)
			parts = append(parts, n)
		}
		return r, parts, v, nil
	}
	return Replica{}, nil, "", errors.Join(errs...)
}

// hasBackupStatement: BACKUP ... TO arrived in ClickHouse 22.8.
func hasBackupStatement(v []int) bool {
	return len(v) >= 2 && (v[0] > 22 || v[0] == 22 && v[1] >= 8)
}

// BackupMethod says how this server is backed up.
func (c *Client) BackupMethod(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	r, v, s, err := c.serverVersion(ctx)
	if err != nil {
		return "", err
	}
	if hasBackupStatement(v) {
		return fmt.Sprintf("BACKUP DATABASE %s TO Disk('backups') on %s (ClickHouse %s), FREEZE if that fails", c.Database, r.Addr, s), nil
	}
	return fmt.Sprintf("ALTER TABLE ... FREEZE on %s (ClickHouse %s has no BACKUP statement)", r.Addr, s), nil
}

type frozenTable struct {
	Table      string   `json:"table"`
	Partitions []string `json:"partitions"`
	Parts      int      `json:"parts"`
	Bytes      int64    `json:"bytes"`
	// Create is SHOW CREATE TABLE, for a restore to make the table again.
	Create string `json:"create,omitempty"`
}

// TakeBackup backs up every MergeTree table of the database on one replica
// (replicated tables hold the same data on each). Servers with BACKUP use it;
// older ones (18.16) freeze the tables: hard links under <path>/shadow/N,
// which are copied into dir when the server's disk is local.
func (c *Client) TakeBackup(ctx context.Context, dir string, progress func(string)) (action.BackupInfo, error) {
	info := action.BackupInfo{Location: dir}
	r, v, ver, err := c.serverVersion(ctx)
	if err != nil {
		return info, err
	}
	if hasBackupStatement(v) {
		name := filepath.Base(filepath.Dir(dir))
		err := r.Conn.Exec(ctx, fmt.Sprintf("BACKUP DATABASE %s TO Disk('backups', '%s')", quoteIdent(c.Database), name))
		if err == nil {
			info.Method = "backup"
			info.Location = r.Addr + ":Disk('backups')/" + name
			info.Detail = "ClickHouse " + ver
			info.SizeBytes, _ = c.dbBytes(ctx, r)
			return info, nil
		}
		if progress != nil {
			progress("BACKUP failed (" + err.Error() + "); freezing instead")
		}
	}
	info.Method = "freeze"
	rows, err := r.Conn.Query(ctx, `SELECT name FROM system.tables WHERE database = ? AND engine LIKE '%MergeTree%' ORDER BY name`, c.Database)
	if err != nil {
		return info, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return info, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if len(tables) == 0 {
		return info, fmt.Errorf("database %s on %s has no MergeTree table to back up", c.Database, r.Addr)
	}
	var manifest []frozenTable
	root := ""
	startInc := -1
	for _, t := range tables {
		ft := frozenTable{Table: t}
		prows, err := r.Conn.Query(ctx, `SELECT partition_id, path, toInt64(bytes) FROM system.parts WHERE active AND database = ? AND table = ?`, c.Database, t)
		if err != nil {
			return info, err
		}
		seen := map[string]bool{}
		for prows.Next() {
			var pid, path string
			var b int64
			if err := prows.Scan(&pid, &path, &b); err != nil {
				prows.Close()
				return info, err
			}
			ft.Parts++
			ft.Bytes += b
			if !seen[pid] {
				seen[pid] = true
				ft.Partitions = append(ft.Partitions, pid)
			}
			if root == "" {
				// <path>/data/<db>/<table>/<part>/ -> <path>
				root = filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(strings.TrimSuffix(path, "/")))))
			}
		}
		prows.Close()
		if root != "" && startInc < 0 {
			startInc = readIncrement(root)
		}
		if ft.Create, err = showCreate(ctx, r.Conn, c.Database, t); err != nil {
			return info, fmt.Errorf("show create %s: %w", t, err)
		}
		full := fmt.Sprintf("%s.%s", quoteIdent(c.Database), quoteIdent(t))
		if err := r.Conn.Exec(ctx, "ALTER TABLE "+full+" FREEZE"); err != nil {
			// Older servers freeze one partition at a time.
			for _, pid := range ft.Partitions {
				if err := r.Conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s FREEZE PARTITION ID '%s'", full, strings.ReplaceAll(pid, "'", ""))); err != nil {
					return info, fmt.Errorf("freeze %s partition %s: %w", full, pid, err)
				}
			}
		}
		if progress != nil {
			progress(fmt.Sprintf("froze %s: %d parts, %d bytes", full, ft.Parts, ft.Bytes))
		}
		info.SizeBytes += ft.Bytes
		manifest = append(manifest, ft)
	}
	info.Detail = fmt.Sprintf("ClickHouse %s on %s, %d tables", ver, r.Addr, len(tables))
	info.Location = r.Addr + ":" + filepath.Join(root, "shadow")
	// Copy the frozen parts when the server's disk is ours (the local platform, or a backup host).
	if root != "" && startInc >= 0 {
		endInc := readIncrement(root)
		copied := int64(0)
		for n := startInc + 1; n <= endInc; n++ {
			src := filepath.Join(root, "shadow", strconv.Itoa(n))
			b, err := copyTree(src, filepath.Join(dir, "shadow", strconv.Itoa(n)))
			if err != nil {
				return info, fmt.Errorf("copy %s: %w", src, err)
			}
			copied += b
		}
		if copied > 0 {
			info.Location = dir
			info.SizeBytes = copied
			info.Detail += fmt.Sprintf(", shadow increments %d..%d copied", startInc+1, endInc)
		}
	}
	if info.Location == dir {
		if err := c.recordFrozen(ctx, r, dir, &info); err != nil {
			return info, fmt.Errorf("record the frozen parts: %w", err)
		}
	}
	data, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o600); err != nil {
		return info, err
	}
	return info, nil
}

func (c *Client) dbBytes(ctx context.Context, r Replica) (int64, error) {
	var n int64
	err := r.Conn.QueryRow(ctx, "SELECT toInt64(sum(bytes)) FROM system.parts WHERE active AND database = ?", c.Database).Scan(&n)
	return n, err
}

// readIncrement is the server's shadow/increment.txt, -1 when unreadable
// (a remote server), 0 when no freeze has happened yet.
func readIncrement(root string) int {
	if _, err := os.Stat(root); err != nil {
		return -1
	}
	data, err := os.ReadFile(filepath.Join(root, "shadow", "increment.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return -1
	}
	return n
}

func copyTree(src, dst string) (int64, error) {
	var total int64
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(out, in)
		total += n
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
	return total, err
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }
