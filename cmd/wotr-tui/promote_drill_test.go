package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// pgState is one server's answer to "are you the primary?".
func pgState(t *testing.T, dsn string) (inRecovery, readOnly bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only') = 'on'").Scan(&inRecovery, &readOnly); err != nil {
		t.Fatal(err)
	}
	return inRecovery, readOnly
}

// pgWrite writes through a plain session, as the API does: no explicit
// read-write transaction that would step over a fence.
func pgWrite(t *testing.T, dsn, mark string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE TABLE IF NOT EXISTS drill_marks (mark text PRIMARY KEY, at timestamptz DEFAULT now())")
	if err == nil {
		_, err = c.Exec(ctx, "INSERT INTO drill_marks (mark) VALUES ($1)", mark)
	}
	return err
}

func pgHasMark(t *testing.T, dsn, mark string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM drill_marks WHERE mark = $1", mark).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func configRoles(t *testing.T, path string) map[string]string {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context("local-test")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, r := range cc.Regions {
		roles[r.Name] = string(r.Role)
	}
	return roles
}

func mustVerified(t *testing.T, d actionOutput, names ...string) {
	t.Helper()
	if d.Result == nil {
		t.Fatalf("no result: %+v", d)
	}
	for _, name := range names {
		if c := checkByName(d.Result.Verified, name); c == nil || c.Status != action.CheckPass {
			t.Errorf("verified %q: %+v (all: %+v)", name, c, d.Result.Verified)
		}
	}
}

// typed runs the CLI as an operator at a terminal who types answer at the prompt.
func typed(t *testing.T, app *testCLI, answer string, args ...string) cliRun {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, answer+"\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer r.Close()
	at := *app
	at.d.in, at.d.isTerminal = r, func(any) bool { return true }
	return at.run(args...)
}

// TestPromoteDrill promotes the secondary region and back on platform/local,
// with the context in a real config file that follows the roles, then runs
// the dr-drill runbook end to end. It ends with the pair as it began: the
// primary region primary, the secondary streaming from it.
func TestPromoteDrill(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Postgres, local.Redis)
	ctx := context.Background()
	app := newCLI(t)
	cfgPath, _ := runbookHome(t, app)
	cc := contextFor(t, p)
	if err := config.SaveContext(cfgPath, cc); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) cliRun {
		return app.run(append([]string{"--config", cfgPath, "--context", cc.Name}, args...)...)
	}
	pg := p.Postgres
	createDeployment(t, p.Kube.Clientset, deployment("wotr-api", p.Kube.Namespace, 1, nil,
		map[string]string{"POSTGRES_HOST": pg.Primary.Host, "POSTGRES_PORT": fmt.Sprint(pg.Primary.Port)}))
	apiPort := func() string {
		dep, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(ctx, "wotr-api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "POSTGRES_PORT" {
				return e.Value
			}
		}
		return ""
	}
	primaryRedis := goredis.NewClient(&goredis.Options{Addr: p.Redis.Primary.Addr})
	defer primaryRedis.Close()
	secondaryRedis := goredis.NewClient(&goredis.Options{Addr: p.Redis.Replica.Addr})
	defer secondaryRedis.Close()

	// An earlier test may have promoted the secondary and left the primary
	// fenced: the way back is the promote under test.
	if rec, ro := pgState(t, pg.Standby.DSN); !rec && !ro {
		r := run("promote", "primary", "--yes", "--rebuild-old-primary", "-o", "json")
		mustCode(t, r, ExitOK)
	}
	if rec, _ := pgState(t, pg.Standby.DSN); !rec {
		t.Fatal("the secondary region's PostgreSQL is not a standby at the start")
	}

	t.Run("wrong confirmation refused", func(t *testing.T) {
		r := typed(t, app, "primary", "--config", cfgPath, "promote", "secondary")
		mustCode(t, r, ExitRefused)
		if !strings.Contains(r.err, `Type "secondary"`) {
			t.Errorf("no prompt for the region name: %s", r.err)
		}
		if rec, _ := pgState(t, pg.Standby.DSN); !rec {
			t.Fatal("a refused promote changed the standby")
		}
	})

	t.Run("promote secondary", func(t *testing.T) {
		r := typed(t, app, "secondary", "--config", cfgPath, "promote", "secondary", "-o", "json")
		mustCode(t, r, ExitOK)
		d := r.doc(t)
		mustVerified(t, d, "old primary fenced", "no data loss", "new primary accepts writes", "repoint primary", "redis primary", "config roles")
		if c := checkByName(d.Plan.Checks, "current primary"); c == nil || !strings.HasPrefix(c.Detail, "primary, by live") {
			t.Errorf("plan's current primary not from live state: %+v", c)
		}
		if c := checkByName(d.Result.Verified, "config roles"); c == nil || !strings.Contains(c.Detail, cfgPath) {
			t.Errorf("result does not say the roles were saved to %s: %+v", cfgPath, c)
		}
		t.Logf("promote secondary: %.3fs to writes, %.3fs total", d.Result.Measurements["confirm_to_writes_seconds"], d.Result.Duration.Seconds())
		if err := pgWrite(t, pg.Standby.DSN, "during-dr"); err != nil {
			t.Fatalf("the new primary refuses writes: %v", err)
		}
		if err := pgWrite(t, pg.Primary.DSN, "split-brain"); err == nil {
			t.Fatal("the fenced old primary took a write")
		}
		if err := secondaryRedis.Set(ctx, "drill:during-dr", "1", 0).Err(); err != nil {
			t.Fatalf("the secondary's Redis refuses writes: %v", err)
		}
		if got := configRoles(t, cfgPath); got["secondary"] != "primary" || got["primary"] != "secondary" {
			t.Fatalf("config roles after the promote: %v", got)
		}
		if got := apiPort(); got != fmt.Sprint(pg.Standby.Port) {
			t.Fatalf("API POSTGRES_PORT %s, want the secondary's %d", got, pg.Standby.Port)
		}
	})

	t.Run("second promote of the secondary refused", func(t *testing.T) {
		r := run("promote", "secondary", "--yes", "-o", "json")
		mustCode(t, r, ExitRefused)
		c := checkByName(r.doc(t).Plan.Checks, "target not primary")
		if c == nil || c.Status != action.CheckFail || !strings.Contains(c.Detail, "already is the primary") {
			t.Fatalf("refusal reason: %+v", r.doc(t).Plan.Checks)
		}
		if rec, ro := pgState(t, pg.Standby.DSN); rec || ro {
			t.Fatalf("a refused promote changed the primary: in recovery %v, read-only %v", rec, ro)
		}
	})

	t.Run("promote back rebuilds the primary region", func(t *testing.T) {
		r := run("promote", "primary", "--yes", "--rebuild-old-primary", "-o", "json")
		mustCode(t, r, ExitOK)
		d := r.doc(t)
		if c := checkByName(d.Plan.Checks, "rebuild as standby"); c == nil || c.Status != action.CheckPass || !strings.Contains(c.Detail, "fenced") {
			t.Errorf("plan does not list the rebuild: %+v", d.Plan.Checks)
		}
		if !strings.Contains(strings.Join(d.Plan.Steps, "\n"), "rebuild primary's PostgreSQL") {
			t.Errorf("plan steps: %v", d.Plan.Steps)
		}
		mustVerified(t, d, "rebuilt primary as standby", "redis primary replicates secondary", "old primary fenced", "no data loss",
			"new primary accepts writes", "repoint primary", "redis primary", "rebuilt secondary as standby", "redis secondary replicates primary", "config roles")
		t.Logf("rebuild: %s", checkByName(d.Result.Verified, "rebuilt primary as standby").Detail)
		t.Logf("promote back: %.3fs to writes (%.3fs without writes), %.3fs total; measurements %v",
			d.Result.Measurements["confirm_to_writes_seconds"], d.Result.Measurements["write_pause_seconds"], d.Result.Duration.Seconds(), d.Result.Measurements)

		if err := pgWrite(t, pg.Primary.DSN, "after-back"); err != nil {
			t.Fatalf("the original primary refuses writes: %v", err)
		}
		if !pgHasMark(t, pg.Primary.DSN, "during-dr") {
			t.Fatal("the write made during the DR period is missing on the original primary")
		}
		eventually(t, 10*time.Second, "the secondary replays the new write", func() (bool, string) {
			return pgHasMark(t, pg.Standby.DSN, "after-back"), "mark after-back not on the secondary"
		})
		if rec, _ := pgState(t, pg.Standby.DSN); !rec {
			t.Fatal("the secondary is not a standby again")
		}
		if v, err := primaryRedis.Get(ctx, "drill:during-dr").Result(); err != nil || v != "1" {
			t.Fatalf("Redis key written during the DR period on the original primary: %q %v", v, err)
		}
		if role, err := secondaryRedis.Do(ctx, "ROLE").Slice(); err != nil || role[0] != "slave" {
			t.Fatalf("the secondary's Redis role: %v %v", role, err)
		}
		if got := configRoles(t, cfgPath); got["primary"] != "primary" || got["secondary"] != "secondary" {
			t.Fatalf("config roles after the promote back: %v", got)
		}
		if got := apiPort(); got != fmt.Sprint(pg.Primary.Port) {
			t.Fatalf("API POSTGRES_PORT %s, want the primary's %d", got, pg.Primary.Port)
		}
	})

	t.Run("dr-drill runbook", func(t *testing.T) {
		t0 := time.Now()
		r := run("runbook", "run", "dr-drill", "--yes", "-o", "json")
		took := time.Since(t0)
		mustCode(t, r, ExitOK)
		d := runDoc(t, r)
		want := map[string]runbook.StepStatus{"standby": runbook.StepPass, "promote-secondary": runbook.StepPass, "secondary-writable": runbook.StepPass,
			"promote-back": runbook.StepPass, "primary-writable": runbook.StepPass, "standby-again": runbook.StepPass}
		for _, s := range d.Run.Steps {
			if w, ok := want[s.ID]; ok && s.Status != w {
				t.Errorf("step %s: %s (%s) %v", s.ID, s.Status, s.Summary, s.Evidence)
			}
			delete(want, s.ID)
		}
		if len(want) > 0 {
			t.Errorf("steps not run: %v", want)
		}
		t.Logf("dr-drill runbook end to end: %.2fs", took.Seconds())
		if got := configRoles(t, cfgPath); got["primary"] != "primary" {
			t.Fatalf("config roles after the drill: %v", got)
		}
		if err := pgWrite(t, pg.Primary.DSN, "after-drill"); err != nil {
			t.Fatalf("the primary refuses writes after the drill: %v", err)
		}
		// Each rebuild restarts with the options of the last start, not more.
		for _, dir := range []string{pg.Primary.DataDir, pg.Standby.DataDir} {
			opts, err := os.ReadFile(filepath.Join(dir, "postmaster.opts"))
			if err != nil || strings.Count(string(opts), `"-D"`) != 1 || !strings.Contains(string(opts), `"-p"`) {
				t.Errorf("%s/postmaster.opts after the rebuilds: %q %v", dir, opts, err)
			}
		}
	})
}
