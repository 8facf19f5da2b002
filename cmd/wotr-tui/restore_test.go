package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// seedStores puts known data in each store: rows in a PostgreSQL table,
// events in two ClickHouse partitions, keys in Redis.
func seedStores(t *testing.T, p *local.Platform, tag string, n int) {
	t.Helper()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	if _, err := pg.Exec(ctx, "CREATE TABLE IF NOT EXISTS verify_rows (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, "INSERT INTO verify_rows SELECT $1 || g FROM generate_series(1, $2) g", tag+"-", n); err != nil {
		t.Fatal(err)
	}
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events (id, source, type, created_at, payload)")
	if err != nil {
		t.Fatal(err)
	}
	months := []time.Time{time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < n; i++ {
		if err := batch.Append(tag+"-"+itoa(i), "verify", "seed", months[i%2], "{}"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(&goredis.Options{Addr: p.Redis.Primary.Addr})
	defer rc.Close()
	for i := 0; i < n; i++ {
		if err := rc.Set(ctx, "verify:"+tag+":"+itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestBackupVerify(t *testing.T) {
	p := localtest.Platform(t, local.Postgres, local.Redis, local.ClickHouse)
	cc := contextFor(t, p)
	cc.Regions[0].Kube, cc.Regions[0].Kafka = nil, nil
	app := newCLI(t).withContext(cc)
	dir := cc.BackupDir
	seedStores(t, p, "v"+time.Now().Format("150405.000"), 200)
	mustCode(t, app.run("backup", "all", "--yes", "-o", "json"), ExitOK)
	id, err := backup.Latest(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := backup.Set(dir, id)
	for _, e := range set {
		if len(e.RowCounts) == 0 {
			t.Fatalf("%s backup recorded no counts: %+v", e.Store, e)
		}
	}

	r := app.run("backup", "verify", id, "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	t.Logf("verify: %s", doc.Result.Summary)
	for _, c := range doc.Result.Verified {
		t.Logf("  %s %s: %s", c.Status, c.Name, c.Detail)
	}
	for _, s := range []string{"postgres", "clickhouse", "redis"} {
		if secs := doc.Result.Measurements[s+" restore seconds"]; secs <= 0 {
			t.Errorf("%s restore time %v, want measured", s, secs)
		}
	}
	for _, name := range []string{"postgres recovered", "postgres rows", "clickhouse rows per partition", "clickhouse checksums", "clickhouse read all rows", "redis dbsize", "redis sample keys"} {
		if c := checkByName(doc.Result.Verified, name); c == nil || c.Status != action.CheckPass {
			t.Errorf("%s: %+v", name, c)
		}
	}
	set, _ = backup.Set(dir, id)
	for _, e := range set {
		if v := e.Verification; v == nil || !v.OK || v.RestoreSeconds <= 0 {
			t.Errorf("%s: catalog verification %+v", e.Store, e.Verification)
		}
	}
	if r := app.run("backups"); !strings.Contains(r.out, "VERIFIED") || !strings.Contains(r.out, "ok ") {
		t.Errorf("backups listing does not show the verification:\n%s", r.out)
	}
	// Nothing the scratch servers used is left behind.
	for _, pat := range []string{"wotr-pg-restore-*", "wotr-ch-restore-*", "wotr-redis-restore-*"} {
		if m, _ := filepath.Glob(filepath.Join(os.TempDir(), pat)); len(m) > 0 {
			t.Errorf("scratch dirs left: %v", m)
		}
	}

	t.Run("a restore that differs from the record fails", func(t *testing.T) {
		// Claim one more row and one more key than the backup held: the
		// restores are unchanged, so each comparison must catch it.
		for _, e := range set {
			for k := range e.RowCounts {
				e.RowCounts[k]++
				break
			}
			e.Verification = nil
			if err := backup.PutEntry(dir, e); err != nil {
				t.Fatal(err)
			}
		}
		r := app.run("backup", "verify", id, "--yes", "-o", "json")
		mustCode(t, r, ExitFailed)
		doc := r.doc(t)
		for _, name := range []string{"postgres rows", "clickhouse rows per partition", "redis dbsize"} {
			if c := checkByName(doc.Result.Verified, name); c == nil || c.Status != action.CheckFail {
				t.Errorf("%s: %+v, want fail", name, c)
			}
		}
		after, _ := backup.Set(dir, id)
		for _, e := range after {
			if v := e.Verification; v == nil || v.OK {
				t.Errorf("%s: catalog verification %+v, want a recorded failure", e.Store, v)
			}
		}
	})
	t.Run("a damaged snapshot fails", func(t *testing.T) {
		var rdb string
		for _, e := range set {
			if e.Store == "redis" {
				rdb = filepath.Join(e.Location, "dump.rdb")
			}
		}
		b, err := os.ReadFile(rdb)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rdb, b[:len(b)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		r := app.run("backup", "verify", id, "--store", "redis", "--yes", "-o", "json")
		mustCode(t, r, ExitFailed)
		if c := checkByName(r.doc(t).Result.Verified, "redis restore"); c == nil || c.Status != action.CheckFail {
			t.Errorf("redis restore of a truncated RDB: %+v", c)
		}
	})
	t.Run("unknown id and store are refused, the catalog unchanged", func(t *testing.T) {
		before, _ := os.ReadFile(filepath.Join(dir, backup.CatalogFile))
		r := app.run("backup", "verify", "20990101T000000.000Z-1", "--yes", "-o", "json")
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.out+r.err, `"20990101T000000.000Z-1" is not in the catalog`) {
			t.Errorf("error does not name the id and the rule: %s %s", r.out, r.err)
		}
		r = app.run("backup", "verify", id, "--store", "kafka", "--yes")
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.out+r.err, `store "kafka"`) {
			t.Errorf("error does not name the store: %s %s", r.out, r.err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, backup.CatalogFile))
		if string(before) != string(after) {
			t.Error("a refused verify changed the catalog")
		}
	})
}

func TestRestorePostgresToTime(t *testing.T) {
	// The restore replaces the primary's data: a platform of its own, with
	// WAL archived beside the backups. The postgres account must reach it.
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	backupDir := filepath.Join(base, "backups")
	p := localtest.Private(t, local.Options{Only: []string{local.Postgres}, Postgres: local.PostgresOptions{WALArchiveDir: backup.WALArchiveDir(backupDir)}})
	cc := contextFor(t, p)
	cc.BackupDir = backupDir
	cc.Regions[1].Postgres = nil
	app := newCLI(t).withContext(cc)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		c, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pitr").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(n int) time.Time {
		t.Helper()
		var at time.Time
		if err := pg.QueryRow(ctx, "INSERT INTO pitr SELECT g FROM generate_series(1, $1) g RETURNING clock_timestamp()", n).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if _, err := pg.Exec(ctx, "CREATE TABLE pitr (id int)"); err != nil {
		t.Fatal(err)
	}
	insert(100)
	mustCode(t, app.run("backup", "postgres", "--yes"), ExitOK)
	id, _ := backup.Latest(backupDir)
	insert(100)
	var target time.Time
	if err := pg.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&target); err != nil {
		t.Fatal(err)
	}
	insert(100)
	pg.Close(ctx)
	if n := count(); n != 300 {
		t.Fatalf("%d rows before the restore", n)
	}

	t.Run("bad input is refused and changes nothing", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--from", "20990101T000000.000Z-1"}, `backup set "20990101T000000.000Z-1" is not in the catalog`},
			{[]string{"--from", id, "--to-time", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "is after now"},
			{[]string{"--from", id, "--to-time", "2020-01-01T00:00:00Z"}, "is before the oldest base backup"},
			{[]string{"--from", id, "--to-time", "yesterday"}, `--to-time "yesterday": must be an RFC 3339 time`},
			{[]string{"--from", id, "--to-lsn", "0/XYZ"}, `--to-lsn "0/XYZ": must be a WAL position`},
			{[]string{"--from", id, "--to-lsn", "0/1", "--to-time", target.UTC().Format(time.RFC3339Nano)}, "give one recovery target"},
			{[]string{"--from", id, "--to-lsn", "0/1"}, "is before the end of backup"},
		} {
			r := app.run(append([]string{"restore", "postgres", "--confirm", "postgres@primary", "-o", "json"}, c.args...)...)
			mustCode(t, r, ExitUsage)
			if !strings.Contains(r.out+r.err, c.want) {
				t.Errorf("%v: error does not say %q: %s %s", c.args, c.want, r.out, r.err)
			}
		}
		r := app.run("restore", "postgres", "--from", id, "--to-time", target.UTC().Format(time.RFC3339Nano), "--confirm", "primary", "-o", "json")
		mustCode(t, r, ExitRefused)
		if n := count(); n != 300 {
			t.Fatalf("a refused restore changed the data: %d rows", n)
		}
	})

	r := app.run("restore", "postgres", "--from", id, "--to-time", target.UTC().Format(time.RFC3339Nano), "--confirm", "postgres@primary", "-o", "json")
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	if w := strings.Join(doc.Plan.Warnings, " "); !strings.Contains(w, "is lost") {
		t.Errorf("the plan does not say what is lost: %v", doc.Plan.Warnings)
	}
	t.Logf("restore: %s (%.1fs)", doc.Result.Summary, doc.Result.Measurements["restore seconds"])
	if n := count(); n != 200 {
		t.Fatalf("%d rows after restoring to %s, want the 200 committed before it", n, target)
	}
	old, _ := filepath.Glob(p.Postgres.Primary.DataDir + ".before-restore-*")
	if len(old) != 1 || !strings.Contains(doc.Result.Summary, old[0]) {
		t.Errorf("old data dir %v not kept or not named in %q", old, doc.Result.Summary)
	}
	recs, _ := audit.NewLog(cc.AuditLog).Records(ctx, 1)
	if len(recs) != 1 || recs[0].Action != "restore" || recs[0].Outcome != audit.OutcomeOK {
		t.Errorf("last audit record: %+v", recs)
	}
}

func TestRestoreClickHouse(t *testing.T) {
	p := localtest.Platform(t, local.ClickHouse)
	cc := contextFor(t, p)
	cc.Regions[0].Kube, cc.Regions[0].Kafka, cc.Regions[0].Postgres, cc.Regions[0].Redis = nil, nil, nil, nil
	app := newCLI(t).withContext(cc)
	ctx := context.Background()
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	insert := func(prefix string, n int, at time.Time) {
		t.Helper()
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events (id, source, type, created_at, payload)")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if err := batch.Append(prefix+strconv.Itoa(i), "restore", "seed", at, "{}"); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatal(err)
		}
	}
	count := func(where string) uint64 {
		t.Helper()
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM wotr.events FINAL WHERE "+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tag := "chr" + time.Now().Format("150405.000") + "-"
	insert(tag+"before-", 50, time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC))
	mustCode(t, app.run("backup", "clickhouse", "--yes"), ExitOK)
	id, _ := backup.Latest(cc.BackupDir)
	set, _ := backup.Set(cc.BackupDir, id)
	var recorded int64
	for k, n := range set[0].RowCounts {
		if strings.HasPrefix(k, "events/") {
			recorded += n
		}
	}
	insert(tag+"after-", 30, time.Date(2026, 8, 5, 0, 0, 0, 0, time.UTC))
	insert(tag+"after-late-", 20, time.Date(2026, 10, 6, 0, 0, 0, 0, time.UTC))

	mustCode(t, app.run("restore", "clickhouse", "--from", id, "--to-lsn", "0/1", "--confirm", "clickhouse@primary"), ExitUsage)
	mustCode(t, app.run("restore", "clickhouse", "--from", id, "--confirm", "clickhouse@secondary"), ExitRefused)
	if n := count("id LIKE '" + tag + "after-%'"); n != 50 {
		t.Fatalf("a refused restore changed the data: %d events after the backup, want 50", n)
	}
	r := app.run("restore", "clickhouse", "--from", id, "--confirm", "clickhouse@primary", "-o", "json")
	mustCode(t, r, ExitOK)
	t.Logf("restore: %s", r.doc(t).Result.Summary)
	if n := count("id LIKE '" + tag + "before-%'"); n != 50 {
		t.Errorf("%d of the 50 events of the backup after the restore", n)
	}
	if n := count("id LIKE '" + tag + "after-%'"); n != 0 {
		t.Errorf("%d events written after the backup survived the restore", n)
	}
	var total uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM wotr.events").Scan(&total); err != nil || int64(total) != recorded {
		t.Errorf("events after the restore: %d (%v), the backup recorded %d", total, err, recorded)
	}
	if kept, _ := filepath.Glob(filepath.Join(p.ClickHouse.Replicas[0].Dir, "data", "data", "wotr", "events", "before-restore-*")); len(kept) != 1 {
		t.Errorf("replaced parts not kept: %v", kept)
	}
}
