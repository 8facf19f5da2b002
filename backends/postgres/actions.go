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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ action.PostgresNode      = (*Client)(nil)
	_ action.Fencer            = (*Client)(nil)
	_ action.Promoter          = (*Client)(nil)
	_ action.BackupTaker       = (*Client)(nil)
	_ action.ConnectionLimiter = (*Client)(nil)
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
func (c *Client) PGStatus(ctx context.Context) (action.PGStatus, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var s action.PGStatus
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

// Fence stops the server at dataDir with a fast shutdown, the fence of a
// switchover. Why a stop and not a setting or a revoked LOGIN: any session can
// SET default_transaction_read_only = off, and the platform's application
// role is a superuser (POSTGRES_USER of the image), which no GRANT or ALTER
// ROLE can hold back; a stopped server takes no session of any role. A fast
// shutdown also ends with the shutdown checkpoint, which the walsenders stream
// and wait for the standbys to flush before the postmaster exits, so "the
// standby has replayed past it" proves that nothing committed was left behind
// (Patroni's switchover checks the same record).
func (c *Client) Fence(ctx context.Context, dataDir string) (action.ServerStop, error) {
	ctx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	lc, err := openLocalCluster(dataDir)
	if err != nil {
		return action.ServerStop{}, err
	}
	if pid := lc.pid(); pid > 0 {
		// SIGINT is the fast shutdown pg_ctl -m fast sends; we poll for its end
		// ourselves, every few milliseconds rather than pg_ctl's 100.
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
			return action.ServerStop{}, fmt.Errorf("signal postmaster %d: %w", pid, err)
		}
		for lc.running() {
			t := time.NewTimer(2 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return action.ServerStop{Running: true}, fmt.Errorf("the server at %s is still shutting down: %w", dataDir, ctx.Err())
			case <-t.C:
			}
		}
	}
	c.Pool.Reset() // its connections died with the server
	return lc.stopState(ctx)
}

// StopTimeout bounds a fence's shutdown; a standby that does not confirm the
// last WAL holds it up to wal_sender_timeout.
const StopTimeout = 90 * time.Second

// FenceState reads whether the server at dataDir runs and, when it is
// stopped, how it stopped and its last checkpoint (pg_controldata).
func (c *Client) FenceState(ctx context.Context, dataDir string) (action.ServerStop, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	lc, err := openLocalCluster(dataDir)
	if err != nil {
		return action.ServerStop{}, err
	}
	if lc.running() {
		return action.ServerStop{Running: true}, nil
	}
	return lc.stopState(ctx)
}

func (lc *localCluster) stopState(ctx context.Context) (action.ServerStop, error) {
	out, err := lc.run(ctx, []string{"LC_ALL=C"}, "pg_controldata", "-D", lc.dataDir)
	if err != nil {
		return action.ServerStop{}, err
	}
	var st action.ServerStop
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Database cluster state":
			st.State = strings.TrimSpace(v)
		case "Latest checkpoint location":
			st.CheckpointLSN = strings.TrimSpace(v)
		}
	}
	if st.State == "" || st.CheckpointLSN == "" {
		return st, fmt.Errorf("pg_controldata -D %s: no cluster state or checkpoint location in its output", lc.dataDir)
	}
	// "shut down": a primary's clean stop. A stopped standby says "shut down in recovery".
	st.Clean = st.State == "shut down"
	return st, nil
}

// PromoteTimeout bounds a promotion, the request and the wait for the end of recovery.
const PromoteTimeout = 60 * time.Second

// Promote asks for promotion with pg_promote(wait => false) and polls
// pg_is_in_recovery() every few milliseconds: pg_promote's own wait checks
// only every 100 ms, which would dominate a fast promotion.
func (c *Client) Promote(ctx context.Context, resumeReplay bool) error {
	if resumeReplay {
		rctx, cancel := withTimeout(ctx)
		_, err := c.Pool.Exec(rctx, "SELECT pg_wal_replay_resume()")
		cancel()
		if err != nil {
			return fmt.Errorf("pg_wal_replay_resume: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, PromoteTimeout)
	defer cancel()
	var ok bool
	if err := c.Pool.QueryRow(ctx, "SELECT pg_promote(false)").Scan(&ok); err != nil {
		return fmt.Errorf("pg_promote: %w", err)
	}
	if !ok {
		return errors.New("pg_promote: the promotion request was not accepted")
	}
	asked := time.Now()
	for {
		var inRecovery bool
		err := c.Pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
		if err == nil && !inRecovery {
			return nil
		}
		// A standby whose upstream just stopped sometimes sits out a 5 s
		// WAL-retry wait before it acts on the request: ask again.
		if err == nil && time.Since(asked) > 50*time.Millisecond {
			_, _ = c.Pool.Exec(ctx, "SELECT pg_promote(false)")
			asked = time.Now()
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
func (c *Client) TakeBackup(ctx context.Context, dir string, progress func(string)) (action.BackupInfo, error) {
	info := action.BackupInfo{Method: "pg_basebackup", Location: dir}
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
	// Counted just after the copy ends: backup verify compares a restore with them.
	cctx, cancel := withTimeout(ctx)
	defer cancel()
	if info.RowCounts, err = tableRowCounts(cctx, c.Pool); err != nil {
		return info, fmt.Errorf("row counts after the backup: %w", err)
	}
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

var (
	_ action.StandbyRebuilder = (*Client)(nil)
	_ action.Unfencer         = (*Client)(nil)
)

// Unfence lifts Fence's default_transaction_read_only. A server rebuilt from a
// copy of a fenced one carries the setting in postgresql.auto.conf.
func (c *Client) Unfence(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := c.Pool.Exec(ctx, "ALTER SYSTEM RESET default_transaction_read_only"); err != nil {
		return "", fmt.Errorf("ALTER SYSTEM: %w", err)
	}
	if _, err := c.Pool.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return "", fmt.Errorf("pg_reload_conf: %w", err)
	}
	return "default_transaction_read_only reset (ALTER SYSTEM)", nil
}

// localCluster is a data dir on this machine and the tools that manage it.
type localCluster struct {
	dataDir string
	binDir  string
	major   int
	// uid and gid own the data dir; the tools run as them (PostgreSQL refuses root).
	uid, gid uint32
	// postOpts are the postgres options of its last start (postmaster.opts),
	// so that it comes back on the same port and socket dir.
	postOpts string
}

func openLocalCluster(dataDir string) (*localCluster, error) {
	if !filepath.IsAbs(dataDir) {
		return nil, fmt.Errorf("data-dir %q: must be an absolute path", dataDir)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data-dir %s is not on this machine: %w", dataDir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data-dir %s is not a directory", dataDir)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("data-dir %s: no owner information", dataDir)
	}
	lc := &localCluster{dataDir: dataDir, uid: st.Uid, gid: st.Gid}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != st.Uid {
		return nil, fmt.Errorf("data-dir %s belongs to uid %d: run as root or as that user", dataDir, st.Uid)
	}
	v, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return nil, fmt.Errorf("data-dir %s is not a PostgreSQL data directory: %w", dataDir, err)
	}
	if lc.major, err = strconv.Atoi(strings.TrimSpace(string(v))); err != nil {
		return nil, fmt.Errorf("data-dir %s: PG_VERSION %q: %w", dataDir, v, err)
	}
	opts, err := os.ReadFile(filepath.Join(dataDir, "postmaster.opts"))
	if err != nil {
		return nil, fmt.Errorf("data-dir %s: the server's start options are unknown (postmaster.opts): %w", dataDir, err)
	}
	lc.postOpts = postOptions(string(opts))
	for _, tool := range []string{"pg_ctl", "pg_basebackup", "pg_controldata"} {
		p, err := findPGBinary(tool, lc.major)
		if err != nil {
			return nil, err
		}
		lc.binDir = filepath.Dir(p)
	}
	return lc, nil
}

// postOptions turns postmaster.opts (`/usr/lib/postgresql/15/bin/postgres
// "-D" "/data" "-p" "5433"`) into pg_ctl's -o string, less -D: pg_ctl passes
// its own, and a copy here would pile up with every restart.
func postOptions(opts string) string {
	var args []string
	rest := opts
	for {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+1:], '"')
		if j < 0 {
			break
		}
		args = append(args, rest[i+1:i+1+j])
		rest = rest[i+2+j:]
	}
	var keep []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-D" {
			i++
			continue
		}
		keep = append(keep, `"`+args[i]+`"`)
	}
	return strings.Join(keep, " ")
}

// run runs one of the cluster's tools as the data dir's owner.
func (lc *localCluster) run(ctx context.Context, env []string, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(lc.binDir, tool), args...)
	// The owner may not be allowed into our working directory; the tools look it up.
	cmd.Dir = filepath.Dir(lc.dataDir)
	cmd.Env = append(os.Environ(), env...)
	if os.Geteuid() == 0 && lc.uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: lc.uid, Gid: lc.gid}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", tool, err, strings.TrimSpace(lastLines(string(out), 6)))
	}
	return string(out), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// rewindable says whether pg_rewind can work on the data dir: it needs
// wal_log_hints or data checksums to know which pages changed.
func (lc *localCluster) rewindable(ctx context.Context) (bool, string) {
	if _, err := findPGBinary("pg_rewind", lc.major); err != nil {
		return false, err.Error()
	}
	out, err := lc.run(ctx, nil, "pg_controldata", "-D", lc.dataDir)
	if err != nil {
		return false, err.Error()
	}
	checksums, hints := "", ""
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Data page checksum version":
			checksums = strings.TrimSpace(v)
		case "wal_log_hints setting":
			hints = strings.TrimSpace(v)
		}
	}
	if hints == "on" || checksums != "" && checksums != "0" {
		return true, fmt.Sprintf("wal_log_hints %s, data checksums version %s", hints, checksums)
	}
	return false, "pg_rewind needs wal_log_hints or data checksums; both are off"
}

func (lc *localCluster) running() bool { return lc.pid() > 0 }

// pid is the running postmaster's, or 0. The postmaster removes its pid file
// last, after the shutdown checkpoint and the walsenders' exit.
func (lc *localCluster) pid() int {
	b, err := os.ReadFile(filepath.Join(lc.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// RebuildMethod checks that dataDir is a local cluster this process can
// rebuild, and names the method that will be tried first.
func (c *Client) RebuildMethod(ctx context.Context, dataDir string) (string, error) {
	lc, err := openLocalCluster(dataDir)
	if err != nil {
		return "", err
	}
	if ok, why := lc.rewindable(ctx); ok {
		return "pg_rewind (" + why + "), pg_basebackup if it fails", nil
	} else {
		return "pg_basebackup -R (" + why + ")", nil
	}
}

// RebuildAsStandby stops the server, resynchronises its data dir from the
// source (pg_rewind where the cluster allows it, else a fresh pg_basebackup
// swapped in for the old dir), writes the standby configuration and starts it
// with the options of its last start.
func (c *Client) RebuildAsStandby(ctx context.Context, req action.StandbyRebuild, progress func(string)) (action.RebuildReport, error) {
	var rep action.RebuildReport
	if progress == nil {
		progress = func(string) {}
	}
	lc, err := openLocalCluster(req.DataDir)
	if err != nil {
		return rep, err
	}
	src, err := pgconn.ParseConfig(req.SourceDSN)
	if err != nil {
		return rep, fmt.Errorf("source dsn %s: %w", config.MaskDSN(req.SourceDSN), err)
	}
	// The password goes through the environment, not the command line; -R
	// writes it into primary_conninfo, as pg_basebackup -R does.
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s", src.Host, src.Port, src.User, req.ApplicationName)
	env := []string{"PGPASSWORD=" + src.Password, "PGCONNECT_TIMEOUT=10"}
	if lc.running() {
		progress("stopping the server (pg_ctl stop -m fast)")
		if _, err := lc.run(ctx, nil, "pg_ctl", "stop", "-D", lc.dataDir, "-m", "fast", "-w", "-t", "60"); err != nil {
			return rep, err
		}
	}
	c.Pool.Reset() // its connections died with the server
	rewound := false
	if ok, why := lc.rewindable(ctx); ok {
		// pg_rewind reads the source's timeline from its control file, which a
		// fresh promotion updates only at its first checkpoint: before it,
		// pg_rewind finds "no rewind required" and the standby cannot follow.
		progress("CHECKPOINT on the source, then pg_rewind from " + src.Host + ":" + strconv.Itoa(int(src.Port)))
		if err := sourceCheckpoint(ctx, req.SourceDSN); err != nil {
			return rep, fmt.Errorf("CHECKPOINT on the source before pg_rewind: %w", err)
		}
		out, err := lc.run(ctx, env, "pg_rewind", "-D", lc.dataDir, "--source-server="+conninfo+" dbname=postgres", "-R")
		if err == nil {
			rewound = true
			rep.Method, rep.Detail = "pg_rewind", strings.TrimSpace(lastLines(out, 2))
		} else {
			rep.Detail = "pg_rewind failed (" + err.Error() + "); "
		}
	} else {
		rep.Detail = why + "; "
	}
	if !rewound {
		if err := lc.baseBackup(ctx, env, conninfo, progress); err != nil {
			return rep, err
		}
		rep.Method = "pg_basebackup"
		rep.Detail += "fresh copy with -R"
	}
	progress("starting it as a standby (pg_ctl start)")
	logPath := lc.dataDir + ".log"
	args := []string{"start", "-D", lc.dataDir, "-w", "-t", "120", "-l", logPath}
	if lc.postOpts != "" {
		args = append(args, "-o", lc.postOpts)
	}
	if _, err := lc.run(ctx, nil, "pg_ctl", args...); err != nil {
		return rep, fmt.Errorf("%w (server log: %s)", err, logPath)
	}
	c.Pool.Reset()
	return rep, nil
}

func sourceCheckpoint(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}

// baseBackup copies the source into a new dir beside the data dir and swaps
// it in, so a failed copy leaves the old data in place.
func (lc *localCluster) baseBackup(ctx context.Context, env []string, conninfo string, progress func(string)) error {
	fresh, old := lc.dataDir+".rebuild", lc.dataDir+".replaced"
	for _, d := range []string{fresh, old} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	progress("pg_basebackup -R into " + fresh)
	if _, err := lc.run(ctx, env, "pg_basebackup", "-D", fresh, "-R", "-X", "stream", "-c", "fast", "-d", conninfo); err != nil {
		_ = os.RemoveAll(fresh)
		return err
	}
	// postmaster.opts is not copied; pg_ctl start gets the options from us, and
	// the next rebuild reads them from here.
	if b, err := os.ReadFile(filepath.Join(lc.dataDir, "postmaster.opts")); err == nil {
		if err := os.WriteFile(filepath.Join(fresh, "postmaster.opts"), b, 0o600); err != nil {
			return err
		}
		_ = os.Chown(filepath.Join(fresh, "postmaster.opts"), int(lc.uid), int(lc.gid))
	}
	if err := os.Rename(lc.dataDir, old); err != nil {
		return err
	}
	if err := os.Rename(fresh, lc.dataDir); err != nil {
		_ = os.Rename(old, lc.dataDir)
		return err
	}
	return os.RemoveAll(old)
}
