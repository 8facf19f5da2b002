package demo_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/backends/prom"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// An unknown target is refused with the ones the exporter knows.
func TestStoreExporterRefusesAnUnknownTarget(t *testing.T) {
	p := localtest.Platform(t, local.Postgres, local.Redis)
	e, err := demo.StartStoreExporter(p)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	resp, err := http.Get("http://" + e.Addr + "/metrics?target=127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `target "127.0.0.1:1": not a store server`) || !strings.Contains(string(body), p.Postgres.Standby.Addr()) {
		t.Fatalf("unknown target: %d %s", resp.StatusCode, body)
	}
	if got := len(e.Targets()); got != 4 {
		t.Errorf("%d targets, want 4 (2 PostgreSQL, 2 Redis servers)", got)
	}
}

// The replication-lag and connection-budget alert rules evaluate on the
// demo's Prometheus: with WAL replay paused on the standby under writes,
// WotrPostgresReplicationLag goes pending for the standby; with Redis's
// maxclients set below what the pools can open, WotrConnectionBudget for
// Redis goes pending at critical; both clear when the fault is undone.
func TestStoreAlertRulesEvaluateOnTheDemo(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Prometheus, local.ClickHouse, local.Postgres, local.Redis, local.HAProxy)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	_, stop := startLoadedDemo(ctx, t, p)
	defer stop()
	c, err := prom.New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	scalar := func(expr string) (float64, error) {
		v, err := c.Query(ctx, expr)
		if err != nil {
			return 0, err
		}
		if len(v) != 1 {
			return 0, fmt.Errorf("%s: %d series, want 1", expr, len(v))
		}
		return float64(v[0].Value), nil
	}
	alert := func(name, severity, key, value string) func() error {
		return func() error {
			as, err := c.ReadAlerts(ctx)
			if err != nil {
				return err
			}
			for _, a := range as {
				if a.Name == name && a.Severity == severity && a.Labels[key] == value {
					return nil
				}
			}
			return fmt.Errorf("no %s %s alert with %s=%s among %d", name, severity, key, value, len(as))
		}
	}
	noAlert := func(name, key, value string) func() error {
		return func() error {
			as, err := c.ReadAlerts(ctx)
			if err != nil {
				return err
			}
			for _, a := range as {
				if a.Name == name && a.Labels[key] == value {
					return fmt.Errorf("%s still %s: %v", name, a.State, a.Labels)
				}
			}
			return nil
		}
	}
	standby := p.Postgres.Standby.Addr()
	localtest.Eventually(t, time.Minute, "store series scraped", func() error {
		for _, q := range []string{`pg_replication_lag_seconds{instance="` + standby + `"}`, `redis_connected_slave_lag_seconds`, `sum(postgres_pool_size)`, `sum(redis_pool_size)`} {
			if _, err := scalar(q); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("redis connection budget", func(t *testing.T) {
		pools, err := scalar(`sum(redis_pool_size)`)
		if err != nil {
			t.Fatal(err)
		}
		limit := int(pools) - 1 // the pools could open more than a server takes
		// The rule takes the larger limit of the two servers: lower both.
		setMax := func(ctx context.Context, v func(addr string) string) error {
			for _, addr := range []string{p.Redis.Primary.Addr, p.Redis.Replica.Addr} {
				r := goredis.NewClient(&goredis.Options{Addr: addr})
				err := r.ConfigSet(ctx, "maxclients", v(addr)).Err()
				r.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", addr, err)
				}
			}
			return nil
		}
		saved := map[string]string{}
		for _, addr := range []string{p.Redis.Primary.Addr, p.Redis.Replica.Addr} {
			r := goredis.NewClient(&goredis.Options{Addr: addr})
			mc, err := r.ConfigGet(ctx, "maxclients").Result()
			info, ierr := r.Info(ctx, "clients").Result()
			r.Close()
			if err != nil || ierr != nil {
				t.Fatal(err, ierr)
			}
			saved[addr] = mc["maxclients"]
			if n := infoInt(info, "connected_clients"); limit <= n {
				t.Fatalf("%s: pools %v, connected %d: no maxclients below the pools leaves room for the open connections", addr, pools, n)
			}
		}
		defer func() {
			if err := setMax(context.Background(), func(a string) string { return saved[a] }); err != nil {
				t.Errorf("restore maxclients: %v", err)
			}
		}()
		if err := setMax(ctx, func(string) string { return strconv.Itoa(limit) }); err != nil {
			t.Fatal(err)
		}
		localtest.Eventually(t, time.Minute, "WotrConnectionBudget redis critical", alert("WotrConnectionBudget", "critical", "store", "redis"))
		if err := setMax(ctx, func(a string) string { return saved[a] }); err != nil {
			t.Fatal(err)
		}
		localtest.Eventually(t, time.Minute, "WotrConnectionBudget redis cleared", noAlert("WotrConnectionBudget", "store", "redis"))
	})

	t.Run("postgres replication lag", func(t *testing.T) {
		sb, err := pgx.Connect(ctx, p.Postgres.Standby.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close(context.Background())
		prim, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer prim.Close(context.Background())
		if _, err := prim.Exec(ctx, "CREATE TABLE IF NOT EXISTS lag_marks (at timestamptz DEFAULT now())"); err != nil {
			t.Fatal(err)
		}
		// A fresh commit replayed first: the lag then counts from the pause,
		// not from whenever the standby last replayed anything.
		// The insert position after the commit: with synchronous_commit off
		// the write position (pg_current_wal_lsn) can still be before it.
		var lsn string
		if _, err := prim.Exec(ctx, "INSERT INTO lag_marks DEFAULT VALUES"); err != nil {
			t.Fatal(err)
		}
		if err := prim.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		localtest.Eventually(t, 30*time.Second, "standby replayed "+lsn, func() error {
			var ok bool
			if err := sb.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AND pg_last_xact_replay_timestamp() IS NOT NULL", lsn).Scan(&ok); err != nil || !ok {
				return fmt.Errorf("not yet (%v)", err)
			}
			return nil
		})
		if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
			t.Fatal(err)
		}
		// The lag counts from the last commit replayed (the fresh one above,
		// or a later one replayed before the pause took effect): on a loaded
		// machine that can be seconds before the pause.
		var replayed time.Time
		if err := sb.QueryRow(ctx, "SELECT pg_last_xact_replay_timestamp()").Scan(&replayed); err != nil {
			t.Fatal(err)
		}
		if time.Since(replayed) > time.Minute {
			t.Fatalf("the standby's last replayed commit is from %s, not the fresh one", replayed)
		}
		defer func() {
			if _, err := sb.Exec(context.Background(), "SELECT pg_wal_replay_resume()"); err != nil {
				t.Errorf("resume replay: %v", err)
			}
		}()
		// Writes the standby receives and does not replay.
		wctx, stopWrites := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for wctx.Err() == nil {
				_, _ = prim.Exec(wctx, "INSERT INTO lag_marks DEFAULT VALUES")
				select {
				case <-wctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
		defer func() { stopWrites(); <-done }()
		localtest.Eventually(t, time.Minute, "WotrPostgresReplicationLag warning for the standby", alert("WotrPostgresReplicationLag", "warning", "instance", standby))
		// 5s of lag cannot show before 5s after the last replayed commit.
		if since := time.Since(replayed); since < 5*time.Second {
			as, _ := c.ReadAlerts(ctx)
			v, _ := c.Query(ctx, `pg_replication_lag_seconds`)
			t.Errorf("the alert was active %s after the last replayed commit: the lag does not count from it; alerts %+v; lag %v", since, as, v)
		}
		t.Logf("WotrPostgresReplicationLag active %s after the last replayed commit", time.Since(replayed).Round(100*time.Millisecond))
		if v, err := scalar(`pg_replication_lag_seconds{instance="` + standby + `"}`); err != nil || v < 5 {
			t.Errorf("standby lag %v (%v) while the alert is active, want >= 5s", v, err)
		}
		if _, err := sb.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatal(err)
		}
		localtest.Eventually(t, time.Minute, "WotrPostgresReplicationLag cleared", noAlert("WotrPostgresReplicationLag", "instance", standby))
	})
}

func infoInt(info, key string) int {
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == key {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}
