package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/backends/redis"
	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// faults fails chosen calls of the real backends: fail["promote@secondary"] = n
// fails the n-th call of that capability in that region (1: the first).
type faults struct {
	mu    sync.Mutex
	fail  map[string]int
	calls map[string]int
	// before runs once before the real call, for faults of the moment (a
	// standby's replay paused after the plan, just before the fence).
	before map[string]func()
	// onCall, when set, sees every wrapped call's key before it is made; it
	// returns an error to end the call with (nil: the call goes on).
	onCall func(key string) error
}

func (f *faults) called(key string) error {
	f.mu.Lock()
	fn := f.onCall
	f.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(key)
}

func (f *faults) set(key string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.calls, f.before = map[string]int{key: n}, map[string]int{}, map[string]func(){}
}

func (f *faults) clear() { f.set("", 0) }

// hit counts a call and says whether it is the one to fail.
func (f *faults) hit(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[key]++
	return f.fail[key] > 0 && f.calls[key] == f.fail[key]
}

func (f *faults) done(key string) {
	f.mu.Lock()
	fn := f.before[key]
	delete(f.before, key)
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
}

var errInjected = errors.New("injected fault")

type faultPG struct {
	*postgres.Client
	key string
	f   *faults
}

func (c faultPG) Fence(ctx context.Context, dataDir string) (action.ServerStop, error) {
	if c.f.hit("fence" + c.key) {
		return action.ServerStop{Running: true}, fmt.Errorf("fast shutdown: %w", errInjected)
	}
	c.f.done("fence" + c.key)
	return c.Client.Fence(ctx, dataDir)
}

func (c faultPG) FenceState(ctx context.Context, dataDir string) (action.ServerStop, error) {
	if err := c.f.called("fencestate" + c.key); err != nil {
		return action.ServerStop{}, err
	}
	return c.Client.FenceState(ctx, dataDir)
}

func (c faultPG) Promote(ctx context.Context, resumeReplay bool) error {
	if c.f.hit("promote" + c.key) {
		return fmt.Errorf("pg_promote: %w", errInjected)
	}
	if err := c.Client.Promote(ctx, resumeReplay); err != nil {
		return err
	}
	// The operator's Ctrl-C right after pg_promote returned.
	if c.f.hit("promoted" + c.key) {
		return context.Canceled
	}
	return nil
}

func (c faultPG) WaitWritable(ctx context.Context) error {
	if c.f.hit("writable" + c.key) {
		return fmt.Errorf("first write: %w", errInjected)
	}
	return c.Client.WaitWritable(ctx)
}

type faultKube struct {
	*kube.Client
	key string
	f   *faults
}

// SetDeploymentEnv fails as the apiserver does when the Role lacks update.
func (c faultKube) SetDeploymentEnv(ctx context.Context, dep string, env map[string]string, dry bool) (bool, error) {
	if c.f.hit("repoint" + c.key) {
		return false, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, dep,
			errors.New(`User "system:serviceaccount:wotr:wotr-console" cannot update resource "deployments"`))
	}
	return c.Client.SetDeploymentEnv(ctx, dep, env, dry)
}

type faultRedis struct {
	*redis.Client
	key string
	f   *faults
}

func (c faultRedis) RedisRole(ctx context.Context) (string, error) {
	if c.f.hit("redis" + c.key) {
		return "", fmt.Errorf("dial tcp: connection refused: %w", errInjected)
	}
	return c.Client.RedisRole(ctx)
}

// faultBackends wraps the platform's real clients.
func faultBackends(p *wire.Platform, f *faults) action.Backends {
	return action.BackendsFunc(func(sys state.System, r config.RegionConfig) (any, error) {
		c, err := p.Client(sys, r)
		if err != nil || c == nil {
			return c, err
		}
		key := "@" + r.Name
		switch c := c.(type) {
		case *postgres.Client:
			return faultPG{c, key, f}, nil
		case *kube.Client:
			return faultKube{c, key, f}, nil
		case *redis.Client:
			return faultRedis{c, key, f}, nil
		}
		return c, nil
	})
}

// promoteRig drives promote through the action service over faulty
// backends, with the roles carried from run to run as a config file would.
type promoteRig struct {
	t      *testing.T
	p      *local.Platform
	cc     config.ContextConfig
	wire   *wire.Platform
	faults *faults
}

func (g *promoteRig) promote(target string, params map[string]string, force bool) (*action.Plan, *action.Result, error) {
	g.t.Helper()
	ctx := context.Background()
	svc := action.NewService(g.cc, faultBackends(g.wire, g.faults))
	svc.Options.VerifyTimeout = 3 * time.Second
	req := action.Request{Kind: action.KindPromote, Target: target, Params: params}
	if force {
		req.Force, req.Reason = true, "test: "+g.t.Name()
	}
	plan, err := svc.Plan(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	res, err := svc.Execute(ctx, plan, target, nil)
	g.cc = svc.Config // saveRoles updates the service's context
	return plan, res, err
}

// pgUp reports a server's answer, or that it does not answer.
func pgUp(dsn string) (up, inRecovery bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false, false
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return false, false
	}
	return true, inRecovery
}

func apiEnvPort(t *testing.T, p *local.Platform) string {
	t.Helper()
	dep, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Get(context.Background(), "wotr-api", metav1.GetOptions{})
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

func redisRole(t *testing.T, addr string) string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	role, err := c.Do(context.Background(), "ROLE").Slice()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(role[0])
}

// promotedToSecondary is the end state of promote secondary, whatever path led to it.
func (g *promoteRig) promotedToSecondary(t *testing.T) {
	t.Helper()
	pg := g.p.Postgres
	if up, rec := pgUp(pg.Standby.DSN); !up || rec {
		t.Errorf("secondary: up %v, in recovery %v; want the writable primary", up, rec)
	}
	if err := pgWrite(t, pg.Standby.DSN, fmt.Sprintf("write-%d", time.Now().UnixNano())); err != nil {
		t.Errorf("the new primary refuses writes: %v", err)
	}
	if up, _ := pgUp(pg.Primary.DSN); up {
		t.Error("the old primary answers: it is not fenced")
	}
	if got := apiEnvPort(t, g.p); got != fmt.Sprint(pg.Standby.Port) {
		t.Errorf("API POSTGRES_PORT %s, want the secondary's %d", got, pg.Standby.Port)
	}
	if got := redisRole(t, g.p.Redis.Replica.Addr); got != "master" {
		t.Errorf("the secondary's Redis is %s, want master", got)
	}
	for _, r := range g.cc.Regions {
		if want := map[string]state.Role{"secondary": state.RolePrimary, "primary": "secondary"}[r.Name]; r.Role != want {
			t.Errorf("role of %s: %s, want %s", r.Name, r.Role, want)
		}
	}
}

// untouched: a refused promote changed nothing that matters.
func (g *promoteRig) untouched(t *testing.T) {
	t.Helper()
	pg := g.p.Postgres
	if up, rec := pgUp(pg.Standby.DSN); !up || !rec {
		t.Errorf("secondary: up %v, in recovery %v; want the standby", up, rec)
	}
	if got := apiEnvPort(t, g.p); got != fmt.Sprint(pg.Primary.Port) {
		t.Errorf("API POSTGRES_PORT %s, want the primary's %d", got, pg.Primary.Port)
	}
}

// restore promotes the primary region back and rebuilds the secondary as its standby.
func (g *promoteRig) restore(t *testing.T) {
	t.Helper()
	g.faults.clear()
	if up, rec := pgUp(g.p.Postgres.Primary.DSN); up && !rec {
		if up, rec := pgUp(g.p.Postgres.Standby.DSN); up && rec {
			return // as it began
		}
	}
	_, res, err := g.promote("primary", map[string]string{action.ParamRebuildOld: "true"}, false)
	if err != nil {
		t.Fatalf("promote back: %v %+v", err, res)
	}
	if up, rec := pgUp(g.p.Postgres.Standby.DSN); !up || !rec {
		t.Fatalf("the secondary is not a standby after the promote back")
	}
}

func appDSN(t *testing.T, dsn, user, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// TestPromoteFaults fails promote at each phase and runs it again: the re-run
// finishes the promote (or, where the fault came before pg_promote, the
// refused run changed nothing and the re-run does it all). Then a switchover
// under continuous writes loses no committed row.
func TestPromoteFaults(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.Kube, local.Postgres, local.Redis}})
	ctx := context.Background()
	cc := contextFor(t, p)
	createDeployment(t, p.Kube.Clientset, deployment("wotr-api", p.Kube.Namespace, 1, nil,
		map[string]string{"POSTGRES_HOST": p.Postgres.Primary.Host, "POSTGRES_PORT": fmt.Sprint(p.Postgres.Primary.Port)}))
	wp := wire.Open(ctx, cc)
	defer wp.Close()
	g := &promoteRig{t: t, p: p, cc: cc, wire: wp, faults: &faults{}}
	pg := p.Postgres

	// Faults before pg_promote: the run is refused or fails, nothing is
	// promoted; the re-run does the whole promote.
	for _, tc := range []struct {
		name, fault string
		// code: errors.Is target of the faulty run.
		refused bool
		// oldStopped: the faulty run already fenced the old primary.
		oldStopped bool
	}{
		{name: "fence fails", fault: "fence@primary", refused: true},
		{name: "pg_promote fails", fault: "promote@secondary", oldStopped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer g.restore(t)
			g.faults.set(tc.fault, 1)
			_, res, err := g.promote("secondary", nil, false)
			if err == nil || errors.Is(err, action.ErrRefused) != tc.refused {
				t.Fatalf("faulty run: err %v (refused %v), want refused %v; %+v", err, errors.Is(err, action.ErrRefused), tc.refused, res)
			}
			if up, rec := pgUp(pg.Standby.DSN); !up || !rec {
				t.Fatalf("a failed run before pg_promote promoted the standby (up %v, in recovery %v)", up, rec)
			}
			if up, _ := pgUp(pg.Primary.DSN); up == tc.oldStopped {
				t.Fatalf("old primary up %v after the faulty run, want %v", up, !tc.oldStopped)
			}
			g.untouched(t)
			g.faults.clear()
			_, res, err = g.promote("secondary", nil, false)
			if err != nil {
				t.Fatalf("re-run: %v %+v", err, res)
			}
			g.promotedToSecondary(t)
		})
	}

	t.Run("standby does not catch up", func(t *testing.T) {
		defer g.restore(t)
		standby, err := pgx.Connect(ctx, pg.Standby.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer standby.Close(ctx)
		// Replay pauses after the plan, before the fence: the last WAL arrives
		// and is not replayed.
		g.faults.set("", 0)
		g.faults.before["fence@primary"] = func() {
			if _, err := standby.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
				t.Error(err)
			}
		}
		_, res, err := g.promote("secondary", nil, false)
		if !errors.Is(err, action.ErrRefused) {
			t.Fatalf("promote with a standby that does not catch up: %v %+v", err, res)
		}
		if c := checkByName(res.Verified, "no data loss"); c == nil || c.Status != action.CheckFail {
			t.Errorf("no data loss check: %+v", res.Verified)
		}
		g.untouched(t)
		if up, _ := pgUp(pg.Primary.DSN); up {
			t.Fatal("the old primary answers after the fence")
		}
		if _, err := standby.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
			t.Fatal(err)
		}
		// The re-run starts from the stopped old primary's shutdown checkpoint.
		plan, res, err := g.promote("secondary", nil, false)
		if err != nil {
			t.Fatalf("re-run: %v %+v", err, res)
		}
		if c := checkByName(plan.Checks, "old primary fenced"); c == nil || c.Status != action.CheckPass {
			t.Errorf("re-run plan does not start from the fenced old primary: %+v", plan.Checks)
		}
		if c := checkByName(res.Verified, "no data loss"); c == nil || c.Status != action.CheckPass {
			t.Errorf("re-run no data loss: %+v", c)
		}
		g.promotedToSecondary(t)
	})

	// Faults after pg_promote: the re-run is a resume.
	for _, tc := range []struct{ name, fault string }{
		{"ctrl-c right after pg_promote", "promoted@secondary"},
		{"first write fails", "writable@secondary"},
		{"repoint refused by RBAC", "repoint@primary"},
		{"redis unreachable", "redis@secondary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer g.restore(t)
			g.faults.set(tc.fault, 1)
			_, res, err := g.promote("secondary", nil, false)
			if err == nil || res.OK {
				t.Fatalf("faulty run succeeded: %+v", res)
			}
			if up, rec := pgUp(pg.Standby.DSN); !up || rec {
				t.Fatalf("the standby was not promoted by the faulty run (up %v, in recovery %v)", up, rec)
			}
			g.faults.clear()
			plan, res, err := g.promote("secondary", nil, false)
			if err != nil {
				t.Fatalf("re-run: %v %+v %+v", err, plan.Checks, res)
			}
			if c := checkByName(plan.Checks, "resume"); c == nil || c.Status != action.CheckPass {
				t.Errorf("re-run plan is not a resume: %s %+v", plan.Summary, plan.Checks)
			}
			t.Logf("re-run: %s", plan.Summary)
			g.promotedToSecondary(t)
			// Converged: a third run has nothing left to do.
			plan, _, err = g.promote("secondary", nil, false)
			if !errors.Is(err, action.ErrRefused) || checkByName(plan.Checks, "target not primary") == nil {
				t.Errorf("third run: %v %+v", err, plan.Checks)
			}
		})
	}

	t.Run("switchover without a data dir refused", func(t *testing.T) {
		saved := g.cc
		defer func() { g.cc = saved }()
		g.cc.Regions = append([]config.RegionConfig(nil), saved.Regions...)
		ep := *g.cc.Regions[0].Postgres
		ep.DataDir = ""
		g.cc.Regions[0].Postgres = &ep
		plan, _, err := g.promote("secondary", nil, false)
		if !errors.Is(err, action.ErrRefused) {
			t.Fatalf("promote without a way to fence: %v", err)
		}
		if c := checkByName(plan.Checks, "old primary fenceable"); c == nil || c.Status != action.CheckFail || !c.Hard {
			t.Errorf("fence check: %+v", plan.Checks)
		}
		// --failover with a reachable, writable old primary is refused too.
		plan, _, err = g.promote("secondary", map[string]string{action.ParamFailover: "true"}, true)
		if !errors.Is(err, action.ErrRefused) || checkByName(plan.Checks, "failover") == nil {
			t.Fatalf("--failover with a writable old primary: %v %+v", err, plan.Checks)
		}
		g.untouched(t)
	})

	t.Run("failover of a crashed primary", func(t *testing.T) {
		defer g.restore(t)
		// An immediate stop is a crash: no shutdown checkpoint, the last WAL unknown.
		if out, err := pg.RunAsOSUser(ctx, "pg_ctl", "-D", pg.Primary.DataDir, "-m", "immediate", "-w", "stop"); err != nil {
			t.Fatalf("pg_ctl stop -m immediate: %v %s", err, out)
		}
		plan, _, err := g.promote("secondary", nil, false)
		if !errors.Is(err, action.ErrRefused) || checkByName(plan.Checks, "old primary fenceable") == nil {
			t.Fatalf("switchover from a crashed primary: %v %+v", err, plan.Checks)
		}
		plan, _, err = g.promote("secondary", map[string]string{action.ParamFailover: "true"}, false)
		if !errors.Is(err, action.ErrRefused) {
			t.Fatalf("--failover without --force: %v", err)
		}
		loss := checkByName(plan.Checks, "estimated data loss")
		if loss == nil || loss.Status != action.CheckWarn {
			t.Errorf("failover plan's data loss: %+v", plan.Checks)
		} else {
			t.Logf("failover data-loss estimate: %s", loss.Detail)
		}
		plan, res, err := g.promote("secondary", map[string]string{action.ParamFailover: "true"}, true)
		if err != nil {
			t.Fatalf("--failover --force: %v %+v %+v", err, plan.Checks, res)
		}
		g.promotedToSecondary(t)
	})

	t.Run("switchover under writes", func(t *testing.T) { switchoverUnderWrites(t, g) })
}

// switchoverUnderWrites writes to the old primary with the application's
// credentials, as fast as it takes them, through a switchover; a second
// writer tries the new primary. Every committed row must be on the new
// primary, and the two must never both take writes.
func switchoverUnderWrites(t *testing.T, g *promoteRig) {
	defer g.restore(t)
	ctx := context.Background()
	pg := g.p.Postgres
	admin, err := pgx.Connect(ctx, pg.Primary.DSN)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DROP TABLE IF EXISTS drill_writes",
		"CREATE TABLE drill_writes (id bigserial PRIMARY KEY, writer text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
		"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wotr_app') THEN CREATE ROLE wotr_app LOGIN PASSWORD 'app-secret'; END IF; END $$",
		"GRANT SELECT, INSERT ON drill_writes TO wotr_app",
		"GRANT USAGE ON SEQUENCE drill_writes_id_seq TO wotr_app",
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	admin.Close(ctx)
	oldApp := appDSN(t, pg.Primary.DSN, "wotr_app", "app-secret")
	newApp := appDSN(t, pg.Standby.DSN, "wotr_app", "app-secret")
	eventually(t, 10*time.Second, "the table and role reach the standby", func() (bool, string) {
		c, err := pgx.Connect(ctx, newApp)
		if err != nil {
			return false, err.Error()
		}
		defer c.Close(ctx)
		var n int
		err = c.QueryRow(ctx, "SELECT count(*) FROM drill_writes").Scan(&n)
		return err == nil, fmt.Sprint(err)
	})

	type commit struct {
		id int64
		at time.Time
	}
	// writer inserts through one session, reconnecting on errors, until stop.
	writer := func(dsn, name string, stop <-chan struct{}, out *[]commit, attempts *int) {
		var c *pgx.Conn
		for {
			select {
			case <-stop:
				if c != nil {
					c.Close(context.Background())
				}
				return
			default:
			}
			*attempts++
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if c == nil {
				var err error
				if c, err = pgx.Connect(cctx, dsn); err != nil {
					c = nil
					cancel()
					continue
				}
			}
			var id int64
			err := c.QueryRow(cctx, "INSERT INTO drill_writes (writer) VALUES ($1) RETURNING id", name).Scan(&id)
			cancel()
			if err != nil {
				c.Close(context.Background())
				c = nil
				continue
			}
			*out = append(*out, commit{id, time.Now()})
		}
	}
	stop := make(chan struct{})
	var oldCommits, newCommits []commit
	var oldAttempts, newAttempts int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); writer(oldApp, "old", stop, &oldCommits, &oldAttempts) }()
	go func() { defer wg.Done(); writer(newApp, "new", stop, &newCommits, &newAttempts) }()
	// Writes flow before the switchover starts.
	localtest.Eventually(t, 10*time.Second, "100 rows committed on the old primary", func() error {
		c, err := pgx.Connect(ctx, pg.Primary.DSN)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM drill_writes").Scan(&n); err != nil {
			return err
		}
		if n < 100 {
			return fmt.Errorf("%d rows", n)
		}
		return nil
	})
	t0 := time.Now()
	_, res, err := g.promote("secondary", nil, false)
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("switchover: %v %+v", err, res)
	}
	localtest.Eventually(t, 10*time.Second, "the writer of the new primary commits", func() error {
		c, err := pgx.Connect(ctx, pg.Standby.DSN)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM drill_writes WHERE writer = 'new'").Scan(&n); err != nil || n == 0 {
			return fmt.Errorf("%d rows from the new writer: %v", n, err)
		}
		return nil
	})
	close(stop)
	wg.Wait()

	// A fresh session with the application's credentials, and the superuser's:
	// neither can reach the fenced server, so neither can write or undo the fence.
	for _, dsn := range []string{oldApp, pg.Primary.DSN} {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_, werr := c.Exec(ctx, "SET default_transaction_read_only = off; INSERT INTO drill_writes (writer) VALUES ('after-fence')")
			c.Close(ctx)
			t.Fatalf("a fresh session reached the fenced old primary (write: %v)", werr)
		}
	}

	ids := make([]int64, len(oldCommits))
	for i, c := range oldCommits {
		ids[i] = c.id
	}
	nc, err := pgx.Connect(ctx, pg.Standby.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close(ctx)
	var found int
	if err := nc.QueryRow(ctx, "SELECT count(*) FROM drill_writes WHERE writer = 'old' AND id = ANY($1)", ids).Scan(&found); err != nil {
		t.Fatal(err)
	}
	lastOld := oldCommits[len(oldCommits)-1].at
	firstNew := newCommits[0].at
	overlap := max(0, lastOld.Sub(firstNew).Seconds())
	t.Logf("switchover under writes: %d rows committed on the old primary (%d attempts), %d lost; %d committed on the new one; "+
		"two writable primaries for %.3fs; last old commit %.3fs, first new commit %.3fs after the promote started; to writes %.3fs, write pause %.3fs",
		len(oldCommits), oldAttempts, len(oldCommits)-found, len(newCommits), overlap,
		lastOld.Sub(t0).Seconds(), firstNew.Sub(t0).Seconds(), res.Measurements["confirm_to_writes_seconds"], res.Measurements["write_pause_seconds"])
	if found != len(oldCommits) {
		t.Errorf("%d of %d rows committed on the old primary are not on the new one", len(oldCommits)-found, len(oldCommits))
	}
	if !lastOld.Before(firstNew) {
		t.Errorf("the old primary committed at %s, after the new one's first commit at %s", lastOld, firstNew)
	}
	g.promotedToSecondary(t)
}
