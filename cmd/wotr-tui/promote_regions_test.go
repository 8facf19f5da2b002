package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// ackLedger is an at-least-once client's record: each id is posted until a
// 202 acknowledges it, and only acknowledged ids must reach ClickHouse.
type ackLedger struct {
	mu    sync.Mutex
	acked []string
	at    []time.Time // when each was acknowledged
	// firstFrom: unix nanos of the first 202 answered by each backend.
	firstFrom sync.Map
	errors    atomic.Int64
}

func postEvent(ctx context.Context, client *http.Client, front, id string) (int, string, error) {
	body := fmt.Sprintf(`[{"id":%q,"source":%q,"type":"page_view","created_at":%q,"payload":{"n":1}}]`,
		id, api.DemoSource, time.Now().UTC().Format(time.RFC3339Nano))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, front+"/v1/events", strings.NewReader(body))
	req.Header.Set(api.APIKeyHeader, api.DemoAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(local.HAProxyBackendHeader), nil
}

// load posts unique ids from workers until ctx ends, each retried until
// acknowledged.
func (l *ackLedger) load(ctx context.Context, front, prefix string, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	var seq atomic.Int64
	client := &http.Client{Timeout: 3 * time.Second}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := fmt.Sprintf("%s%d", prefix, seq.Add(1))
				for ctx.Err() == nil {
					code, be, err := postEvent(ctx, client, front, id)
					if err == nil && code == http.StatusAccepted {
						l.mu.Lock()
						l.acked = append(l.acked, id)
						l.at = append(l.at, time.Now())
						l.mu.Unlock()
						l.firstFrom.LoadOrStore(be, time.Now().UnixNano())
						break
					}
					l.errors.Add(1)
					select {
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
	return &wg
}

func (l *ackLedger) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

// maxGap is the longest time without an acknowledgement between from and to.
func (l *ackLedger) maxGap(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var gap time.Duration
	last := from
	for _, at := range l.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(last))
		last = at
	}
	return max(gap, to.Sub(last))
}

// firstAfter is when backend first acknowledged an event, since t0.
func (l *ackLedger) firstAfter(backend string, t0 time.Time) (time.Duration, bool) {
	v, ok := l.firstFrom.Load(backend)
	if !ok {
		return 0, false
	}
	return time.Unix(0, v.(int64)).Sub(t0), true
}

// requireInClickHouse waits until every acknowledged id is in ClickHouse.
func requireInClickHouse(t *testing.T, p *local.Platform, prefix string, acked []string) {
	t.Helper()
	localtest.Eventually(t, 120*time.Second, "every acknowledged event in ClickHouse", func() error {
		if missing := missingInClickHouse(t, p, prefix, acked); len(missing) > 0 {
			return fmt.Errorf("%d of %d acknowledged events not in ClickHouse (first %s)", len(missing), len(acked), missing[0])
		}
		return nil
	})
}

// missingInClickHouse lists the ids not (yet) in ClickHouse.
func missingInClickHouse(t *testing.T, p *local.Platform, prefix string, ids []string) []string {
	t.Helper()
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT id FROM %s.events WHERE id LIKE '%s%%'", p.ClickHouse.Database, prefix))
	if err != nil {
		return ids
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			have[id] = true
		}
	}
	var out []string
	for _, id := range ids {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// asConsoleInEachRegion rewrites the demo context so that each region's
// kube endpoint is its own cluster's console ServiceAccount under the shipped
// RBAC: every cluster step of the promote, the promote back and the drill is
// authorized by the Role and ClusterRole alone.
func asConsoleInEachRegion(t *testing.T, cfgPath string, p *local.Platform) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range cc.Regions {
		r := &cc.Regions[i]
		if r.Kube == nil {
			continue
		}
		k := p.KubeFor(r.Name)
		if k == nil || k.Kubeconfig != r.Kube.Kubeconfig {
			t.Fatalf("region %s: kube %+v is not its own cluster's", r.Name, r.Kube)
		}
		kube := *r.Kube
		kube.Kubeconfig = consoleKubeconfig(t, k)
		r.Kube = &kube
		seen[k.Server] = true
	}
	if len(seen) != 2 {
		t.Fatalf("the context names %d clusters, want each region's own", len(seen))
	}
	if err := config.SaveContext(cfgPath, *cc); err != nil {
		t.Fatal(err)
	}
}

func buildPlatformBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../wotr-api", "../wotr-consumer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// A promote between regions that each run their own cluster, under load
// through the global frontend: every step acts on its region's cluster, the
// frontend ends up serving the new primary region, no acknowledged event is
// lost, an event posted after the promote reaches ClickHouse, and promoting
// back (rebuilding the old primary) restores the regions as they were.
// startRegionsDemo boots the two-region demo (a cluster per region) with
// the console's ServiceAccount as each region's kube identity, and waits
// until the secondary's standby API is ready.
func startRegionsDemo(t *testing.T, timeout time.Duration) (*demo.Demo, *testCLI, string, context.Context) {
	t.Helper()
	if err := localtest.Unavailable(local.Options{}); err != nil {
		if localtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	binDir := buildPlatformBinaries(t)
	app := newCLI(t)
	cfgPath, _ := runbookHome(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	d, err := demo.Start(ctx, demo.Options{BinDir: binDir, ConfigPath: cfgPath, NoLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop demo: %v", err)
		}
	})
	p := d.Platform
	prim, sec := p.KubeFor(demo.RegionPrimary), p.KubeFor(demo.RegionSecondary)
	asConsoleInEachRegion(t, cfgPath, p)
	// On failure, each region's pods tell which step stalled (runs before the stop).
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, k := range []*local.KubeCluster{prim, sec} {
			pods, err := k.Clientset.CoreV1().Pods(k.Namespace).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Logf("%s: %v", k.Context, err)
				continue
			}
			for _, po := range pods.Items {
				t.Logf("%s: pod %s node %q phase %s conditions %v deleting %v", k.Context, po.Name, po.Spec.NodeName, po.Status.Phase, po.Status.Conditions, po.DeletionTimestamp != nil)
			}
		}
		for _, in := range append(d.Supervisors[demo.RegionPrimary].Instances(), d.Supervisors[demo.RegionSecondary].Instances()...) {
			t.Logf("process %s %s ready %v restarts %d log %s", in.Pod, in.Addr, in.Ready, in.Restarts, in.LogPath)
		}
	})
	localtest.Eventually(t, 60*time.Second, "secondary's standby API ready", func() error {
		for _, in := range d.Supervisors[demo.RegionSecondary].Instances() {
			if in.Deployment == demo.APIDeployment && in.Ready {
				return nil
			}
		}
		return fmt.Errorf("no ready API instance in the secondary")
	})
	return d, app, cfgPath, ctx
}

func TestPromoteAcrossRegionClusters(t *testing.T) {
	d, app, cfgPath, ctx := startRegionsDemo(t, 8*time.Minute)
	p := d.Platform
	prim, sec := p.KubeFor(demo.RegionPrimary), p.KubeFor(demo.RegionSecondary)
	lbPrim, lbSec := p.HAProxy.ForRegion(demo.RegionPrimary), p.HAProxy.ForRegion(demo.RegionSecondary)
	front := "http://" + p.HAProxy.FrontendAddr
	run := func(args ...string) cliRun {
		return app.run(append([]string{"--config", cfgPath, "--context", demo.ContextName}, args...)...)
	}
	replicas := func(k *local.KubeCluster, dep string) int32 {
		got, err := k.Clientset.AppsV1().Deployments(k.Namespace).Get(ctx, dep, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *got.Spec.Replicas
	}
	// The plan names both clusters and the frontend; a dry run changes nothing.
	r := run("promote", "secondary", "--dry-run", "-o", "json")
	mustCode(t, r, ExitOK)
	plan := r.doc(t).Plan
	if c := checkByName(plan.Checks, "regions' clusters"); c == nil || !strings.Contains(c.Detail, prim.Context) || !strings.Contains(c.Detail, sec.Context) {
		t.Fatalf("plan does not name both regions' clusters: %+v", plan.Checks)
	}
	if c := checkByName(plan.Checks, "global frontend"); c == nil || !strings.Contains(c.Detail, lbPrim.Backend) {
		t.Fatalf("plan does not show the frontend serving the primary: %+v", c)
	}
	if got := replicas(sec, demo.APIDeployment); got != 1 {
		t.Fatalf("the dry run scaled the secondary's API to %d", got)
	}

	prefix := fmt.Sprintf("xregion-%d-", time.Now().UnixNano())
	l := &ackLedger{}
	lctx, stopLoad := context.WithCancel(ctx)
	wg := l.load(lctx, front, prefix, 4)
	localtest.Eventually(t, 30*time.Second, "load acknowledged by the primary", func() error {
		if _, ok := l.firstAfter(lbPrim.Backend, time.Time{}); !ok {
			return fmt.Errorf("no 202 from %s yet (%d errors)", lbPrim.Backend, l.errors.Load())
		}
		return nil
	})

	t0 := time.Now()
	r = run("promote", "secondary", "--yes", "-o", "json")
	promoteTook := time.Since(t0)
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	mustVerified(t, doc, "secondary sized", "old primary fenced", "new primary accepts writes", "global frontend switched", "primary sized")
	localtest.Eventually(t, 30*time.Second, "a 202 from the secondary's backend", func() error {
		if _, ok := l.firstAfter(lbSec.Backend, t0); !ok {
			return fmt.Errorf("no 202 from %s yet", lbSec.Backend)
		}
		return nil
	})
	first202, _ := l.firstAfter(lbSec.Backend, t0)
	gap := l.maxGap(t0, t0.Add(promoteTook))
	stopLoad()
	wg.Wait()
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionSecondary {
		t.Fatalf("global frontend serves %q (%v), want secondary", got, err)
	}
	// Sizes moved: the secondary runs the primary's, the primary the standby's.
	if got := replicas(sec, demo.APIDeployment); got != demo.APIReplicas {
		t.Errorf("secondary API replicas %d, want the primary's %d", got, demo.APIReplicas)
	}
	if got := replicas(sec, demo.ConsumerDeployment); got != demo.ConsumerReplicas {
		t.Errorf("secondary consumer replicas %d, want %d", got, demo.ConsumerReplicas)
	}
	if got := replicas(prim, demo.APIDeployment); got != 1 {
		t.Errorf("primary API replicas %d, want the standby size 1", got)
	}
	if got := replicas(prim, demo.ConsumerDeployment); got != 0 {
		t.Errorf("primary consumer replicas %d, want the standby size 0", got)
	}

	// End to end: an event posted to the global frontend now reaches ClickHouse.
	after := prefix + "after-promote"
	// Retried as any client would: instances still join and leave backends.
	localtest.Eventually(t, 30*time.Second, "202 after the promote", func() error {
		code, be, err := postEvent(ctx, &http.Client{Timeout: 5 * time.Second}, front, after)
		if err != nil || code != http.StatusAccepted {
			return fmt.Errorf("POST after the promote: %d, %v", code, err)
		}
		if be != lbSec.Backend {
			t.Fatalf("POST after the promote answered by %q, want %s", be, lbSec.Backend)
		}
		return nil
	})
	acked := append(l.ids(), after)
	requireInClickHouse(t, p, prefix, acked)
	t.Logf("cross-region promote: exit after %.2fs; first 202 from %s %.2fs after confirmation; longest time without a 202 during it %.2fs; %d events acknowledged, 0 lost; %d retried answers; measurements %v",
		promoteTook.Seconds(), lbSec.Backend, first202.Seconds(), gap.Seconds(), len(acked), l.errors.Load(), doc.Result.Measurements)

	// Promote back, rebuilding the old primary as a standby.
	r = run("promote", "primary", "--yes", "--rebuild-old-primary", "-o", "json")
	mustCode(t, r, ExitOK)
	mustVerified(t, r.doc(t), "primary sized", "global frontend switched", "secondary sized")
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionPrimary {
		t.Fatalf("after promoting back the frontend serves %q (%v)", got, err)
	}
	if got := replicas(prim, demo.APIDeployment); got != demo.APIReplicas {
		t.Errorf("primary API replicas %d after promoting back, want %d", got, demo.APIReplicas)
	}
	if got := replicas(sec, demo.APIDeployment); got != 1 {
		t.Errorf("secondary API replicas %d after promoting back, want the standby size 1", got)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	if pr := cc.Primary(); pr == nil || pr.Name != demo.RegionPrimary {
		t.Fatalf("config primary after promoting back: %+v", pr)
	}

	// The DR drill runbook runs on the regions' own clusters too.
	t1 := time.Now()
	r = run("runbook", "run", "dr-drill", "--yes", "-o", "json")
	mustCode(t, r, ExitOK)
	for _, s := range runDoc(t, r).Run.Steps {
		if s.ID != "backups" && s.Status != runbook.StepPass {
			t.Errorf("dr-drill step %s: %s (%s) %v", s.ID, s.Status, s.Summary, s.Evidence)
		}
	}
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionPrimary {
		t.Fatalf("after the drill the frontend serves %q (%v)", got, err)
	}
	t.Logf("dr-drill runbook across the regions' clusters: %.2fs", time.Since(t1).Seconds())
}

// The one-cluster promote under the same load, for comparison: both
// regions in one control plane, the API repointed in place, one frontend
// backend throughout.
func TestPromoteOneClusterUnderLoad(t *testing.T) {
	if err := localtest.Unavailable(local.Options{}); err != nil {
		if localtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	binDir := buildPlatformBinaries(t)
	app := newCLI(t)
	cfgPath, _ := runbookHome(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := demo.Start(ctx, demo.Options{BinDir: binDir, ConfigPath: cfgPath, NoLoad: true, OneCluster: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop demo: %v", err)
		}
	})
	p := d.Platform
	if len(p.Kubes) != 1 {
		t.Fatalf("%d control planes, want one", len(p.Kubes))
	}
	front := "http://" + p.HAProxy.FrontendAddr
	prefix := fmt.Sprintf("onecluster-%d-", time.Now().UnixNano())
	l := &ackLedger{}
	lctx, stopLoad := context.WithCancel(ctx)
	wg := l.load(lctx, front, prefix, 4)
	localtest.Eventually(t, 30*time.Second, "load acknowledged", func() error {
		if len(l.ids()) == 0 {
			return fmt.Errorf("no 202 yet (%d errors)", l.errors.Load())
		}
		return nil
	})
	t0 := time.Now()
	r := app.run("--config", cfgPath, "--context", demo.ContextName, "promote", "secondary", "--yes", "-o", "json")
	promoteTook := time.Since(t0)
	mustCode(t, r, ExitOK)
	doc := r.doc(t)
	if checkByName(doc.Result.Verified, "global frontend switched") != nil {
		t.Fatal("the one-cluster promote switched a frontend it does not have")
	}
	// The first 202 after the promote returned.
	n := len(l.ids())
	localtest.Eventually(t, 30*time.Second, "a 202 after the promote", func() error {
		if len(l.ids()) <= n {
			return fmt.Errorf("no 202 since the promote returned")
		}
		return nil
	})
	firstAfter := time.Since(t0)
	gap := l.maxGap(t0, t0.Add(promoteTook))
	stopLoad()
	wg.Wait()
	acked := l.ids()
	requireInClickHouse(t, p, prefix, acked)
	t.Logf("one-cluster promote: exit after %.2fs; a 202 %.2fs after confirmation (after the promote returned); longest time without a 202 during it %.2fs; %d events acknowledged, 0 lost; %d retried answers; measurements %v",
		promoteTook.Seconds(), firstAfter.Seconds(), gap.Seconds(), len(acked), l.errors.Load(), doc.Result.Measurements)
}

// A cross-region promote interrupted right after its warm step (the
// operator's Ctrl-C as the fence phase begins, the cancel the one-cluster
// resume tests use) changes nothing but the secondary's sizes; run again, it
// finishes: one writable primary, the old region at the secondary's former
// (standby) sizes, no acknowledged event lost under load throughout.
func TestPromoteAcrossRegionsResumesAfterTheWarmStep(t *testing.T) {
	d, app, cfgPath, ctx := startRegionsDemo(t, 8*time.Minute)
	p := d.Platform
	prim, sec := p.KubeFor(demo.RegionPrimary), p.KubeFor(demo.RegionSecondary)
	lbPrim, lbSec := p.HAProxy.ForRegion(demo.RegionPrimary), p.HAProxy.ForRegion(demo.RegionSecondary)
	front := "http://" + p.HAProxy.FrontendAddr
	replicas := func(k *local.KubeCluster, dep string) int32 {
		got, err := k.Clientset.AppsV1().Deployments(k.Namespace).Get(ctx, dep, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *got.Spec.Replicas
	}
	note := func() string {
		got, err := sec.Clientset.AppsV1().Deployments(sec.Namespace).Get(ctx, demo.APIDeployment, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Annotations[action.StandbySizesAnnotation]
	}
	writable := func() []string {
		var out []string
		for name, dsn := range map[string]string{demo.RegionPrimary: p.Postgres.Primary.DSN, demo.RegionSecondary: p.Postgres.Standby.DSN} {
			if up, rec := pgUp(dsn); up && !rec {
				out = append(out, name)
			}
		}
		return out
	}
	standbyAPI, standbyConsumer := replicas(sec, demo.APIDeployment), replicas(sec, demo.ConsumerDeployment)

	prefix := fmt.Sprintf("xresume-%d-", time.Now().UnixNano())
	l := &ackLedger{}
	lctx, stopLoad := context.WithCancel(ctx)
	wg := l.load(lctx, front, prefix, 4)
	defer func() { stopLoad(); wg.Wait() }()
	localtest.Eventually(t, 30*time.Second, "load acknowledged by the primary", func() error {
		if _, ok := l.firstAfter(lbPrim.Backend, time.Time{}); !ok {
			return fmt.Errorf("no 202 from %s yet (%d errors)", lbPrim.Backend, l.errors.Load())
		}
		return nil
	})

	// The interrupted run: the context of the config (the console's
	// ServiceAccount in each cluster), over the real backends.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	wp := wire.Open(ctx, *cc)
	defer wp.Close()
	f := &faults{}
	rctx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	var warmed, fired bool
	f.onCall = func(key string) error {
		// The fence phase's first call, once the warm step is done.
		if key == "fencestate@"+demo.RegionPrimary && warmed && !fired {
			fired = true
			interrupt()
			return rctx.Err()
		}
		return nil
	}
	svc := action.NewService(*cc, faultBackends(wp, f))
	plan, err := svc.Plan(rctx, action.Request{Kind: action.KindPromote, Target: demo.RegionSecondary})
	if err != nil {
		t.Fatal(err)
	}
	// The warm phase is the only one before the fence; FenceState is called
	// by the plan and then first by the fence phase.
	res, err := svc.Execute(rctx, plan, demo.RegionSecondary, func(pg action.Progress) {
		if strings.HasPrefix(pg.Step, "warm ") {
			warmed = true
		}
	})
	if !fired || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: fired %v, err %v, want the cancel; %+v", fired, err, res)
	}
	if c := checkByName(res.Verified, demo.RegionSecondary+" sized"); c == nil || c.Status != action.CheckPass {
		t.Fatalf("the interrupted run was not past its warm step: %+v", res.Verified)
	}
	if len(res.Phases) == 0 || !strings.HasPrefix(res.Phases[len(res.Phases)-1].Name, "fence") {
		t.Errorf("phases of the interrupted run %+v, want to end at the fence", res.Phases)
	}
	t.Logf("interrupted: %v", err)
	// Nothing but the secondary's sizes changed.
	if w := writable(); len(w) != 1 || w[0] != demo.RegionPrimary {
		t.Fatalf("writable after the interrupt: %v, want only the primary", w)
	}
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionPrimary {
		t.Fatalf("after the interrupt the frontend serves %q (%v)", got, err)
	}
	if got := replicas(sec, demo.APIDeployment); got != demo.APIReplicas {
		t.Fatalf("secondary API replicas %d after the warm step, want the primary's %d", got, demo.APIReplicas)
	}
	if got := replicas(prim, demo.APIDeployment); got != demo.APIReplicas {
		t.Fatalf("primary API replicas %d after the interrupt, want %d untouched", got, demo.APIReplicas)
	}
	if note() == "" {
		t.Fatalf("no %s on the secondary's %s after the warm step", action.StandbySizesAnnotation, demo.APIDeployment)
	}

	// Run again, as an operator would: the CLI, the same config.
	run := func(args ...string) cliRun {
		return app.run(append([]string{"--config", cfgPath, "--context", demo.ContextName}, args...)...)
	}
	r := run("promote", "secondary", "--dry-run", "-o", "json")
	mustCode(t, r, ExitOK)
	if c := checkByName(r.doc(t).Plan.Checks, "regions' clusters"); c == nil || !strings.Contains(c.Detail, "earlier, unfinished promote") {
		t.Errorf("the re-run's plan does not show the noted standby sizes: %+v", c)
	}
	t0 := time.Now()
	r = run("promote", "secondary", "--yes", "-o", "json")
	rerunTook := time.Since(t0)
	mustCode(t, r, ExitOK)
	mustVerified(t, r.doc(t), "secondary sized", "old primary fenced", "no data loss", "new primary accepts writes", "global frontend switched", "primary sized")
	localtest.Eventually(t, 30*time.Second, "a 202 from the secondary's backend", func() error {
		if _, ok := l.firstAfter(lbSec.Backend, t0); !ok {
			return fmt.Errorf("no 202 from %s yet", lbSec.Backend)
		}
		return nil
	})
	stopLoad()
	wg.Wait()
	if w := writable(); len(w) != 1 || w[0] != demo.RegionSecondary {
		t.Fatalf("writable after the re-run: %v, want exactly the secondary", w)
	}
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionSecondary {
		t.Fatalf("after the re-run the frontend serves %q (%v)", got, err)
	}
	// The old region took the secondary's sizes from before the interrupted
	// run, not the warmed ones the re-run found.
	if got := replicas(prim, demo.APIDeployment); got != standbyAPI {
		t.Errorf("primary API replicas %d, want the secondary's former %d", got, standbyAPI)
	}
	if got := replicas(prim, demo.ConsumerDeployment); got != standbyConsumer {
		t.Errorf("primary consumer replicas %d, want the secondary's former %d", got, standbyConsumer)
	}
	if got := replicas(sec, demo.APIDeployment); got != demo.APIReplicas {
		t.Errorf("secondary API replicas %d, want %d", got, demo.APIReplicas)
	}
	if n := note(); n != "" {
		t.Errorf("the standby note outlived the promote: %s", n)
	}
	after := prefix + "after-resume"
	localtest.Eventually(t, 30*time.Second, "202 after the re-run", func() error {
		code, _, err := postEvent(ctx, &http.Client{Timeout: 5 * time.Second}, front, after)
		if err != nil || code != http.StatusAccepted {
			return fmt.Errorf("POST after the re-run: %d, %v", code, err)
		}
		return nil
	})
	acked := append(l.ids(), after)
	requireInClickHouse(t, p, prefix, acked)
	t.Logf("interrupted after the warm step and run again: %d events acknowledged, 0 lost; %d retried answers; re-run took %.2fs",
		len(acked), l.errors.Load(), rerunTook.Seconds())
}
