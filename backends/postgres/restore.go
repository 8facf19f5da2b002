package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/backends/scratch"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/backup"
)

var _ action.BackupVerifier = (*Client)(nil)

// tableRowCounts counts the rows of every table in the public schema (the
// platform's tables), in one snapshot.
func tableRowCounts(ctx context.Context, q interface {
	Begin(context.Context) (pgx.Tx, error)
}) (map[string]int64, error) {
	tx, err := q.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM public."+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// recoveryTarget is where a restore stops replaying WAL: the end of the
// base backup (Immediate), an LSN or a time.
type recoveryTarget struct {
	Immediate bool
	LSN       string
	Time      time.Time
}

func (t recoveryTarget) settings() []string {
	switch {
	case t.LSN != "":
		return []string{"recovery_target_lsn=" + t.LSN}
	case !t.Time.IsZero():
		return []string{"recovery_target_time=" + t.Time.UTC().Format("2006-01-02 15:04:05.999999") + "+00"}
	}
	return []string{"recovery_target=immediate"}
}

// scratchPG is a server started from a base backup, paused at its recovery target.
type scratchPG struct {
	srv     *scratch.Server
	dataDir string
	dsn     string
	major   int
	owner   scratch.Owner
}

func (s *scratchPG) connect(ctx context.Context) (*pgx.Conn, error) { return pgx.Connect(ctx, s.dsn) }

// remove stops the scratch server (fast shutdown) and deletes its directory.
func (s *scratchPG) remove() error { return s.srv.Remove(syscall.SIGINT) }

// WALArchiveFor is where the WAL of the backups beside e is archived.
func WALArchiveFor(e backup.Entry) string {
	return backup.WALArchiveDir(filepath.Dir(filepath.Dir(e.Location)))
}

// restoreScratch extracts the base backup under e.Location into a new data
// dir (under scratchBase, or the temp dir), starts a server on a free port
// that replays WAL (the backup's own, then the archive) up to target and
// pauses there, read-only. durable keeps fsync on (a restore that is swapped in).
func (c *Client) restoreScratch(ctx context.Context, e backup.Entry, scratchBase string, target recoveryTarget, durable bool, progress func(string)) (*scratchPG, error) {
	base := filepath.Join(e.Location, "base")
	tarball := filepath.Join(base, "base.tar.gz")
	if _, err := os.Stat(tarball); err != nil {
		return nil, fmt.Errorf("backup %s: no base backup at %s: %w", e.ID, tarball, err)
	}
	owner, err := scratch.OwnerFor("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := scratch.NewDir(scratchBase, "wotr-pg-restore-", owner)
	if err != nil {
		return nil, err
	}
	s := &scratchPG{dataDir: filepath.Join(dir, "data"), owner: owner}
	fail := func(err error) (*scratchPG, error) {
		if s.srv != nil {
			_ = s.remove()
		} else {
			_ = os.RemoveAll(dir)
		}
		return nil, err
	}
	run := filepath.Join(dir, "run")
	for _, d := range []string{s.dataDir, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if progress != nil {
		progress("extracting " + tarball)
	}
	if out, err := exec.CommandContext(ctx, "tar", "-xzf", tarball, "-C", s.dataDir).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("extract %s: %w: %s", tarball, err, out))
	}
	walTar := filepath.Join(base, "pg_wal.tar.gz")
	if _, err := os.Stat(walTar); err == nil {
		if out, err := exec.CommandContext(ctx, "tar", "-xzf", walTar, "-C", filepath.Join(s.dataDir, "pg_wal")).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("extract %s: %w: %s", walTar, err, out))
		}
	}
	v, err := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION"))
	if err != nil {
		return fail(fmt.Errorf("backup %s is not a PostgreSQL data directory: %w", e.ID, err))
	}
	if s.major, err = strconv.Atoi(strings.TrimSpace(string(v))); err != nil {
		return fail(fmt.Errorf("backup %s: PG_VERSION %q: %w", e.ID, v, err))
	}
	bin, err := findPGBinary("postgres", s.major)
	if err != nil {
		return fail(err)
	}
	_ = os.Remove(filepath.Join(s.dataDir, "standby.signal"))
	if err := os.WriteFile(filepath.Join(s.dataDir, "recovery.signal"), nil, 0o600); err != nil {
		return fail(err)
	}
	if err := owner.Chown(dir); err != nil {
		return fail(err)
	}
	restoreCmd := "/bin/false"
	if archive := WALArchiveFor(e); dirExists(archive) {
		restoreCmd = fmt.Sprintf("cp '%s/%%f' '%%p'", archive)
	}
	port, err := scratch.FreePort()
	if err != nil {
		return fail(err)
	}
	args := []string{"-D", s.dataDir, "-p", strconv.Itoa(port), "-k", run,
		"-c", "listen_addresses=127.0.0.1", "-c", "cluster_name=wotr-restore", "-c", "archive_mode=off",
		"-c", "hot_standby=on", "-c", "restore_command=" + restoreCmd, "-c", "recovery_target_action=pause"}
	for _, st := range target.settings() {
		args = append(args, "-c", st)
	}
	if !durable {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	if progress != nil {
		progress(fmt.Sprintf("starting PostgreSQL %d on 127.0.0.1:%d, recovering to %s", s.major, port, strings.Join(target.settings(), " ")))
	}
	if s.srv, err = scratch.Start(dir, port, owner, "postgres", bin, args...); err != nil {
		return fail(err)
	}
	cc := c.Pool.Config().ConnConfig
	s.dsn = fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", run, port, cc.User, cc.Database)
	if err := s.srv.WaitReady(ctx, "scratch PostgreSQL recovered to its target", func(ctx context.Context) error {
		conn, err := s.connect(ctx)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var state string
		if err := conn.QueryRow(ctx, "SELECT CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'promoted' END").Scan(&state); err != nil {
			return err
		}
		if state != "paused" {
			return fmt.Errorf("recovery %s", state)
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	return s, nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// VerifyBackup restores e into a scratch server, recovered to the end of the
// backup, and compares the row count of each table with what the backup
// recorded. The live server is only asked for the superuser's name.
func (c *Client) VerifyBackup(ctx context.Context, e backup.Entry, progress func(string)) (action.VerifyReport, error) {
	var rep action.VerifyReport
	end, err := action.BackupEndLSN(e.WALPosition)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	s, err := c.restoreScratch(ctx, e, "", recoveryTarget{Immediate: true}, false, progress)
	if err != nil {
		return rep, err
	}
	defer s.remove() //nolint:errcheck
	conn, err := s.connect(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rep.RestoreTime = time.Since(start)
	var replayed string
	if err := conn.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&replayed); err != nil {
		return rep, err
	}
	got, gerr := action.ParseLSN(replayed)
	want, _ := action.ParseLSN(end)
	if gerr != nil || got < want {
		rep.Checks = append(rep.Checks, action.Check{Name: "recovered", Status: action.CheckFail,
			Detail: fmt.Sprintf("replayed to %s, short of the backup's end %s", replayed, end)})
	} else {
		rep.Checks = append(rep.Checks, action.Check{Name: "recovered", Status: action.CheckPass,
			Detail: fmt.Sprintf("replayed to %s (backup ends at %s) in %s", replayed, end, rep.RestoreTime.Round(time.Millisecond))})
	}
	counts, err := tableRowCounts(ctx, conn)
	if err != nil {
		return rep, fmt.Errorf("count rows on the scratch server: %w", err)
	}
	rep.Checks = append(rep.Checks, action.CompareCounts("rows", e.RowCounts, counts))
	var total int64
	for _, n := range counts {
		total += n
	}
	rep.Detail = fmt.Sprintf("restored to %s, %d tables, %d rows, in %s", replayed, len(counts), total, rep.RestoreTime.Round(time.Millisecond))
	return rep, nil
}
