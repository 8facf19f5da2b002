package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// superConn is a superuser connection to read back what a query changed.
func superConn(t *testing.T) *pgx.Conn {
	t.Helper()
	p := localtest.Platform(t, local.Postgres)
	conn, err := pgx.Connect(context.Background(), p.Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func scalar(t *testing.T, conn *pgx.Conn, q string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// Every way a runbook query could write, run a program or a file, or reach
// another session is refused with a clear error, and changes nothing.
func TestRunbookQueryEscapesAreRefused(t *testing.T) {
	c := primary(t)
	su := superConn(t)
	ctx := context.Background()
	// Somewhere the server's OS user could write: it must stay absent.
	mark := filepath.Join(os.TempDir(), fmt.Sprintf("wotr-escape-%d", time.Now().UnixNano()))
	t.Cleanup(func() { _ = os.Remove(mark) })
	// A superuser session the admin functions aim at.
	victim, err := pgx.Connect(ctx, localtest.Platform(t, local.Postgres).Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	victimPID := victim.PgConn().PID()
	confLoaded := scalar(t, su, "select pg_conf_load_time()::text")

	cases := []struct {
		class, query, want string
	}{
		{"multi-statement", "SELECT 1; CREATE TABLE escape_multi()", "cannot insert multiple commands into a prepared statement"},
		{"transaction escape", "COMMIT; CREATE TABLE escape_commit()", "cannot insert multiple commands into a prepared statement"},
		{"transaction escape", "END; CREATE TABLE escape_end()", "cannot insert multiple commands into a prepared statement"},
		{"transaction escape", "ROLLBACK; CREATE TABLE escape_rollback()", "cannot insert multiple commands into a prepared statement"},
		{"transaction escape", "COMMIT", "the query ended its read-only transaction"},
		{"transaction escape", "SET TRANSACTION READ WRITE", "transaction read-write mode must be set before any query"},
		{"transaction escape", "SET transaction_read_only = off", "transaction read-write mode must be set before any query"},
		{"program", fmt.Sprintf("COPY (SELECT 1) TO PROGRAM 'touch %s'", mark), "pg_execute_server_program"},
		{"file", fmt.Sprintf("COPY (SELECT 1) TO '%s'", mark), "pg_write_server_files"},
		{"file", "SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"},
		{"file", "SELECT pg_ls_dir('.')", "permission denied for function pg_ls_dir"},
		{"file", fmt.Sprintf("SELECT lo_export(1, '%s')", mark), "permission denied for function lo_export"},
		{"file", "SELECT lo_import('/etc/passwd')", "permission denied for function lo_import"},
		{"admin", fmt.Sprintf("SELECT pg_cancel_backend(%d)", victimPID), "must be a superuser to cancel superuser query"},
		{"admin", fmt.Sprintf("SELECT pg_terminate_backend(%d)", victimPID), "must be a superuser to terminate superuser process"},
		{"admin", "SELECT pg_reload_conf()", "permission denied for function pg_reload_conf"},
		{"admin", "SELECT pg_rotate_logfile()", "permission denied for function pg_rotate_logfile"},
		{"admin", "SET ROLE " + local.PostgresSuperuser, "permission denied to set role"},
		{"admin", "SELECT set_config('default_transaction_read_only', 'off', false), 1/0", "division by zero"},
		{"ddl", "CREATE TABLE escape_ddl (i int)", "cannot execute CREATE TABLE in a read-only transaction"},
		{"ddl", "DROP TABLE IF EXISTS escape_none", "cannot execute DROP TABLE in a read-only transaction"},
		{"ddl", "CREATE TEMP TABLE escape_temp (i int)", "cannot execute CREATE TABLE in a read-only transaction"},
		{"ddl", "CREATE ROLE escape_role SUPERUSER", "cannot execute CREATE ROLE in a read-only transaction"},
		{"dml", "INSERT INTO escape_target VALUES (1)", "cannot execute INSERT in a read-only transaction"},
		{"dml", "UPDATE escape_target SET i = 2", "cannot execute UPDATE in a read-only transaction"},
		{"dml", "DELETE FROM escape_target", "cannot execute DELETE in a read-only transaction"},
		{"dml", "WITH d AS (DELETE FROM escape_target RETURNING i) SELECT count(*) FROM d", "cannot execute SELECT in a read-only transaction"},
		{"dml", "SELECT nextval('escape_seq')", "permission denied for sequence escape_seq"},
		{"dml", "SELECT * FROM escape_target FOR UPDATE", "cannot execute SELECT FOR UPDATE in a read-only transaction"},
	}
	if _, err := su.Exec(ctx, "CREATE TABLE IF NOT EXISTS escape_target (i int); TRUNCATE escape_target; INSERT INTO escape_target VALUES (1); CREATE SEQUENCE IF NOT EXISTS escape_seq"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = su.Exec(context.Background(), "DROP TABLE IF EXISTS escape_target; DROP SEQUENCE IF EXISTS escape_seq")
	})
	tablesBefore := scalar(t, su, "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")
	rolesBefore := scalar(t, su, "select count(*)::text from pg_roles")
	seqBefore := scalar(t, su, "select coalesce(last_value::text, 'unset') from pg_sequences where sequencename = 'escape_seq'")

	for _, cs := range cases {
		t.Run(cs.class+": "+cs.query, func(t *testing.T) {
			_, rows, err := c.QueryRows(ctx, cs.query)
			if err == nil {
				t.Fatalf("ran: %v", rows)
			}
			if !strings.Contains(err.Error(), cs.want) || !strings.Contains(err.Error(), "postgres primary") {
				t.Fatalf("error %q, want it to name the server and say %q", err, cs.want)
			}
			t.Logf("refused: %v", err)
		})
	}

	// Nothing changed: no file, no table, no row, no role, no sequence step,
	// no reload, and the victim session is alive.
	if _, err := os.Stat(mark); !os.IsNotExist(err) {
		t.Errorf("%s exists after the refused COPY/lo_export: %v", mark, err)
	}
	if got := scalar(t, su, "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')"); got != tablesBefore {
		t.Errorf("tables %s, were %s", got, tablesBefore)
	}
	if got := scalar(t, su, "select string_agg(i::text, ',') from escape_target"); got != "1" {
		t.Errorf("escape_target holds %s, want 1", got)
	}
	if got := scalar(t, su, "select count(*)::text from pg_roles"); got != rolesBefore {
		t.Errorf("%s roles, were %s", got, rolesBefore)
	}
	if got := scalar(t, su, "select coalesce(last_value::text, 'unset') from pg_sequences where sequencename = 'escape_seq'"); got != seqBefore {
		t.Errorf("sequence at %s, was %s", got, seqBefore)
	}
	if got := scalar(t, su, "select pg_conf_load_time()::text"); got != confLoaded {
		t.Errorf("configuration reloaded at %s (was %s)", got, confLoaded)
	}
	if err := victim.Ping(ctx); err != nil {
		t.Errorf("the superuser session was hit: %v", err)
	}
}

// A statement that succeeds leaves nothing behind on the connection: session
// settings, advisory locks and prepared statements are reset before the next
// runbook query, which runs read-only again.
func TestRunbookQueryLeavesNoSessionState(t *testing.T) {
	c := primary(t)
	su := superConn(t)
	ctx := context.Background()
	for _, q := range []string{
		"SELECT set_config('default_transaction_read_only', 'off', false)",
		"SELECT set_config('application_name', 'escaped', false)",
		"SELECT pg_advisory_lock(424242)::text",
		"PREPARE escape_later AS SELECT 1",
	} {
		if _, _, err := c.QueryRows(ctx, q); err != nil && !strings.Contains(err.Error(), "PREPARE") {
			t.Logf("%s: %v", q, err)
		}
		_, rows, err := c.QueryRows(ctx, "SELECT current_setting('transaction_read_only') || ' ' || current_setting('application_name') || ' ' || (SELECT count(*) FROM pg_prepared_statements)")
		if err != nil {
			t.Fatal(err)
		}
		if got := rows[0][0]; got != "on wotr-tui runbook 0" {
			t.Fatalf("after %s the next query sees %q, want read-only, its own name, no prepared statement", q, got)
		}
		if n := scalar(t, su, "select count(*)::text from pg_locks where locktype = 'advisory'"); n != "0" {
			t.Fatalf("after %s: %s advisory locks held", q, n)
		}
	}
	if _, _, err := c.QueryRows(ctx, "CREATE TABLE escape_after_reset (i int)"); err == nil || !strings.Contains(err.Error(), "read-only transaction") {
		t.Fatalf("create after the set_config: %v", err)
	}
}

// Without a query-dsn the endpoint's own DSN runs the queries; as a
// superuser it is refused outright, naming the fix.
func TestRunbookQueryRefusesASuperuser(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	c, err := New(context.Background(), config.PostgresEndpoint{DSN: p.Postgres.Primary.DSN}, "primary")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = c.QueryRows(context.Background(), "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), `runbook queries do not run as superuser "wotr"`) || !strings.Contains(err.Error(), "query-dsn") {
		t.Fatalf("superuser query: %v", err)
	}
}

// The runbook role reads what the shipped runbooks read: statistics, every
// session, settings, and the platform's tables, including ones created after
// the role.
func TestRunbookRoleReadsStatsAndPlatformTables(t *testing.T) {
	c := primary(t)
	su := superConn(t)
	ctx := context.Background()
	if _, err := su.Exec(ctx, "CREATE TABLE IF NOT EXISTS later_platform_table (i int); INSERT INTO later_platform_table VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = su.Exec(context.Background(), "DROP TABLE IF EXISTS later_platform_table") })
	for q, want := range map[string]string{
		"select sum(i) from later_platform_table":                                                        "7",
		"select (count(*) > 0)::text from pg_stat_activity where query is not null and usename = 'wotr'": "true",
		"select setting from pg_settings where name = 'data_directory' and setting <> ''":                "",
		"select rolsuper::text from pg_roles where rolname = current_user":                               "false",
	} {
		_, rows, err := c.QueryRows(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if want != "" && (len(rows) != 1 || rows[0][0] != want) {
			t.Errorf("%s = %v, want %s", q, rows, want)
		}
		if want == "" && len(rows) != 1 {
			t.Errorf("%s: pg_read_all_settings not in effect: %v", q, rows)
		}
	}
}
