package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// chCount reads back over the replica's own connection, without readonly.
func chCount(t *testing.T, c *Client, q string) uint64 {
	t.Helper()
	var n uint64
	if err := c.Replicas[0].Conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// readonly=1 refuses every write and every attempt to lift it, through the
// runbook path, and the tables are as they were.
func TestRunbookQueryWritesRefusedByClickHouse(t *testing.T) {
	c := client(t)
	c.Replicas = c.Replicas[:1] // one server, so the read-back sees what it did
	events := chCount(t, c, "select count() from events")
	tables := chCount(t, c, "select count() from system.tables where database not in ('system')")
	queries := []string{
		"insert into events select * from events limit 1",
		"create table runbook_escape (i UInt8) engine = Memory",
		"drop table if exists events",
		"alter table events delete where 1 = 1",
		"insert into events select * from events limit 1 settings readonly = 0",
		"select 1 settings readonly = 0",
		"set readonly = 0",
		"select 1; create table runbook_escape_multi (i UInt8) engine = Memory",
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			rb, err := runbook.Parse("ch.yaml", []byte("name: ch\nsteps:\n- id: q\n  sql: {store: clickhouse, query: \""+q+"\"}\n  expect: '>= 0'\n"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := runbook.Run(context.Background(), runbook.Env{SQL: map[string]runbook.SQLQuerier{"clickhouse": c}}, rb, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			res := st.Steps[0]
			if res.Status != runbook.StepError {
				t.Fatalf("%s: %s %s, want an error", q, res.Status, res.Summary)
			}
			low := strings.ToLower(res.Summary)
			if !strings.Contains(low, "readonly") && !strings.Contains(low, "multi-statements") {
				t.Fatalf("%s: %q, want a readonly (or one-statement) refusal", q, res.Summary)
			}
			t.Logf("refused: %s", res.Summary)
		})
	}
	if got := chCount(t, c, "select count() from events"); got != events {
		t.Errorf("events: %d rows, were %d", got, events)
	}
	if got := chCount(t, c, "select count() from system.tables where database not in ('system')"); got != tables {
		t.Errorf("%d tables, were %d", got, tables)
	}
}
