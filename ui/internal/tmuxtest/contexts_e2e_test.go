package tmuxtest_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
	"github.com/wotr/wotr-tui/ui/internal/tmuxtest"
)

// ExtraPods is how many pods TestConsoleFirstRunContextsAndScale adds to
// the demo's namespace before it measures the first complete screen.
const ExtraPods = 1000

// TestConsoleFirstRunContextsAndScale runs the built console in tmux
// against the demo:
//   - with an empty XDG_CONFIG_HOME it opens the first-run screen naming
//     the path; c + the form (config init) writes a context found in the
//     demo's cluster and Enter opens the console on it;
//   - with the demo's context and a read-only copy in the config, :ctx lists
//     both, Enter switches to the copy (the header says so, read-only) and
//     back, inside one program;
//   - with 1,000 extra kwok pods in the namespace, a new console's time to
//     its first complete screen (every overview area with data) is measured.
func TestConsoleFirstRunContextsAndScale(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if localtest.Required() {
			t.Fatal("integration required (WOTR_REQUIRE_INTEGRATION=1) but tmux is not installed (apt-get install tmux)")
		}
		t.Skip("tmux not installed")
	}
	t0 := time.Now()
	// Its own platform: the scale step adds a thousand pods.
	p := localtest.Private(t, local.Options{Postgres: local.PostgresOptions{MaxConnections: 200}})
	t.Logf("platform up in %s", time.Since(t0).Round(time.Millisecond))
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/",
		"github.com/wotr/wotr-tui/cmd/wotr-tui", "github.com/wotr/wotr-tui/cmd/wotr-api", "github.com/wotr/wotr-tui/cmd/wotr-consumer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cfgHome := filepath.Join(dir, "xdg")
	cfgPath := filepath.Join(cfgHome, "wotr", "config.yaml")
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: dir, ConfigPath: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("demo stop: %v", err)
		}
	})
	bin := filepath.Join(dir, "wotr-tui")

	// First run: nothing in this XDG_CONFIG_HOME.
	emptyHome := filepath.Join(dir, "empty")
	firstPath := filepath.Join(emptyHome, "wotr", "config.yaml")
	s := tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + emptyHome, "KUBECONFIG=" + p.Kube.Kubeconfig}, bin)
	screen := s.WaitFor(screenDeadline, "first run", "No config found at "+firstPath, "start the demo", "create a context")
	t.Logf("first-run screen:\n%s", screen)
	s.Send("c")
	s.WaitFor(screenDeadline, "Create a context", p.Kube.Kubeconfig)
	s.Type("found")
	s.Send("Enter") // kubeconfig from $KUBECONFIG, its current context, namespace wotr
	screen = s.WaitFor(actionDeadline, `wrote context "found" to `+firstPath, "enter opens the console")
	t.Logf("config init from the form:\n%s", screen)
	cfg, err := config.Load(firstPath)
	if err != nil {
		t.Fatalf("the form wrote no config: %v", err)
	}
	cc, err := cfg.Context("found")
	if err != nil || len(cc.Regions) != 1 || cc.Regions[0].Kube == nil || cc.Regions[0].Kube.Namespace != local.KubeNamespace {
		t.Fatalf("context written: %+v, %v", cc, err)
	}
	s.Send("Enter")
	screen = s.Poll(screenDeadline, "the console on the new context", func(screen string) error {
		if top := firstLine(screen); !strings.Contains(top, "ctx found") {
			return fmt.Errorf("header %q", top)
		}
		return freshHeader(firstLine(screen))
	})
	t.Logf("console on the context the form wrote:\n%s", firstLine(screen))
	s.Send("q")
	s.WaitFor(screenDeadline, "EXITED 0")

	// :ctx between the demo's context and a read-only copy of it.
	cfg, err = config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	ro := *dc
	ro.Name, ro.ReadOnly, ro.Source = demo.ContextName+"-ro", true, ""
	if err := config.SaveContext(cfgPath, ro); err != nil {
		t.Fatal(err)
	}
	s = tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + cfgHome}, bin, "--context", demo.ContextName)
	s.WaitFor(screenDeadline, "ctx "+demo.ContextName, "Overview")
	s.Send(":")
	s.Type("ctx")
	s.Send("Enter")
	screen = s.Poll(screenDeadline, ":ctx with both contexts reachable", func(screen string) error {
		cur, copyRow := ctxRow(screen, demo.ContextName), ctxRow(screen, ro.Name)
		if !strings.Contains(cur, "* "+demo.ContextName+" ") || !strings.Contains(cur, "read-write") {
			return fmt.Errorf("current row %q", cur)
		}
		if !strings.Contains(copyRow, "read-only") {
			return fmt.Errorf("copy row %q", copyRow)
		}
		if !strings.HasSuffix(strings.TrimSpace(cur), "yes") || !strings.HasSuffix(strings.TrimSpace(copyRow), "yes") {
			return errors.New("reachability not answered yet")
		}
		return nil
	})
	t.Logf(":ctx view:\n%s", screen)
	tsw := time.Now()
	s.Send("Down", "Enter") // sorted by name: demo, demo-ro
	screen = s.Poll(screenDeadline, "the console on "+ro.Name, func(screen string) error {
		top := firstLine(screen)
		if !strings.Contains(top, "ctx "+ro.Name) || !strings.Contains(top, "[read-only]") {
			return fmt.Errorf("header %q", top)
		}
		return freshHeader(top)
	})
	t.Logf("switched to %s with data in %s:\n%s", ro.Name, time.Since(tsw).Round(time.Millisecond), firstLine(screen))
	s.Send(":")
	s.Type("ctx")
	s.Send("Enter")
	s.WaitFor(screenDeadline, "Contexts", "* "+ro.Name)
	s.Send("Enter") // the cursor starts on demo
	s.Poll(screenDeadline, "back on "+demo.ContextName, func(screen string) error {
		top := firstLine(screen)
		if !strings.Contains(top, "ctx "+demo.ContextName+" ") || strings.Contains(top, "read-only") {
			return fmt.Errorf("header %q", top)
		}
		return freshHeader(top)
	})
	s.Send("q")
	s.WaitFor(screenDeadline, "EXITED 0")

	// 1,000 extra pods, then launch to the first complete screen.
	tp := time.Now()
	addExtraPods(ctx, t, p, ExtraPods)
	t.Logf("%d extra pods Running after %s", ExtraPods, time.Since(tp).Round(time.Millisecond))
	areas := []string{"API load", "Deployments", "Consumers", "Replication", "Pools", "Nodes", "Regions / DR", "Backups"}
	tl := time.Now()
	s = tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + cfgHome}, bin, "--context", demo.ContextName)
	screen = s.Poll(screenDeadline, "the first complete screen with the extra pods", func(screen string) error {
		for _, a := range areas {
			if f := strings.Fields(row(screen, a)); len(f) == 0 || f[len(f)-1] == "-" {
				return fmt.Errorf("area %q has no data yet", a)
			}
		}
		m := readyRe.FindStringSubmatch(row(screen, "API load"))
		if m == nil {
			return fmt.Errorf("API load row without a ready count: %q", row(screen, "API load"))
		}
		if total, _ := strconv.Atoi(m[2]); total < ExtraPods {
			return fmt.Errorf("API load row does not count the extra pods: %q", row(screen, "API load"))
		}
		return nil
	})
	first := time.Since(tl)
	t.Logf("first complete screen with %d extra pods: %s after launch (target 1s; the screen is polled every 250ms)\n%s",
		ExtraPods, first.Round(time.Millisecond), screen)
	s.Send("q")
	s.WaitFor(screenDeadline, "EXITED 0")
}

var headerAgeRe = regexp.MustCompile(`data (\S+) old`)

// freshHeader: the header shows data younger than a minute (the new
// context's console has a snapshot of its own).
func freshHeader(top string) error {
	m := headerAgeRe.FindStringSubmatch(top)
	if m == nil {
		return fmt.Errorf("header without a data age: %q", top)
	}
	age, err := parseAge(m[1])
	if err != nil {
		return err
	}
	if age > time.Minute {
		return fmt.Errorf("header data %s old: %q", age, top)
	}
	return nil
}

func firstLine(screen string) string {
	l, _, _ := strings.Cut(screen, "\n")
	return l
}

// ctxRow is the :ctx table's row of a context ("" when not shown).
func ctxRow(screen, name string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(strings.TrimLeft(l, " >*")); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

// addExtraPods creates n bare wotr-api pods on the demo's nodes (no owner,
// so no ReplicaSet adopts them and the supervisor runs no process for
// them) and waits until kwok reports them all Running.
func addExtraPods(ctx context.Context, t *testing.T, p *local.Platform, n int) {
	t.Helper()
	cfg := p.Kube.RestConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := p.Kube.Namespace
	nodes := p.Kube.Nodes
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("wotr-api-extra-%04d", i), Namespace: ns, Labels: map[string]string{"app": "wotr-api"}},
					Spec:       corev1.PodSpec{NodeName: nodes[i%len(nodes)], Containers: []corev1.Container{{Name: "fastapi", Image: "wotr/fastapi"}}},
				}
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d pod creates failed, first: %v", len(errs), errs[0])
	}
	localtest.Eventually(t, 5*time.Minute, "the extra pods Running", func() error {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=wotr-api"})
		if err != nil {
			return err
		}
		running := 0
		for _, pod := range list.Items {
			if strings.HasPrefix(pod.Name, "wotr-api-extra-") && pod.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running != n {
			return fmt.Errorf("%d of %d extra pods Running", running, n)
		}
		return nil
	})
}

var readyRe = regexp.MustCompile(`(\d+)/(\d+) ready`)
