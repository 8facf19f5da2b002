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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	if dep, _ := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(ctx, demo.ConsumerDeployment, metav1.GetOptions{}); *dep.Spec.Replicas != replicas {
		t.Errorf("consumers at %d replicas after restore set, want %d", *dep.Spec.Replicas, replicas)
	}
	recs, _ := audit.NewLog(cc.AuditLog).Records(ctx, 1)
	if len(recs) != 1 || recs[0].Action != "restore-set" || recs[0].Outcome != audit.OutcomeOK {
		t.Errorf("last audit record: %+v", recs)
	}
}
