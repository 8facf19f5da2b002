package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/drain"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// podsOnNode waits until n pods of app run ready on node.
func waitPodsOnNode(b *testing.B, p *local.Platform, node, app string, n int) {
	b.Helper()
	cs := p.Kube.Clientset
	deadline := time.Now().Add(90 * time.Second)
	for {
		pods, err := cs.CoreV1().Pods(p.Kube.Namespace).List(context.Background(), metav1.ListOptions{
			LabelSelector: "app=" + app, FieldSelector: "spec.nodeName=" + node})
		ready := 0
		if err == nil {
			for _, pod := range pods.Items {
				for _, c := range pod.Status.Conditions {
					if c.Type == "Ready" && c.Status == "True" && pod.DeletionTimestamp == nil {
						ready++
					}
				}
			}
		}
		if ready == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d/%d pods of %s ready on %s", ready, n, app, node)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// BenchmarkDrain30Pods drains a node holding 30 pods with the drain action
// and with kubectl's drain package used plainly (RunNodeDrain), alternating
// on the same node and control plane; ratio = action / kubectl.
func BenchmarkDrain30Pods(b *testing.B) {
	p := localtest.Private(b, local.Options{Only: []string{local.Kube}})
	ctx := context.Background()
	node, err := p.Kube.AddNode(ctx, "bench-drain", local.KubeZone{Region: "primary", Zone: "primary-b"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Kube.RemoveNode(ctx, node) //nolint:errcheck
	cs := p.Kube.Clientset
	d := deployment("bench-drain-30", p.Kube.Namespace, 30, map[string]string{"kubernetes.io/hostname": node}, nil)
	if _, err := cs.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer cs.AppsV1().Deployments(d.Namespace).Delete(ctx, d.Name, metav1.DeleteOptions{}) //nolint:errcheck

	cc := config.ContextConfig{Name: "bench", AuditLog: filepath.Join(b.TempDir(), "audit.jsonl"),
		Regions: []config.RegionConfig{{Name: "primary", Role: "primary",
			Kube: &config.KubeEndpoint{Kubeconfig: p.Kube.Kubeconfig, Context: p.Kube.Context, Namespace: p.Kube.Namespace}}}}
	platform := wire.Open(ctx, cc)
	defer platform.Close()
	svc := platform.Actions()
	uncordon := func() {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		h := drain.NewCordonHelper(n)
		if h.UpdateIfRequired(false) {
			if err, perr := h.PatchOrReplaceWithContext(ctx, cs, false); err != nil || perr != nil {
				b.Fatal(err, perr)
			}
		}
	}
	var ours, plain time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		waitPodsOnNode(b, p, node, d.Name, 30)
		plan, err := svc.Plan(ctx, action.Request{Kind: action.KindDrain, Target: node})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		res, err := svc.Execute(ctx, plan, plan.ConfirmPhrase, nil)
		ours += time.Since(t0)
		b.StopTimer()
		if err != nil || !res.OK {
			b.Fatalf("drain action: %v %+v", err, res)
		}
		uncordon()
		waitPodsOnNode(b, p, node, d.Name, 30)
		h := &drain.Helper{Ctx: ctx, Client: cs, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true,
			Timeout: 5 * time.Minute, Out: io.Discard, ErrOut: io.Discard}
		t0 = time.Now()
		if err := drain.RunNodeDrain(h, node); err != nil {
			b.Fatalf("kubectl drain: %v", err)
		}
		plain += time.Since(t0)
		uncordon()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(ours.Seconds()/float64(b.N), "action_s/op")
	b.ReportMetric(plain.Seconds()/float64(b.N), "kubectl_s/op")
	b.ReportMetric(ours.Seconds()/plain.Seconds(), "ratio")
}

// newStandby makes a fresh streaming standby of the platform's primary with
// pg_basebackup -R and starts it with pg_ctl; stop is its cleanup.
func newStandby(b *testing.B, p *local.Platform, name string) (dsn string, stop func()) {
	b.Helper()
	ctx := context.Background()
	pg := p.Postgres
	dir := filepath.Join(filepath.Dir(pg.Primary.DataDir), name)
	sock := dir + "-run"
	out, err := pg.RunAsOSUser(ctx, "pg_basebackup", "-D", dir, "-R", "-X", "stream", "-c", "fast", "--no-sync",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=%s", pg.Primary.Port, pg.ReplicationUser))
	if err != nil {
		b.Fatalf("pg_basebackup: %v: %s", err, out)
	}
	if err := os.MkdirAll(sock, 0o700); err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	chownToPostgres(b, sock)
	if out, err := pg.RunAsOSUser(ctx, "pg_ctl", "-D", dir, "-w", "-t", "60", "-o",
		fmt.Sprintf("-p %d -k %s -c cluster_name=%s", port, sock, name), "-l", dir+".log", "start"); err != nil {
		b.Fatalf("pg_ctl start: %v: %s", err, out)
	}
	stop = func() {
		_, _ = pg.RunAsOSUser(context.Background(), "pg_ctl", "-D", dir, "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
		_ = os.RemoveAll(sock)
	}
	dsn = fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", pg.Superuser, pg.Password, port, local.PostgresDatabase)
	// Ready and streaming.
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			var inRecovery bool
			var receive *string
			err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text").Scan(&inRecovery, &receive)
			conn.Close(ctx)
			if err == nil && inRecovery && receive != nil {
				return dsn, stop
			}
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("standby %s not streaming: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// BenchmarkPromote compares the promote action (a switchover: stop the
// primary, wait until the standby replays its shutdown checkpoint, promote,
// first write) with a bare SELECT pg_promote() on an identical fresh standby;
// both are timed until the server accepts writes. The primary is started
// again after each iteration.
func BenchmarkPromote(b *testing.B) {
	p := localtest.Private(b, local.Options{Only: []string{local.Postgres}})
	ctx := context.Background()
	var ours, bare time.Duration
	for i := 0; i < b.N; i++ {
		// The bare baseline.
		dsnA, stopA := newStandby(b, p, fmt.Sprintf("bench-bare-%d", i))
		conn, err := pgx.Connect(ctx, dsnA)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := conn.Exec(ctx, "SELECT pg_promote()"); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SELECT txid_current()"); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(t0)
		conn.Close(ctx)
		stopA()

		// The action, against a standby made the same way.
		dsnB, stopB := newStandby(b, p, fmt.Sprintf("bench-action-%d", i))
		cc := config.ContextConfig{Name: "bench", AuditLog: filepath.Join(b.TempDir(), "audit.jsonl"), BackupDir: b.TempDir(),
			Regions: []config.RegionConfig{
				{Name: "primary", Role: "primary", Postgres: &config.PostgresEndpoint{DSN: p.Postgres.Primary.DSN, DataDir: p.Postgres.Primary.DataDir}},
				{Name: "secondary", Role: "secondary", Postgres: &config.PostgresEndpoint{DSN: dsnB}},
			}}
		platform := wire.Open(ctx, cc)
		svc := platform.Actions()
		plan, err := svc.Plan(ctx, action.Request{Kind: action.KindPromote, Target: "secondary"})
		if err != nil || plan.Blocked {
			b.Fatalf("plan: %v %+v", err, plan)
		}
		res, err := svc.Execute(ctx, plan, "secondary", nil)
		if err != nil {
			b.Fatalf("promote: %v %+v", err, res)
		}
		ours += time.Duration(res.Measurements["confirm_to_writes_seconds"] * float64(time.Second))
		platform.Close()
		stopB()
		restartPrimary(b, p)
	}
	b.ReportMetric(ours.Seconds()/float64(b.N), "action_s/op")
	b.ReportMetric(bare.Seconds()/float64(b.N), "bare_s/op")
	b.ReportMetric(ours.Seconds()/bare.Seconds(), "ratio")
}

// restartPrimary starts the fenced (stopped) primary again with the options
// of its last start.
func restartPrimary(b *testing.B, p *local.Platform) {
	b.Helper()
	pg := p.Postgres
	opts, err := os.ReadFile(filepath.Join(pg.Primary.DataDir, "postmaster.opts"))
	if err != nil {
		b.Fatal(err)
	}
	var args []string
	for _, f := range strings.Split(string(opts), `"`)[1:] {
		if f = strings.TrimSpace(f); f != "" {
			args = append(args, f)
		}
	}
	var keep []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-D" {
			i++
			continue
		}
		keep = append(keep, args[i])
	}
	if out, err := pg.RunAsOSUser(context.Background(), "pg_ctl", "-D", pg.Primary.DataDir, "-w", "-t", "60",
		"-o", strings.Join(keep, " "), "-l", pg.Primary.DataDir+".log", "start"); err != nil {
		b.Fatalf("pg_ctl start: %v: %s", err, out)
	}
}

func freePort(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func chownToPostgres(b *testing.B, path string) {
	b.Helper()
	u, err := user.Lookup(local.PostgresOSUser)
	if err != nil {
		b.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		b.Fatal(err)
	}
}
