package local_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestPostgresStandbyReplicates(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg := p.Postgres

	primary, err := pgx.Connect(ctx, pg.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(context.Background())
	standby, err := pgx.Connect(ctx, pg.Standby.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(context.Background())

	var appName, state string
	if err := primary.QueryRow(ctx, "SELECT application_name, state FROM pg_stat_replication").Scan(&appName, &state); err != nil {
		t.Fatal(err)
	}
	if appName != local.PostgresStandbyName || state != "streaming" {
		t.Fatalf("pg_stat_replication: application_name=%q state=%q, want %q streaming", appName, state, local.PostgresStandbyName)
	}

	want := time.Now().Format(time.RFC3339Nano)
	if _, err := primary.Exec(ctx, "CREATE TABLE IF NOT EXISTS replication_probe (v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Exec(ctx, "INSERT INTO replication_probe VALUES ($1)", want); err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		err := standby.QueryRow(ctx, "SELECT count(*) FROM replication_probe WHERE v = $1", want).Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("standby never showed the row written on the primary (last: n=%d err=%v)", n, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	_, err = standby.Exec(ctx, "INSERT INTO replication_probe VALUES ('x')")
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write on standby: err = %v, want read-only transaction error", err)
	}
}

func TestPostgresLayout(t *testing.T) {
	p := localtest.Platform(t, local.Postgres)
	pg := p.Postgres
	for _, s := range []local.PostgresServer{pg.Primary, pg.Standby} {
		fi, err := os.Stat(s.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s data dir mode %v, want 0700", s.Name, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(pg.Standby.DataDir + "/standby.signal"); err != nil {
		t.Errorf("standby has no standby.signal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := pg.RunAsOSUser(ctx, "pg_ctl", "status", "-D", pg.Standby.DataDir)
	if err != nil || !strings.Contains(out, "server is running") {
		t.Fatalf("pg_ctl status as %q: %v\n%s", pg.OSUser, err, out)
	}
	// A wrong password is refused over TCP: auth is not trust.
	bad := strings.Replace(pg.Primary.DSN, ":"+pg.Password+"@", ":wrong@", 1)
	if _, err := pgx.Connect(ctx, bad); err == nil {
		t.Fatal("connect with a wrong password succeeded")
	} else if !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: want a password authentication failure, got %v", err)
	}
}
