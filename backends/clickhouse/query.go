package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// MaxQueryRows bounds what a runbook query may return: evidence, not an export.
const MaxQueryRows = 1000

// QueryRows runs query with readonly=1 (the server refuses writes and
// setting changes) on the first replica that answers, and returns every value
// formatted as text. It implements ops.SQLQuerier.
func (c *Client) QueryRows(ctx context.Context, query string) ([]string, [][]string, error) {
	if len(c.Replicas) == 0 {
		return nil, nil, errors.New("clickhouse: no replicas configured")
	}
	var errs []error
	for _, r := range c.Replicas {
		cols, rows, err := queryRows(ctx, r, query)
		if err == nil {
			return cols, rows, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, nil, errors.Join(errs...)
}

func queryRows(ctx context.Context, r Replica, query string) ([]string, [][]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"readonly": 1}))
	rows, err := r.Conn.Query(ctx, query)
	if err != nil {
		return nil, nil, fmt.Errorf("clickhouse %s: %w", r.Addr, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	cols := make([]string, len(types))
	for i, t := range types {
		cols[i] = t.Name()
	}
	var out [][]string
	for rows.Next() {
		if len(out) == MaxQueryRows {
			return nil, nil, fmt.Errorf("clickhouse %s: query returned more than %d rows; aggregate or add a LIMIT", r.Addr, MaxQueryRows)
		}
		dest := make([]any, len(types))
		for i, t := range types {
			dest[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("clickhouse %s: scan: %w", r.Addr, err)
		}
		row := make([]string, len(dest))
		for i, d := range dest {
			row[i] = text(reflect.ValueOf(d).Elem())
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("clickhouse %s: %w", r.Addr, err)
	}
	return cols, out, nil
}

// text formats a scanned value; Nullable columns scan into pointers.
func text(v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v.Interface())
}

var _ runbook.SQLQuerier = (*Client)(nil)
