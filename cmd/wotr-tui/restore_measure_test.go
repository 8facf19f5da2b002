package main

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// TestMeasureRestoreTimes is the RTO measurement: WOTR_RTO_MB megabytes of
// generated rows in PostgreSQL and of generated events in ClickHouse, backed
// up and verified by restoring; it logs each store's backup size and restore
// time. Skipped unless WOTR_RTO_MB is set (it takes minutes at 250).
func TestMeasureRestoreTimes(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("WOTR_RTO_MB"))
	if mb <= 0 {
		t.Skip("set WOTR_RTO_MB to measure restore times")
	}
	p := localtest.Private(t, local.Options{Only: []string{local.Postgres, local.Redis, local.ClickHouse}, ClickHouse: local.ClickHouseOptions{Replicas: 1}})
	cc := contextFor(t, p)
	cc.Regions[1].Postgres, cc.Regions[1].Redis, cc.Regions[1].ClickHouse = nil, nil, nil
	app := newCLI(t).withContext(cc)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, p.Postgres.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	// ~1 KB per row, little of it compressible.
	rows := mb * 1000
	if _, err := pg.Exec(ctx, "CREATE TABLE rto (id bigint PRIMARY KEY, payload text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, "INSERT INTO rto SELECT g, (SELECT string_agg(md5(g::text || k::text), '') FROM generate_series(1, 31) k) FROM generate_series(1, $1) g", rows); err != nil {
		t.Fatal(err)
	}
	// Events of ~512 B of hex payload (no two rows share any), over three monthly partitions.
	if err := p.ClickHouse.Exec(ctx, 0, `INSERT INTO wotr.events (id, source, type, created_at, payload)
SELECT concat('rto-', toString(number)), 'rto', 'gen', toDateTime('2026-09-01 00:00:00') + number % (90*86400),
 concat(hex(MD5(toString(number*16+0))),hex(MD5(toString(number*16+1))),hex(MD5(toString(number*16+2))),hex(MD5(toString(number*16+3))),hex(MD5(toString(number*16+4))),hex(MD5(toString(number*16+5))),hex(MD5(toString(number*16+6))),hex(MD5(toString(number*16+7))),hex(MD5(toString(number*16+8))),hex(MD5(toString(number*16+9))),hex(MD5(toString(number*16+10))),hex(MD5(toString(number*16+11))),hex(MD5(toString(number*16+12))),hex(MD5(toString(number*16+13))),hex(MD5(toString(number*16+14))),hex(MD5(toString(number*16+15))))
FROM system.numbers LIMIT `+strconv.Itoa(rows*2)); err != nil {
		t.Fatal(err)
	}
	var pgBytes int64
	_ = pg.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&pgBytes)
	conn, _ := p.ClickHouse.Conn(0)
	var chBytes uint64
	_ = conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'wotr'").Scan(&chBytes)
	t.Logf("generated: postgres database %d MB, clickhouse parts %d MB on disk (%d events)", pgBytes>>20, chBytes>>20, rows*2)

	mustCode(t, app.run("backup", "all", "--yes"), ExitOK)
	id, _ := backup.Latest(cc.BackupDir)
	r := app.run("backup", "verify", id, "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	set, _ := backup.Set(cc.BackupDir, id)
	for _, e := range set {
		t.Logf("RTO %-10s backup %7.1f MB (%s)  restore %6.2f s", e.Store, float64(e.SizeBytes)/(1<<20), e.Method, doc.Result.Measurements[string(e.Store)+" restore seconds"])
	}
}
