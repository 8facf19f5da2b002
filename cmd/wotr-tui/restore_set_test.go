package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// The consistent restore point: N events through the API, a backup set, M
// more, restore set. The consumer replays the gap from the set's offsets and
// ClickHouse ends with exactly N+M events, none lost, none twice.
func TestRestoreSetReplaysTheGapExactlyOnce(t *testing.T) {
	const n, m = 300, 200
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	backupDir := filepath.Join(base, "backups")
	p := localtest.Private(t, local.Options{Only: []string{local.Kube, local.Kafka, local.ClickHouse, local.Postgres, local.Redis},
		Postgres: local.PostgresOptions{WALArchiveDir: backup.WALArchiveDir(backupDir)}})
	binDir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", binDir+"/", "../wotr-api", "../wotr-consumer").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	d, err := demo.Start(startCtx, demo.Options{Platform: p, BinDir: binDir, NoConfig: true, NoLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop demo: %v", err)
		}
	})
	cc := contextFor(t, p)
	cc.BackupDir = backupDir
	cc.Regions[1].Postgres, cc.Regions[1].Redis, cc.Regions[1].ClickHouse = nil, nil, nil
	app := newCLI(t).withContext(cc)

	tag := "rset" + time.Now().Format("150405.000") + "-"
	post := func(from, to int) {
		t.Helper()
		var addr string
		for _, in := range d.Supervisor.Instances() {
			if in.Deployment == demo.APIDeployment && in.Ready {
				addr = in.Addr
			}
		}
		if addr == "" {
			t.Fatal("no ready API instance")
		}
		for i := from; i < to; i += 50 {
			var evs []api.Event
			for j := i; j < min(i+50, to); j++ {
				evs = append(evs, api.Event{ID: fmt.Sprintf("%s%d", tag, j), Source: api.DemoSource, Type: "restore-set",
					CreatedAt: time.Now().UTC(), Payload: json.RawMessage(`{}`)})
			}
			body, _ := json.Marshal(evs)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", api.DemoAPIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("POST /v1/events: %s", resp.Status)
			}
		}
	}
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	// count is count() FINAL and the distinct ids of this test's events.
	count := func() (rows, ids uint64) {
		t.Helper()
		if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM wotr.events FINAL WHERE startsWith(id, ?)", tag).Scan(&rows, &ids); err != nil {
			t.Fatal(err)
		}
		return rows, ids
	}
	waitCount := func(want uint64, timeout time.Duration) {
		t.Helper()
		localtest.Eventually(t, timeout, fmt.Sprintf("%d events in ClickHouse", want), func() error {
			if rows, _ := count(); rows != want {
				return fmt.Errorf("%d events", rows)
			}
			return nil
		})
	}
	pgRows := func() int {
		t.Helper()
		c, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var k int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM restore_set_marks").Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	pgExec := func(sql string) {
		t.Helper()
		c, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	pgExec("CREATE TABLE restore_set_marks (id int); INSERT INTO restore_set_marks VALUES (1)")
	post(0, n)
	waitCount(n, 2*time.Minute)
	mustCode(t, app.run("backup", "all", "--yes", "-o", "json"), ExitOK)
	id, err := backup.Latest(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	post(n, n+m)
	pgExec("INSERT INTO restore_set_marks VALUES (2)")
	waitCount(n+m, 2*time.Minute)

	t.Run("bad input is refused and changes nothing", func(t *testing.T) {
		// A set without ClickHouse, and one taken without Kafka (no offsets).
		mustCode(t, app.run("backup", "postgres", "--yes"), ExitOK)
		pgOnly, _ := backup.Latest(backupDir)
		noKafka := cc
		noKafka.Regions = append([]config.RegionConfig(nil), cc.Regions...)
		noKafka.Regions[0].Kafka = nil
		mustCode(t, newCLI(t).withContext(noKafka).run("backup", "all", "--yes"), ExitOK)
		noOffsets, _ := backup.Latest(backupDir)
		for _, c := range []struct {
			id, want string
		}{
			{"20990101T000000.000Z-1", `backup set "20990101T000000.000Z-1" is not in the catalog`},
			{pgOnly, "the set has no clickhouse backup"},
			{noOffsets, "the set recorded no Kafka offsets"},
		} {
			r := app.run("restore", "set", c.id, "--confirm", "set@primary", "-o", "json")
			mustCode(t, r, ExitUsage)
			if !strings.Contains(r.out+r.err, c.want) || !strings.Contains(r.out+r.err, c.id) {
				t.Errorf("restore set %s: error does not name the set and say %q: %s %s", c.id, c.want, r.out, r.err)
			}
		}
		mustCode(t, app.run("restore", "set", id, "--confirm", "primary", "-o", "json"), ExitRefused)
		r := app.run("restore", "set", id, "--dry-run", "-o", "json")
		mustCode(t, r, ExitOK)
		if doc := r.doc(t); doc.Plan.OffsetReset == nil || doc.Plan.OffsetReset.Replayed < m {
			t.Errorf("dry run plan replays %+v, want at least the %d events after the backup", doc.Plan.OffsetReset, m)
		}
		if rows, _ := count(); rows != n+m {
			t.Errorf("a refused restore set changed ClickHouse: %d events", rows)
		}
		if k := pgRows(); k != 2 {
			t.Errorf("a refused restore set changed PostgreSQL: %d rows", k)
		}
	})

	dep, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(ctx, demo.ConsumerDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	replicas := *dep.Spec.Replicas
	consumersAt := func() int32 {
		t.Helper()
		d, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(ctx, demo.ConsumerDeployment, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	t.Run("a copy that fails its checks changes nothing", func(t *testing.T) {
		// Claim one more ClickHouse row than the backup holds: its restored
		// copy fails the comparison, after PostgreSQL's copy passed.
		set, _ := backup.Set(backupDir, id)
		var ch backup.Entry
		for _, e := range set {
			if e.Store == "clickhouse" {
				ch = e
			}
		}
		var bumped string
		for k := range ch.RowCounts {
			bumped = k
			break
		}
		ch.RowCounts[bumped]++
		if err := backup.PutEntry(backupDir, ch); err != nil {
			t.Fatal(err)
		}
		r := app.run("restore", "set", id, "--confirm", "set@primary", "-o", "json")
		ch.RowCounts[bumped]--
		if err := backup.PutEntry(backupDir, ch); err != nil {
			t.Fatal(err)
		}
		mustCode(t, r, ExitFailed)
		if !strings.Contains(r.out+r.err, "the live data is untouched") {
			t.Errorf("the failure does not say the live data is untouched: %s %s", r.out, r.err)
		}
		if k := pgRows(); k != 2 {
			t.Errorf("a failed restore set changed PostgreSQL: %d rows, want 2", k)
		}
		if rows, _ := count(); rows != n+m {
			t.Errorf("a failed restore set changed ClickHouse: %d events", rows)
		}
		if kept, _ := filepath.Glob(p.Postgres.Primary.DataDir + ".before-restore-*"); len(kept) != 0 {
			t.Errorf("a failed restore set swapped a data dir: %v", kept)
		}
		if got := consumersAt(); got != replicas {
			t.Errorf("consumers at %d replicas after a failed restore set, want %d", got, replicas)
		}
	})
	r := app.run("restore", "set", id, "--confirm", "set@primary", "-o", "json")
	done := time.Now()
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	t.Logf("restore set: %s (%.1fs)", doc.Result.Summary, doc.Result.Measurements["restore seconds"])
	for _, ph := range doc.Result.Phases {
		t.Logf("  %-26s %6.2fs", ph.Name, ph.Seconds)
	}
	if rs := doc.Result.OffsetReset; rs == nil || rs.Replayed < m {
		t.Errorf("restore set rewound the group by %+v, want at least the %d events after the backup", rs, m)
	}
	if k := pgRows(); k != 1 {
		t.Errorf("PostgreSQL holds %d marks after restoring the set, want the 1 written before it", k)
	}
	waitCount(n+m, 3*time.Minute)
	t.Logf("replay of the gap: ClickHouse back at %d events %.2fs after restore set returned", n+m, time.Since(done).Seconds())
	var raw uint64
	_ = conn.QueryRow(ctx, "SELECT count() FROM wotr.events WHERE startsWith(id, ?)", tag).Scan(&raw)
	t.Logf("rows before merging duplicates: %d (the replay may overlap the backup; FINAL keeps one per id)", raw)
	if rows, ids := count(); rows != n+m || ids != n+m {
		t.Errorf("ClickHouse: count() FINAL %d, distinct ids %d; want %d each", rows, ids, n+m)
	}
	if got := consumersAt(); got != replicas {
		t.Errorf("consumers at %d replicas after restore set, want %d", got, replicas)
	}
	recs, _ := audit.NewLog(cc.AuditLog).Records(ctx, 1)
	if len(recs) != 1 || recs[0].Action != "restore-set" || recs[0].Outcome != audit.OutcomeOK {
		t.Errorf("last audit record: %+v", recs)
	}
}

// restore redis: the keys written after the backup are gone, the backup's
// keys are back with their values, and the replaced keys are kept in an RDB.
func TestRestoreRedis(t *testing.T) {
	// The restore flushes the live server: a platform of its own.
	p := localtest.Private(t, local.Options{Only: []string{local.Redis}})
	cc := contextFor(t, p)
	cc.Regions[1].Redis = nil
	app := newCLI(t).withContext(cc)
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: p.Redis.Primary.Addr})
	defer rc.Close()
	for i := 0; i < 100; i++ {
		if err := rc.Set(ctx, "before:"+itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.Set(ctx, "ttl:before", "x", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	mustCode(t, app.run("backup", "redis", "--yes"), ExitOK)
	id, _ := backup.Latest(cc.BackupDir)
	for i := 0; i < 50; i++ {
		if err := rc.Set(ctx, "after:"+itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.Set(ctx, "before:0", "overwritten", 0).Err(); err != nil {
		t.Fatal(err)
	}

	mustCode(t, app.run("restore", "redis", "--from", id, "--to-lsn", "0/1", "--confirm", "redis@primary"), ExitUsage)
	mustCode(t, app.run("restore", "redis", "--from", id, "--confirm", "postgres@primary"), ExitRefused)
	mustCode(t, app.run("restore", "redis", "--from", id, "--dry-run"), ExitOK)
	if n, _ := rc.DBSize(ctx).Result(); n != 151 {
		t.Fatalf("a refused or dry-run restore changed Redis: %d keys, want 151", n)
	}

	r := app.run("restore", "redis", "--from", id, "--confirm", "redis@primary", "-o", "json")
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	t.Logf("restore: %s (%.2fs)", doc.Result.Summary, doc.Result.Measurements["restore seconds"])
	if n, _ := rc.DBSize(ctx).Result(); n != 101 {
		t.Errorf("%d keys after the restore, want the backup's 101", n)
	}
	if n, _ := rc.Exists(ctx, "after:0", "after:49").Result(); n != 0 {
		t.Errorf("%d keys written after the backup survived the restore", n)
	}
	if v, _ := rc.Get(ctx, "before:0").Result(); v != "0" {
		t.Errorf("before:0 = %q after the restore, want the backup's value 0", v)
	}
	if v, _ := rc.Get(ctx, "before:99").Result(); v != "99" {
		t.Errorf("before:99 = %q after the restore, want 99", v)
	}
	if ttl, _ := rc.TTL(ctx, "ttl:before").Result(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("ttl:before TTL %v after the restore, want the backup's expiry kept", ttl)
	}
	if c := checkByName(doc.Result.Verified, "redis keys restored"); c == nil || c.Status != action.CheckPass {
		t.Errorf("redis keys restored: %+v", c)
	}
	kept, _ := filepath.Glob(filepath.Join(cc.BackupDir, "*", "redis.before-restore-*", "*.rdb"))
	if len(kept) != 1 {
		kept, _ = filepath.Glob(filepath.Join(cc.BackupDir, "*", "*", "redis.before-restore-*", "*.rdb"))
	}
	if len(kept) != 1 || !strings.Contains(doc.Result.Summary, filepath.Dir(kept[0])) {
		t.Errorf("replaced keys not kept in an RDB named in the summary: %v, %q", kept, doc.Result.Summary)
	}
	recs, _ := audit.NewLog(cc.AuditLog).Records(ctx, 1)
	if len(recs) != 1 || recs[0].Action != "restore" || recs[0].Target != "redis" || recs[0].Outcome != audit.OutcomeOK {
		t.Errorf("last audit record: %+v", recs)
	}
}
