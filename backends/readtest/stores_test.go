package readtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/backends/clickhouse"
	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/backends/redis"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func pgClient(t *testing.T, dsn, name string) *postgres.Client {
	t.Helper()
	c, err := postgres.New(context.Background(), config.PostgresEndpoint{DSN: dsn}, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Pause the standby's replay and write on the primary: the standby reports
// itself paused with growing replay lag in bytes and seconds, the primary's
// pg_stat_replication shows the replay byte lag, and the collector's region
// summary carries it.
func TestPostgresPausedReplayLagGrowsAndIsReported(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	ctx := ctxT(t, 90*time.Second)
	prim := pgClient(t, p.Postgres.Primary.DSN, "primary")
	stby := pgClient(t, p.Postgres.Standby.DSN, "secondary")
	table := strings.ReplaceAll(unique("replay_probe"), "-", "_")
	if _, err := prim.Pool.Exec(ctx, "CREATE TABLE "+table+" (n int)"); err != nil {
		t.Fatal(err)
	}
	write := func() {
		if _, err := prim.Pool.Exec(ctx, "INSERT INTO "+table+" SELECT generate_series(1, 1000)"); err != nil {
			t.Fatal(err)
		}
	}
	write()
	// The standby has replayed a transaction before the pause.
	localtest.Eventually(t, 20*time.Second, "standby replays the first write", func() error {
		s, err := stby.ReadPGReplication(ctx)
		if err != nil {
			return err
		}
		if s[0].LastReplay.IsZero() || s[0].ReplayLagBytes != 0 {
			return fmt.Errorf("standby %+v", s[0])
		}
		return nil
	})
	if _, err := stby.Pool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = stby.Pool.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })

	c := collect.New(collect.Options{Context: "t"},
		collect.RegionSources{Region: "primary", Role: "primary", PGReplication: prim},
		collect.RegionSources{Region: "secondary", Role: "secondary", PGReplication: stby})
	var first state.PGStandby
	localtest.Eventually(t, 20*time.Second, "paused standby reports byte and time lag", func() error {
		write()
		s, err := stby.ReadPGReplication(ctx)
		if err != nil {
			return err
		}
		first = s[0]
		if !first.ReplayPaused || first.State != "paused" || first.ReplayLagBytes <= 0 || first.ReplayLagSeconds <= 0 {
			return fmt.Errorf("standby %+v", first)
		}
		return nil
	})
	localtest.Eventually(t, 20*time.Second, "replay lag grows while paused", func() error {
		write()
		s, err := stby.ReadPGReplication(ctx)
		if err != nil {
			return err
		}
		if s[0].ReplayLagBytes <= first.ReplayLagBytes || s[0].ReplayLagSeconds <= first.ReplayLagSeconds+0.5 {
			return fmt.Errorf("lag %d B %.2fs, first %d B %.2fs", s[0].ReplayLagBytes, s[0].ReplayLagSeconds, first.ReplayLagBytes, first.ReplayLagSeconds)
		}
		return nil
	})
	rows, err := prim.ReadPGReplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ReplayLagBytes <= 0 || rows[0].State != "streaming" {
		t.Fatalf("primary's view of the paused standby: %+v", rows)
	}
	snap := c.CollectOnce(ctx)
	var sec state.Region
	for _, r := range snap.Regions {
		if r.Name == "secondary" {
			sec = r
		}
	}
	if sec.StandbyLagSec <= first.ReplayLagSeconds {
		t.Errorf("region secondary standby lag %.2fs, want more than %.2fs", sec.StandbyLagSec, first.ReplayLagSeconds)
	}
	if len(snap.Replication.Postgres) != 2 {
		t.Errorf("postgres replication rows %d, want 2 (primary's view + standby's own)", len(snap.Replication.Postgres))
	}

	// Resume: the standby catches up and its lag returns to zero.
	if _, err := stby.Pool.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 30*time.Second, "standby catches up after resume", func() error {
		s, err := stby.ReadPGReplication(ctx)
		if err != nil {
			return err
		}
		if s[0].ReplayPaused || s[0].ReplayLagBytes != 0 || s[0].ReplayLagSeconds != 0 {
			return fmt.Errorf("standby %+v", s[0])
		}
		return nil
	})
}

// Hold K connections under one application name: pg_stat_activity's figures
// follow up and back down.
func TestPostgresHeldConnectionsAreCounted(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	ctx := ctxT(t, 60*time.Second)
	prim := pgClient(t, p.Postgres.Primary.DSN, "primary")
	app := unique("hold")
	const k = 5
	base, err := prim.ReadStorePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var max int
	if err := prim.Pool.QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&max); err != nil {
		t.Fatal(err)
	}
	if base.Limit != max || base.Reserved < 0 || base.ByApplication[app] != 0 {
		t.Fatalf("baseline %+v, want limit %d and no %s", base, max, app)
	}
	cfg, err := pgx.ParseConfig(p.Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = app
	var held []*pgx.Conn
	for i := 0; i < k; i++ {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	got, err := prim.ReadStorePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ByApplication[app] != k || got.Connections < k {
		t.Fatalf("with %d held: %s=%d of %d connections", k, app, got.ByApplication[app], got.Connections)
	}
	for _, c := range held[:2] {
		c.Close(ctx)
	}
	localtest.Eventually(t, 10*time.Second, "closed connections leave pg_stat_activity", func() error {
		got, err := prim.ReadStorePool(ctx)
		if err != nil {
			return err
		}
		if got.ByApplication[app] != k-2 {
			return fmt.Errorf("%s=%d, want %d", app, got.ByApplication[app], k-2)
		}
		return nil
	})
	for _, c := range held[2:] {
		c.Close(ctx)
	}
}

// Redis: the primary reports its replica online with its offset lag; held
// clients are counted by name against maxclients.
func TestRedisReplicationAndClients(t *testing.T) {
	p := localtest.Platform(t, local.Redis)
	ctx := ctxT(t, 30*time.Second)
	prim, err := redis.New(config.RedisEndpoint{Addr: p.Redis.Primary.Addr}, "primary")
	if err != nil {
		t.Fatal(err)
	}
	defer prim.Close()
	repl, err := redis.New(config.RedisEndpoint{Addr: p.Redis.Replica.Addr}, "secondary")
	if err != nil {
		t.Fatal(err)
	}
	defer repl.Close()
	for i := 0; i < 100; i++ {
		if err := prim.Redis.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	localtest.Eventually(t, 10*time.Second, "replica online and caught up", func() error {
		rs, err := prim.ReadRedisReplication(ctx)
		if err != nil {
			return err
		}
		if len(rs) != 1 || rs[0].LinkStatus != "up" || rs[0].OffsetLag != 0 {
			return fmt.Errorf("replicas %+v", rs)
		}
		return nil
	})
	self, err := repl.ReadRedisReplication(ctx)
	if err != nil || len(self) != 1 || self[0].LinkStatus != "up" {
		t.Fatalf("replica's own view %+v, %v", self, err)
	}

	name := strings.ReplaceAll(unique("hold"), "-", "_")
	const k = 4
	var held []*goredis.Conn
	for i := 0; i < k; i++ {
		rc := goredis.NewClient(&goredis.Options{Addr: p.Redis.Primary.Addr, ClientName: name})
		defer rc.Close()
		conn := rc.Conn()
		if err := conn.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	pool, err := prim.ReadStorePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var maxclients int
	cfg, _ := prim.Redis.ConfigGet(ctx, "maxclients").Result()
	fmt.Sscan(cfg["maxclients"], &maxclients)
	if pool.ByApplication[name] != k || pool.Connections < k || pool.Limit != maxclients || maxclients == 0 {
		t.Fatalf("pool %+v, want %s=%d and limit %d", pool, name, k, maxclients)
	}
	for _, c := range held {
		c.Close()
	}
}

// Stop fetches on one replica of the shard and insert on the other: its
// system.replicas row shows the queue and then the delay; after start it
// drains. 18.16 has no system.backups: listing returns nothing.
func TestClickHouseStoppedFetchesShowQueueAndDelay(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	ch := p.ClickHouse
	ctx := ctxT(t, 90*time.Second)
	// the second replica of the first replica's shard
	lagging := -1
	for i := 1; i < len(ch.Replicas); i++ {
		if ch.Replicas[i].Shard == ch.Replicas[0].Shard {
			lagging = i
			break
		}
	}
	if lagging < 0 {
		t.Fatal("no second replica in the first shard")
	}
	cc, err := clickhouse.New(config.CHEndpoint{Addrs: []string{ch.Replicas[0].NativeAddr, ch.Replicas[lagging].NativeAddr}, Database: ch.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := ch.StopFetches(ctx, lagging); err != nil {
		t.Fatal(err)
	}
	defer ch.StartFetches(context.Background(), lagging)
	conn, err := ch.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	src := unique("readtest")
	for b := 0; b < 2; b++ {
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events (id, source, type, created_at, payload)")
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Append(fmt.Sprint(src, b), src, "test.event", time.Now().UTC().Truncate(time.Second), "{}"); err != nil {
			t.Fatal(err)
		}
		if err := batch.Send(); err != nil {
			t.Fatal(err)
		}
	}
	row := func() (state.CHReplica, error) {
		rs, err := cc.ReadCHReplicas(ctx)
		if err != nil {
			return state.CHReplica{}, err
		}
		for _, r := range rs {
			if r.Table == "events" && r.Database == "wotr" && strings.Contains(r.Replica, ch.Replicas[lagging].NativeAddr) {
				return r, nil
			}
		}
		return state.CHReplica{}, fmt.Errorf("no wotr.events row for %s in %+v", ch.Replicas[lagging].NativeAddr, rs)
	}
	localtest.Eventually(t, 30*time.Second, "stopped replica reports queue and delay", func() error {
		r, err := row()
		if err != nil {
			return err
		}
		if r.QueueSize == 0 || r.AbsoluteDelay == 0 {
			return fmt.Errorf("row %+v", r)
		}
		return nil
	})
	if err := ch.StartFetches(ctx, lagging); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 30*time.Second, "replica drains its queue after START FETCHES", func() error {
		r, err := row()
		if err != nil {
			return err
		}
		if r.QueueSize != 0 || r.AbsoluteDelay != 0 {
			return fmt.Errorf("row %+v", r)
		}
		return nil
	})
	v, err := cc.Version(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := cc.ListBackups(ctx)
	if err != nil || bs != nil || clickhouse.HasSystemBackups(v) {
		t.Fatalf("server %s: backups %v err %v; want none without system.backups", v, bs, err)
	}
}
