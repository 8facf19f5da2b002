package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// MaxQueryRows bounds what a runbook query may return: evidence, not an export.
const MaxQueryRows = 1000

// QueryRows runs query in a READ ONLY transaction (a runbook step never
// writes) and returns every value as PostgreSQL's text form; NULL is "NULL".
// It implements ops.SQLQuerier.
func (c *Client) QueryRows(ctx context.Context, query string) ([]string, [][]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tx, err := c.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, fmt.Errorf("postgres %s: begin read-only: %w", c.Name, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// The simple protocol returns text for every column, exactly as psql shows it.
	rows, err := tx.Query(ctx, query, pgx.QueryExecModeSimpleProtocol)
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
	return cols, out, nil
}

var _ runbook.SQLQuerier = (*Client)(nil)
