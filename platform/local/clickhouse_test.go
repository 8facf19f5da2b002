package local_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// eventTime is every test event's created_at: created_at is in the table's
// sorting key, so a redelivered event collapses under FINAL only when it
// carries the same one (two inserts may fall either side of a second).
var eventTime = time.Now().UTC().Truncate(time.Second)

func insertEvents(ctx context.Context, t *testing.T, ch *local.ClickHouseCluster, replica int, source string, ids ...string) {
	t.Helper()
	conn, err := ch.Conn(replica)
	if err != nil {
		t.Fatal(err)
	}
	// 18.16 over clickhouse-go needs the INSERT to name its columns.
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events (id, source, type, created_at, payload)")
	if err != nil {
		t.Fatalf("prepare insert on replica %d: %v", replica, err)
	}
	for _, id := range ids {
		if err := batch.Append(id, source, "test.event", eventTime, `{"n":1}`); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert on replica %d: %v", replica, err)
	}
}

func selectIDs(ctx context.Context, ch *local.ClickHouseCluster, replica int, source string) ([]string, error) {
	conn, err := ch.Conn(replica)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, "SELECT id FROM wotr.events WHERE source = ? ORDER BY id", source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func expectIDs(ctx context.Context, ch *local.ClickHouseCluster, replica int, source string, want []string) func() error {
	return func() error {
		got, err := selectIDs(ctx, ch, replica, source)
		if err != nil {
			return err
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("replica %d has %v, want %v", replica, got, want)
		}
		return nil
	}
}

func TestClickHouseReplicates(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	ch := p.ClickHouse
	t.Logf("clickhouse ready in %s: %d servers, zookeeper %s", p.StartTimes[local.ClickHouse], len(ch.Replicas), ch.ZooKeeperAddr)
	if len(ch.Replicas) < 2 {
		t.Fatalf("want at least 2 replicas, got %d", len(ch.Replicas))
	}
	if ch.Database != "wotr" {
		t.Fatalf("Database = %q, want wotr", ch.Database)
	}
	for i, r := range ch.Replicas {
		if _, err := os.Stat(r.Dir + "/config.xml"); err != nil {
			t.Errorf("replica %d config: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	source := fmt.Sprintf("repl-%d", time.Now().UnixNano())
	ids := []string{"a1", "a2", "a3"}
	insertEvents(ctx, t, ch, 0, source, ids...)
	localtest.Eventually(t, 20*time.Second, "rows inserted on replica1 visible on replica2", expectIDs(ctx, ch, 1, source, ids))
}

func TestClickHouseFetchesLag(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	ch := p.ClickHouse
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	if err := ch.StopFetches(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = ch.StartFetches(context.Background(), 1)
		}
	}()
	source := fmt.Sprintf("lag-%d", time.Now().UnixNano())
	insertEvents(ctx, t, ch, 0, source, "b1")
	insertEvents(ctx, t, ch, 0, source, "b2")

	var lag local.ReplicaLag
	localtest.Eventually(t, 20*time.Second, "replica2 reports a fetch queue", func() error {
		var err error
		lag, err = ch.Lag(ctx, 1)
		if err != nil {
			return err
		}
		if lag.QueueSize == 0 {
			return fmt.Errorf("queue_size = 0 (%+v)", lag)
		}
		return nil
	})
	t.Logf("replica2 while fetches stopped: %+v", lag)
	if lag.TotalReplicas != uint8(len(ch.Replicas)) || lag.ActiveReplicas != lag.TotalReplicas {
		t.Errorf("replicas active/total = %d/%d, want %d/%d", lag.ActiveReplicas, lag.TotalReplicas, len(ch.Replicas), len(ch.Replicas))
	}
	// absolute_delay counts seconds since the oldest part the replica lacks;
	// it becomes positive once a second has passed.
	localtest.Eventually(t, 10*time.Second, "replica2 reports absolute_delay", func() error {
		var err error
		lag, err = ch.Lag(ctx, 1)
		if err != nil {
			return err
		}
		if lag.AbsoluteDelay == 0 {
			return fmt.Errorf("absolute_delay = 0 (%+v)", lag)
		}
		return nil
	})
	t.Logf("replica2 delay: %+v", lag)
	if got, err := selectIDs(ctx, ch, 1, source); err != nil || len(got) != 0 {
		t.Fatalf("replica2 has %v (err %v) while fetches are stopped, want nothing", got, err)
	}

	if err := ch.StartFetches(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stopped = false
	caughtUp := time.Now()
	if err := ch.SyncReplica(ctx, 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica2 caught up %s after START FETCHES", time.Since(caughtUp).Round(time.Millisecond))
	// SyncReplica returned: the queue is executed, no polling needed.
	if l, err := ch.Lag(ctx, 1); err != nil || l.QueueSize != 0 || l.AbsoluteDelay != 0 {
		t.Fatalf("after SyncReplica: lag %+v, err %v; want no queue and no delay", l, err)
	}
	if err := expectIDs(ctx, ch, 1, source, []string{"b1", "b2"})(); err != nil {
		t.Fatalf("after SyncReplica: %v", err)
	}
}

func TestClickHouseDeduplicatesByID(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	ch := p.ClickHouse
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Raw rows are 3 only until a background merge collapses the duplicate,
	// which can come at any moment (other tests' parts share the partition),
	// so merges are held on every replica while the raw count is checked.
	for i := range ch.Replicas {
		if err := ch.Exec(ctx, i, "SYSTEM STOP MERGES wotr.events"); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for i := range ch.Replicas {
			if err := ch.Exec(context.WithoutCancel(ctx), i, "SYSTEM START MERGES wotr.events"); err != nil {
				t.Errorf("restart merges: %v", err)
			}
		}
	}()
	source := fmt.Sprintf("dedup-%d", time.Now().UnixNano())
	insertEvents(ctx, t, ch, 0, source, "d1", "d2")
	// The same event redelivered in a different batch (a new block, so block
	// de-duplication does not apply): FINAL collapses it by id.
	insertEvents(ctx, t, ch, 1, source, "d2")
	conn, err := ch.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 20*time.Second, "redelivered event replicated", func() error {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM wotr.events WHERE source = ?", source).Scan(&n); err != nil {
			return err
		}
		if n != 3 {
			return fmt.Errorf("%d raw rows, want 3 before a merge", n)
		}
		return nil
	})
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM wotr.events FINAL WHERE source = ?", source).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("SELECT ... FINAL counts %d rows, want 2 distinct ids", n)
	}
}

func TestClickHouseBadReplicaIndex(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	err := p.ClickHouse.Exec(context.Background(), len(p.ClickHouse.Replicas), "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("index %d", len(p.ClickHouse.Replicas))) {
		t.Fatalf("Exec on replica %d: got %v, want an error naming the index", len(p.ClickHouse.Replicas), err)
	}
}

func TestClickHouseBadOptions(t *testing.T) {
	_, err := local.Start(context.Background(), local.Options{
		Only:       []string{local.ClickHouse},
		ClickHouse: local.ClickHouseOptions{Replicas: -1},
	})
	if err == nil || !strings.Contains(err.Error(), "Replicas = -1") {
		t.Fatalf("Start with Replicas -1: got %v, want an error naming the value", err)
	}
}

// TestClickHouseTwoShards runs the scaling guide's production layout, 2 shards x 2
// replicas, as a private component: rows written through the Distributed
// table land on both shards by cityHash64(id) and replicate within each.
func TestClickHouseTwoShards(t *testing.T) {
	localtest.Platform(t, local.ClickHouse)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := local.Start(ctx, local.Options{
		Only:       []string{local.ClickHouse},
		ClickHouse: local.ClickHouseOptions{Shards: 2, Replicas: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	ch := p.ClickHouse
	t.Logf("2x2 clickhouse up in %s", p.StartTimes[local.ClickHouse])
	if len(ch.Replicas) != 4 {
		t.Fatalf("%d servers, want 4", len(ch.Replicas))
	}
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, fmt.Sprintf("e%02d", i))
	}
	conn, err := ch.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events_all (id, source, type, created_at, payload)")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, id := range ids {
		if err := batch.Append(id, "sharded", "test.event", now, "{}"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("insert into events_all: %v", err)
	}
	// Every server: its shard's rows locally, all rows through events_all.
	localtest.Eventually(t, 30*time.Second, "rows spread over both shards and replicated", func() error {
		perShard := map[string]uint64{}
		for i, r := range ch.Replicas {
			c, err := ch.Conn(i)
			if err != nil {
				return err
			}
			var onShard, all uint64
			if err := c.QueryRow(ctx, "SELECT count() FROM wotr.events WHERE source = 'sharded'").Scan(&onShard); err != nil {
				return err
			}
			if err := c.QueryRow(ctx, "SELECT count() FROM wotr.events_all WHERE source = 'sharded'").Scan(&all); err != nil {
				return err
			}
			if all != uint64(len(ids)) {
				return fmt.Errorf("%s/%s sees %d rows through events_all, want %d", r.Shard, r.Name, all, len(ids))
			}
			if prev, ok := perShard[r.Shard]; ok && prev != onShard {
				return fmt.Errorf("shard %s replicas disagree: %d vs %d rows", r.Shard, prev, onShard)
			}
			perShard[r.Shard] = onShard
		}
		if perShard["01"] == 0 || perShard["02"] == 0 || perShard["01"]+perShard["02"] != uint64(len(ids)) {
			return fmt.Errorf("rows per shard %v, want both non-empty and summing to %d", perShard, len(ids))
		}
		return nil
	})
}
