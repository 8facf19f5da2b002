package clickhouse

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
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.ClickHouse}}))
}

func client(t *testing.T) *Client {
	t.Helper()
	p := localtest.Platform(t, local.ClickHouse)
	var addrs []string
	for _, r := range p.ClickHouse.Replicas {
		addrs = append(addrs, r.NativeAddr)
	}
	c, err := New(config.CHEndpoint{Addrs: addrs, Database: p.ClickHouse.Database})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestQueryRowsReturnsText(t *testing.T) {
	c := client(t)
	cols, rows, err := c.QueryRows(context.Background(),
		`select number as n, toString(number * 2) as s, if(number = 1, NULL, number + 0.5) as f from system.numbers limit 3`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"n", "s", "f"}; !reflect.DeepEqual(cols, want) {
		t.Fatalf("columns %v, want %v", cols, want)
	}
	want := [][]string{{"0", "0", "0.5"}, {"1", "2", "NULL"}, {"2", "4", "2.5"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	// The replication view runbooks read.
	_, rows, err = c.QueryRows(context.Background(), `select replica_name, absolute_delay from system.replicas where table = 'events'`)
	if err != nil || len(rows) == 0 {
		t.Fatalf("system.replicas: %v %v, want a row per local replica", rows, err)
	}
}

// readonly=1: the server refuses writes from a runbook step.
func TestQueryRowsRefusesWrites(t *testing.T) {
	c := client(t)
	_, _, err := c.QueryRows(context.Background(), `create table runbook_must_not_create (i UInt8) engine = Memory`)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Fatalf("create table error = %v, want a readonly refusal", err)
	}
}

func TestQueryRowsTimesOut(t *testing.T) {
	c := client(t)
	c.Replicas = c.Replicas[:1] // one attempt: the deadline is what is tested
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.QueryRows(ctx, `select sleep(3)`); err == nil {
		t.Fatal("sleep(3) under a 300ms deadline succeeded")
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Fatalf("took %s, want the query abandoned near the 300ms deadline", took)
	}
}
