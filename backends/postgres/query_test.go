package postgres

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Postgres}}))
}

func primary(t *testing.T) *Client {
	t.Helper()
	p := localtest.Platform(t, local.Postgres)
	c, err := New(context.Background(), config.PostgresEndpoint{DSN: p.Postgres.Primary.DSN, QueryDSN: p.Postgres.Primary.QueryDSN}, "primary")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestQueryRowsReturnsText(t *testing.T) {
	c := primary(t)
	cols, rows, err := c.QueryRows(context.Background(),
		`select n, n * 1.5 as half, case when n = 2 then null else 'x' || n end as label from generate_series(1, 3) as n order by n`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"n", "half", "label"}; !reflect.DeepEqual(cols, want) {
		t.Fatalf("columns %v, want %v", cols, want)
	}
	want := [][]string{{"1", "1.5", "x1"}, {"2", "3.0", "NULL"}, {"3", "4.5", "x3"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
}

// A runbook query never writes: the transaction is read-only.
func TestQueryRowsRefusesWrites(t *testing.T) {
	c := primary(t)
	_, _, err := c.QueryRows(context.Background(), `create table runbook_must_not_create (i int)`)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("create table error = %v, want a read-only transaction error", err)
	}
	_, rows, err := c.QueryRows(context.Background(), `select count(*) from pg_tables where tablename = 'runbook_must_not_create'`)
	if err != nil || rows[0][0] != "0" {
		t.Fatalf("table exists after the refused create: %v %v", rows, err)
	}
}

func TestQueryRowsTimesOut(t *testing.T) {
	c := primary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.QueryRows(ctx, `select pg_sleep(10)`)
	if err == nil {
		t.Fatal("pg_sleep(10) under a 300ms deadline succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("took %s, want the query cancelled near the 300ms deadline", took)
	}
	// The pool is usable afterwards.
	if _, rows, err := c.QueryRows(context.Background(), `select 1`); err != nil || rows[0][0] != "1" {
		t.Fatalf("select 1 after a timeout: %v %v", rows, err)
	}
}

func TestQueryRowsBadSQLNamesTheServer(t *testing.T) {
	c := primary(t)
	_, _, err := c.QueryRows(context.Background(), `select from_nowhere(`)
	if err == nil || !strings.Contains(err.Error(), "postgres primary") || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("error = %v, want a syntax error naming the server", err)
	}
}
