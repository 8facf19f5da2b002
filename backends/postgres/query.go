package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// MaxQueryRows bounds what a runbook query may return: evidence, not an export.
const MaxQueryRows = 1000

// privilegedRoles reach outside the database or into other sessions: a
// runbook query refuses to run as a role that has (or can SET ROLE to) one.
var privilegedRoles = []string{"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files", "pg_signal_backend"}

// guardQuery sets the statement timeout for this transaction only and reads
// who the query would run as. A SELECT, so the snapshot is taken and the
// transaction can no longer be switched to read-write.
const guardQuery = `select current_user::text, current_setting('is_superuser'),
	set_config('statement_timeout', $1, true),
	(select coalesce(string_agg(r, ', '), '') from unnest($2::text[]) as r where pg_has_role(r, 'MEMBER'))`

// QueryRows runs one runbook query: over the extended protocol (the server
// refuses more than one statement), in a READ ONLY transaction with a
// statement timeout, as the endpoint's query role, which must be neither a
// superuser nor a member of a role that runs programs, touches server files
// or signals other backends. Every value comes back in PostgreSQL's text
// form; NULL is "NULL". It implements runbook.SQLQuerier.
func (c *Client) QueryRows(ctx context.Context, query string) ([]string, [][]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	pool := c.query
	if pool == nil {
		return nil, nil, fmt.Errorf("postgres %s: no query pool (client not opened with New)", c.Name)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres %s: %w", c.Name, err)
	}
	defer release(conn)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, fmt.Errorf("postgres %s: begin read-only: %w", c.Name, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var user, super, timeout, member string
	if err := tx.QueryRow(ctx, guardQuery, statementTimeout(ctx), privilegedRoles).Scan(&user, &super, &timeout, &member); err != nil {
		return nil, nil, fmt.Errorf("postgres %s: prepare read-only query: %w", c.Name, err)
	}
	if super == "on" {
		return nil, nil, fmt.Errorf("postgres %s: refused: runbook queries do not run as superuser %q; set postgres.query-dsn to a read-only role (ops/runbook/runbooks/README.md)", c.Name, user)
	}
	if member != "" {
		return nil, nil, fmt.Errorf("postgres %s: refused: runbook queries do not run as %q, a member of %s; set postgres.query-dsn to a read-only role (ops/runbook/runbooks/README.md)", c.Name, user, member)
	}
	rows, err := tx.Query(ctx, query, pgx.QueryExecModeExec)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres %s: %w", c.Name, err)
	}
	defer rows.Close()
	var cols []string
	for _, fd := range rows.FieldDescriptions() {
		cols = append(cols, fd.Name)
	}
	var out [][]string
	for rows.Next() {
		if len(out) == MaxQueryRows {
			return nil, nil, fmt.Errorf("postgres %s: query returned more than %d rows; aggregate or add a LIMIT", c.Name, MaxQueryRows)
		}
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, v := range raw {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("postgres %s: %w", c.Name, err)
	}
	// COMMIT, END or ROLLBACK as the one statement: not a query.
	if st := conn.Conn().PgConn().TxStatus(); st != 'T' {
		return nil, nil, fmt.Errorf("postgres %s: refused: the query ended its read-only transaction; a runbook query is one SELECT", c.Name)
	}
	return cols, out, nil
}

// statementTimeout is the server-side limit in milliseconds: what is left of
// ctx's deadline, so the server stops a query the client gave up on.
func statementTimeout(ctx context.Context) string {
	d := DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}

// release resets the session after a runbook query (advisory locks,
// prepared statements, session settings: whatever one statement left
// behind), and drops the connection when that fails.
func release(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pc := conn.Conn().PgConn()
	if !pc.IsClosed() && pc.TxStatus() == 'I' {
		if _, err := pc.Exec(ctx, "DISCARD ALL").ReadAll(); err == nil {
			conn.Release()
			return
		}
	}
	_ = conn.Hijack().Close(ctx)
}

var _ runbook.SQLQuerier = (*Client)(nil)
