package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/ops"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ ops.PostgresNode      = (*Client)(nil)
	_ ops.Fencer            = (*Client)(nil)
	_ ops.Promoter          = (*Client)(nil)
	_ ops.BackupTaker       = (*Client)(nil)
	_ ops.ConnectionLimiter = (*Client)(nil)
)

// ConnectionLimit is max_connections less the superuser reservation, and the
// client connections open now.
func (c *Client) ConnectionLimit(ctx context.Context) (limit, open int, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = c.Pool.QueryRow(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int`).Scan(&limit, &open)
	return limit, open, err
}

// PGStatus reads recovery state, WAL positions and the fence setting.
func (c *Client) PGStatus(ctx context.Context) (ops.PGStatus, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var s ops.PGStatus
	var lastReplay *time.Time
	err := c.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery(),
		CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
		CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_lsn()::text END,
		coalesce(pg_last_wal_receive_lsn()::text, ''),
		coalesce(pg_last_wal_replay_lsn()::text, ''),
		pg_last_xact_replay_timestamp(), now(),
		current_setting('default_transaction_read_only') = 'on'`).
		Scan(&s.InRecovery, &s.ReplayPaused, &s.CurrentLSN, &s.ReceiveLSN, &s.ReplayLSN, &lastReplay, &s.ServerTime, &s.ReadOnly)
	if err != nil {
		return s, err
	}
	if lastReplay != nil {
		s.LastReplay = *lastReplay
	}
	if !s.InRecovery {
		if err := c.Pool.QueryRow(ctx, `SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float8 FROM pg_stat_replication`).
			Scan(&s.StandbyReplayLag); err != nil {
			return s, fmt.Errorf("pg_stat_replication: %w", err)
		}
	}
	if s.InRecovery && s.ReceiveLSN == "" {
		// Not streaming (archive recovery or the walreceiver is down): replay is all it has.
		s.ReceiveLSN = s.ReplayLSN
	}
	return s, nil
}

// Fence makes the server refuse writes: default_transaction_read_only for new
// transactions (persisted with ALTER SYSTEM, so a restart keeps it) and the
// end of every other client session, so no open transaction keeps writing.
func (c *Client) Fence(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	conn, err := c.Pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET default_transaction_read_only = on"); err != nil {
		return "", fmt.Errorf("ALTER SYSTEM: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return "", fmt.Errorf("pg_reload_conf: %w", err)
	}
	var ended int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&ended); err != nil {
		return "", fmt.Errorf("end sessions: %w", err)
	}
	// The terminated sessions may include the pool's other connection.
	c.Pool.Reset()
	return fmt.Sprintf("default_transaction_read_only = on (ALTER SYSTEM), %d client sessions ended", ended), nil
}

// Promote asks for promotion with pg_promote(wait => false) and polls
// pg_is_in_recovery() every few milliseconds: pg_promote's own wait checks
// only every 100 ms, which would dominate a fast promotion.
func (c *Client) Promote(ctx context.Context, resumeReplay bool) error {
	if resumeReplay {
		if _, err := c.Pool.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			return fmt.Errorf("pg_wal_replay_resume: %w", err)
		}
	}
	var ok bool
	if err := c.Pool.QueryRow(ctx, "SELECT pg_promote(false)").Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("pg_promote: the promotion request was not accepted")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		var inRecovery bool
		err := c.Pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
		if err == nil && !inRecovery {
			return nil
		}
		t := time.NewTimer(3 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("still in recovery: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// WaitWritable polls until a read-write transaction can take a transaction id.
func (c *Client) WaitWritable(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var last error
	for {
		last = c.tryWrite(ctx)
		if last == nil {
			return nil
		}
		t := time.NewTimer(3 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
}

func (c *Client) tryWrite(ctx context.Context) error {
	tx, err := c.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadWrite})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var xid int64
	if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&xid); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Endpoint is the host and port of the pool's connection config.
func (c *Client) Endpoint() (string, int) {
	cc := c.Pool.Config().ConnConfig
	return cc.Host, int(cc.Port)
}

// findPGBinary looks for a PostgreSQL client binary of the server's major
// version: Debian keeps them in /usr/lib/postgresql/<major>/bin, off PATH.
func findPGBinary(name string, major int) (string, error) {
	if major > 0 {
		p := fmt.Sprintf("/usr/lib/postgresql/%d/bin/%s", major, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", fmt.Errorf("%s not found (install postgresql-client of version %d)", name, major)
}

func (c *Client) serverMajor(ctx context.Context) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var num int
	if err := c.Pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, err
	}
	return num / 10000, nil
}

// BackupMethod names the pg_basebackup that will run.
func (c *Client) BackupMethod(ctx context.Context) (string, error) {
	major, err := c.serverMajor(ctx)
	if err != nil {
		return "", err
	}
	bin, err := findPGBinary("pg_basebackup", major)
	if err != nil {
		return "", err
	}
	return "pg_basebackup (" + bin + ", tar, WAL streamed)", nil
}

var (
	walStartRE = regexp.MustCompile(`write-ahead log start point: ([0-9A-F]+/[0-9A-F]+)`)
	walEndRE   = regexp.MustCompile(`write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)`)
)

// TakeBackup runs pg_basebackup (tar format, WAL streamed into the backup,
// fast checkpoint) into dir and records the WAL range it covers.
func (c *Client) TakeBackup(ctx context.Context, dir string, progress func(string)) (ops.BackupInfo, error) {
	info := ops.BackupInfo{Method: "pg_basebackup", Location: dir}
	major, err := c.serverMajor(ctx)
	if err != nil {
		return info, err
	}
	bin, err := findPGBinary("pg_basebackup", major)
	if err != nil {
		return info, err
	}
	cc := c.Pool.Config().ConnConfig
	conn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s application_name=wotr-tui-backup", cc.Host, cc.Port, cc.User, cc.Database)
	target := filepath.Join(dir, "base")
	cmd := exec.CommandContext(ctx, bin, "-D", target, "-Ft", "-z", "-X", "stream", "-c", "fast", "-P", "-v",
		"-l", "wotr-tui "+filepath.Base(filepath.Dir(dir)), "-d", conn)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+cc.Password, "PGCONNECT_TIMEOUT=10")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return info, err
	}
	if err := cmd.Start(); err != nil {
		return info, err
	}
	var tail []string
	sc := bufio.NewScanner(stderr)
	sc.Split(scanLinesOrCR)
	lastProgress := time.Time{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if m := walStartRE.FindStringSubmatch(line); m != nil {
			info.WALPosition = m[1]
		}
		if m := walEndRE.FindStringSubmatch(line); m != nil {
			info.WALPosition += ".." + m[1]
		}
		tail = append(tail, line)
		if len(tail) > 8 {
			tail = tail[1:]
		}
		if progress != nil && (time.Since(lastProgress) > 200*time.Millisecond || strings.Contains(line, "pg_basebackup:")) {
			progress(line)
			lastProgress = time.Now()
		}
	}
	if err := cmd.Wait(); err != nil {
		return info, fmt.Errorf("pg_basebackup: %w: %s", err, strings.Join(tail, " | "))
	}
	if info.WALPosition == "" {
		return info, fmt.Errorf("pg_basebackup finished without reporting its WAL position: %s", strings.Join(tail, " | "))
	}
	info.SizeBytes = dirBytes(target)
	info.Detail = fmt.Sprintf("PostgreSQL %d, %s:%d", major, cc.Host, cc.Port)
	return info, nil
}

// scanLinesOrCR splits on \n or \r: pg_basebackup -P rewrites its progress line.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	if atEOF {
		return 0, nil, io.EOF
	}
	return 0, nil, nil
}

func dirBytes(path string) int64 {
	var n int64
	_ = filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
