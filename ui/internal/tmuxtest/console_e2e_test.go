package tmuxtest_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
	"github.com/wotr/wotr-tui/ui/internal/tmuxtest"
)

// Deadlines are generous: the suite runs on two shared cores beside other
// platforms, and the console polls each source every 5 s.
const (
	screenDeadline = 90 * time.Second
	actionDeadline = 120 * time.Second
)

// TestConsoleAgainstDemo runs the built console in tmux against the demo on
// a platform of its own: the overview shows fresh data for every area, the
// instance, consumer and node views agree with the Kubernetes API and Kafka,
// and a cordon confirmed through the dialog reaches the node.
func TestConsoleAgainstDemo(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if localtest.Required() {
			t.Fatal("integration required (WOTR_REQUIRE_INTEGRATION=1) but tmux is not installed (apt-get install tmux)")
		}
		t.Skip("tmux not installed")
	}
	t0 := time.Now()
	// Its own platform: the test cordons a node, and other packages'
	// platforms run beside it.
	p := localtest.Private(t, local.Options{Postgres: local.PostgresOptions{MaxConnections: 200}})
	t.Logf("platform up in %s", time.Since(t0).Round(time.Millisecond))

	dir := t.TempDir()
	tb := time.Now()
	build := exec.Command("go", "build", "-o", dir+"/",
		"github.com/wotr/wotr-tui/cmd/wotr-tui", "github.com/wotr/wotr-tui/cmd/wotr-api", "github.com/wotr/wotr-tui/cmd/wotr-consumer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("binaries built in %s", time.Since(tb).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfgHome := filepath.Join(dir, "xdg")
	td := time.Now()
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: dir, ConfigPath: filepath.Join(cfgHome, "wotr", "config.yaml"),
		Progress: func(step string, took time.Duration) { t.Logf("demo: %-60s %6.2fs", step, took.Seconds()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("demo stop: %v", err)
		}
	})
	t.Logf("demo up in %s", time.Since(td).Round(time.Millisecond))
	cs := p.Kube.Clientset
	t.Cleanup(func() { // leave no node cordoned, whatever failed
		for _, n := range []string{"node-0", "node-1", "node-2"} {
			_, _ = cs.CoreV1().Nodes().Patch(context.Background(), n, types.MergePatchType, []byte(`{"spec":{"unschedulable":null}}`), metav1.PatchOptions{})
		}
	})

	tc := time.Now()
	s := tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + cfgHome}, filepath.Join(dir, "wotr-tui"))
	s.WaitFor(screenDeadline, "ctx "+demo.ContextName, "Overview")

	// Overview: every data area has a value younger than a minute.
	areas := []string{"API load", "Deployments", "Consumers", "Replication", "Pools", "Nodes", "Regions / DR", "Backups"}
	screen := s.Poll(screenDeadline, "every area with fresh data", func(screen string) error {
		for _, a := range areas {
			line := row(screen, a)
			if line == "" {
				return fmt.Errorf("no line for area %q", a)
			}
			f := strings.Fields(line)
			age, err := parseAge(f[len(f)-1])
			if err != nil {
				return fmt.Errorf("area %q: %v", a, err)
			}
			if age > time.Minute {
				return fmt.Errorf("area %q: data %s old", a, age)
			}
		}
		// Live, not only recent: the load reaches the API instances.
		if m := reqPerSec.FindStringSubmatch(row(screen, "API load")); m == nil || m[1] == "0" {
			return fmt.Errorf("API load row without requests: %q", row(screen, "API load"))
		}
		return nil
	})
	t.Logf("overview with fresh data %s after the console started:\n%s", time.Since(tc).Round(time.Millisecond), screen)

	// 2: the wotr-api pods the Kubernetes API lists, each taking requests.
	// Names are cut to the column at 120 columns, so each pod is found by
	// filtering on its full name, which must leave exactly its row.
	s.Send("2")
	var apiPods []string
	screen = s.Poll(screenDeadline, "one wotr-api row per Running pod", func(screen string) error {
		pods, err := runningPods(ctx, p, demo.APIDeployment)
		if err != nil {
			return err
		}
		if len(pods) != demo.APIReplicas {
			return fmt.Errorf("%d running %s pods, want %d", len(pods), demo.APIDeployment, demo.APIReplicas)
		}
		if rows := instanceRows(screen, demo.APIDeployment); len(rows) != len(pods) {
			return fmt.Errorf("%d %s rows on screen, Kubernetes runs %v", len(rows), demo.APIDeployment, pods)
		}
		apiPods = pods
		return nil
	})
	t.Logf("instances:\n%s", screen)
	for _, pod := range apiPods {
		s.Send("/")
		s.Type(pod)
		s.Send("Enter")
		screen = s.Poll(screenDeadline, "filtered to "+pod+" with requests/s", func(screen string) error {
			rows := instanceRows(screen, demo.APIDeployment)
			if len(rows) != 1 {
				return fmt.Errorf("filter %q leaves %d %s rows", pod, len(rows), demo.APIDeployment)
			}
			f := cells(rows[0])
			// A cut name keeps its head and its distinguishing tail.
			head, tail, _ := strings.Cut(f[0], "…")
			if !strings.HasPrefix(pod, head) || !strings.HasSuffix(pod, tail) {
				return fmt.Errorf("filter %q leaves row of %q", pod, f[0])
			}
			rps, err := rpsOf(rows[0])
			if err != nil {
				return err
			}
			if rps <= 0 {
				return fmt.Errorf("%s: %g req/s", pod, rps)
			}
			return nil
		})
		t.Logf("%s: %s", pod, strings.TrimSpace(instanceRows(screen, demo.APIDeployment)[0]))
		s.Send("Escape") // clears the filter
		s.Poll(screenDeadline, "filter cleared", func(screen string) error {
			if n := len(instanceRows(screen, demo.APIDeployment)); n != len(apiPods) {
				return fmt.Errorf("%d %s rows after clearing the filter", n, demo.APIDeployment)
			}
			return nil
		})
	}

	// The first API pod's drill-in lists its events (the scheduler's), and
	// l shows the log its process wrote, served by the apiserver's pod log
	// endpoint (kwok's Logs object of the pod).
	pod := apiPods[0]
	s.Send("/")
	s.Type(pod)
	s.Send("Enter")
	s.Poll(screenDeadline, "filtered to "+pod, func(screen string) error {
		if n := len(instanceRows(screen, demo.APIDeployment)); n != 1 {
			return fmt.Errorf("%d rows", n)
		}
		return nil
	})
	s.Send("Enter")
	screen = s.WaitFor(screenDeadline, "Instances › "+pod, "events", "Scheduled")
	t.Logf("drill-in with events:\n%s", screen)
	s.Send("l")
	screen = s.Poll(screenDeadline, "the log of "+pod, func(screen string) error {
		if !strings.Contains(screen, "logs "+pod+" (follow)") {
			return errors.New("no log view")
		}
		var shown, total int
		for _, l := range strings.Split(screen, "\n") {
			if _, err := fmt.Sscanf(strings.TrimSpace(l), "%d/%d lines", &shown, &total); err == nil {
				break
			}
		}
		if total == 0 {
			return errors.New("no log lines yet")
		}
		return nil
	})
	t.Logf("log view:\n%s", screen)
	s.Send("Escape") // back to the drill-in
	s.WaitFor(screenDeadline, "Instances › "+pod, "events")
	// Each Escape waits for its screen: an Escape followed at once by ":"
	// reaches the console as one alt+: key.
	s.Send("Escape") // back to the table
	s.WaitFor(screenDeadline, "Instances [")
	s.Send(":", "events", "Enter")
	screen = s.WaitFor(screenDeadline, "Events [", "Scheduled")
	t.Logf(":events:\n%s", screen)

	// :deploy, Enter on wotr-api: its drill-in lists the pods Kubernetes
	// runs and the controllers' events; the cursor starts on the first pod
	// (all are ready) and l shows that pod's real log.
	s.Send(":", "deploy", "Enter")
	s.WaitFor(screenDeadline, "Deployments [")
	s.Send("/")
	s.Type(demo.APIDeployment)
	s.Send("Enter")
	s.Poll(screenDeadline, "deployments filtered to "+demo.APIDeployment, func(screen string) error {
		if line := row(screen, demo.APIDeployment); !strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
			return fmt.Errorf("cursor not on %s: %q", demo.APIDeployment, line)
		}
		return nil
	})
	tDrill := time.Now()
	s.Send("Enter")
	screen = s.Poll(screenDeadline, "the drill-in of "+demo.APIDeployment+" with its pods and events", func(screen string) error {
		if !strings.Contains(screen, "Deployments › "+demo.APIDeployment) {
			return errors.New("no deployment drill-in")
		}
		if want := fmt.Sprintf("pods [%d/%d ready]", len(apiPods), len(apiPods)); !strings.Contains(screen, want) {
			return fmt.Errorf("no %q", want)
		}
		for _, pod := range apiPods {
			if row(screen, pod) == "" {
				return fmt.Errorf("no row of pod %s", pod)
			}
		}
		if !strings.Contains(screen, "ScalingReplicaSet") {
			return errors.New("no ScalingReplicaSet event")
		}
		return nil
	})
	t.Logf("deployment drill-in complete %s after Enter:\n%s", time.Since(tDrill).Round(time.Millisecond), screen)
	byName := append([]string(nil), apiPods...)
	sort.Strings(byName)
	if line := row(screen, byName[0]); !strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
		t.Fatalf("cursor not on the first pod %s:\n%s", byName[0], screen)
	}
	tLog := time.Now()
	s.Send("l")
	s.Poll(screenDeadline, "log lines of "+byName[0], func(screen string) error {
		if !strings.Contains(screen, "logs "+byName[0]+" (follow)") {
			return errors.New("no log view")
		}
		for _, l := range strings.Split(screen, "\n") {
			var shown, total int
			if _, err := fmt.Sscanf(strings.TrimSpace(l), "%d/%d lines", &shown, &total); err == nil && total > 0 {
				return nil
			}
		}
		return errors.New("no log lines yet")
	})
	t.Logf("log lines of %s %s after l", byName[0], time.Since(tLog).Round(time.Millisecond))
	// the process's first line, whatever it logged since: / filters the log
	// (wrapped: the JSON line is wider than the terminal)
	s.Send("/")
	s.Type("listening")
	s.Send("Enter", "w")
	screen = s.Poll(screenDeadline, "the startup line of "+byName[0], func(screen string) error {
		var joined strings.Builder
		for _, l := range strings.Split(screen, "\n") {
			joined.WriteString(strings.TrimRight(l, " "))
		}
		if !strings.Contains(joined.String(), `"msg":"wotr-api listening"`) || !strings.Contains(joined.String(), `"pod":"`+byName[0]+`"`) {
			return errors.New("no wotr-api listening line naming the pod")
		}
		return nil
	})
	t.Logf("log of %s from the deployment drill-in:\n%s", byName[0], screen)
	s.Send("Escape")
	s.WaitFor(screenDeadline, "Deployments › "+demo.APIDeployment, "pods [")
	s.Send("Escape")
	s.WaitFor(screenDeadline, "Deployments [")
	s.Send("Escape") // clears the filter

	// 3: the consumer group with one member per Running consumer pod.
	s.Send("3")
	screen = s.Poll(screenDeadline, "wotr-consumer-group members = consumer pods", func(screen string) error {
		pods, err := runningPods(ctx, p, demo.ConsumerDeployment)
		if err != nil {
			return err
		}
		line := row(screen, "wotr-consumer-group")
		if line == "" {
			return fmt.Errorf("no wotr-consumer-group row")
		}
		f := cells(line)
		members := -1
		if len(f) > 2 { // GROUP STATE MEMB ...
			members, _ = strconv.Atoi(f[2])
		}
		if members != len(pods) || len(pods) == 0 {
			return fmt.Errorf("group row %q: %d members, %d running consumer pods", line, members, len(pods))
		}
		return nil
	})
	t.Logf("consumers:\n%s", screen)

	// 6: the three kwok nodes.
	s.Send("6")
	screen = s.Poll(screenDeadline, "nodes node-0..node-2", func(screen string) error {
		for _, n := range []string{"node-0", "node-1", "node-2"} {
			if !strings.Contains(row(screen, n), "schedulable") {
				return fmt.Errorf("no schedulable row for %s", n)
			}
		}
		return nil
	})
	t.Logf("nodes:\n%s", screen)

	// Cordon node-0 (first row by name, where the cursor starts) through its
	// key and the dialog; client-go sees the change.
	const node = "node-0"
	if line := row(screen, node); !strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
		t.Fatalf("cursor not on %s:\n%s", node, screen)
	}
	nodeSchedulable := func(want bool) func() error {
		return func() error {
			n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if n.Spec.Unschedulable == want {
				return fmt.Errorf("%s: unschedulable=%v", node, n.Spec.Unschedulable)
			}
			return nil
		}
	}
	if err := nodeSchedulable(true)(); err != nil {
		t.Fatalf("before the cordon: %v", err)
	}
	ta := time.Now()
	s.Send("c")
	confirmDialog(t, s, "cordon "+node)
	localtest.Eventually(t, actionDeadline, node+" unschedulable", nodeSchedulable(false))
	t.Logf("cordon of %s confirmed and applied in %s", node, time.Since(ta).Round(time.Millisecond))
	s.Send("Enter") // close the dialog
	s.Poll(actionDeadline, node+" shown cordoned", func(screen string) error {
		if !strings.Contains(row(screen, node), "cordoned") {
			return fmt.Errorf("%s not shown cordoned", node)
		}
		return nil
	})

	// Uncordon it the same way.
	ta = time.Now()
	s.Send("u")
	confirmDialog(t, s, "uncordon "+node)
	localtest.Eventually(t, actionDeadline, node+" schedulable again", nodeSchedulable(true))
	t.Logf("uncordon of %s applied in %s", node, time.Since(ta).Round(time.Millisecond))
	s.Send("Enter")
	s.Poll(actionDeadline, node+" shown schedulable", func(screen string) error {
		if line := row(screen, node); !strings.Contains(line, "schedulable") || strings.Contains(line, "cordoned") {
			return fmt.Errorf("%s row %q", node, line)
		}
		return nil
	})

	s.Send("q")
	s.WaitFor(screenDeadline, "EXITED 0")
	t.Logf("console session took %s", time.Since(tc).Round(time.Millisecond))

	// History survives a restart: a new console draws the API pods'
	// sparklines from Prometheus at once. Its own polls (every 5 s) give at
	// most three points per series in the first 14 s, nine over a row's
	// three sparklines; more can only come from the backfill.
	tr := time.Now()
	s2 := tmuxtest.Start(t, 120, 40, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + cfgHome}, filepath.Join(dir, "wotr-tui"))
	first := s2.Poll(screenDeadline, "restarted overview with every area", func(screen string) error {
		for _, a := range areas {
			if f := strings.Fields(row(screen, a)); len(f) == 0 || f[len(f)-1] == "-" {
				return fmt.Errorf("area %q has no data yet", a)
			}
		}
		return nil
	})
	t.Logf("restarted console: first complete screen %s after launch:\n%s", time.Since(tr).Round(time.Millisecond), first)
	s2.Send("2")
	screen = s2.Poll(max(14*time.Second-time.Since(tr), 2*time.Second), "sparklines backfilled at once", func(screen string) error {
		rows := instanceRows(screen, demo.APIDeployment)
		if len(rows) == 0 {
			return fmt.Errorf("no %s rows yet", demo.APIDeployment)
		}
		for _, r := range rows {
			if n := sparkPoints(r); n <= 3*3 {
				return fmt.Errorf("row %q draws %d sparkline points, want more than three polls can (3 sparklines x 3)", r, n)
			}
		}
		return nil
	})
	t.Logf("restarted console %s after launch, instances with backfilled sparklines:\n%s", time.Since(tr).Round(time.Millisecond), screen)
	s2.Send("q")
	s2.WaitFor(screenDeadline, "EXITED 0")
}

// sparkPoints counts the sparkline runes of a line (see common.Sparkline).
func sparkPoints(line string) int {
	n := 0
	for _, r := range line {
		if r >= '▁' && r <= '█' {
			n++
		}
	}
	return n
}

// confirmDialog waits for the action dialog's plan, types the confirmation
// and waits for the result, failing at once if the action fails.
func confirmDialog(t *testing.T, s *tmuxtest.Session, title string) {
	t.Helper()
	screen := s.WaitFor(actionDeadline, "Action: "+title, "Type yes to confirm")
	t.Logf("plan of %s:\n%s", title, dialogBox(screen))
	s.Type("yes")
	s.Send("Enter")
	screen = s.Poll(actionDeadline, title+" done", func(screen string) error {
		if strings.Contains(screen, "Failed:") || strings.Contains(screen, "Blocked:") {
			t.Fatalf("%s did not succeed:\n%s", title, screen)
		}
		if !strings.Contains(screen, "Done:") {
			return fmt.Errorf("no result yet")
		}
		return nil
	})
	t.Logf("result of %s:\n%s", title, dialogBox(screen))
}

// dialogBox keeps the screen lines of the dialog's box.
func dialogBox(screen string) string {
	var out []string
	for _, line := range strings.Split(screen, "\n") {
		if strings.ContainsAny(line, "╭│╰") {
			out = append(out, strings.TrimRight(line, " "))
		}
	}
	return strings.Join(out, "\n")
}

// cells splits a table row into its cells, without the selection cursor.
func cells(line string) []string {
	return strings.Fields(strings.TrimLeft(line, " >"))
}

// row returns the first screen line of a table row that starts with key
// (a row's first cell, so tab bars and summaries naming it do not count), or "".
func row(screen, key string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " >"), key+" ") {
			return line
		}
	}
	return ""
}

var reqPerSec = regexp.MustCompile(`· ([0-9.]+[kMG]?) req/s`)

var ageRe = regexp.MustCompile(`^(\d+)([smhd])$`)

// parseAge reads the console's age format (12s, 3m, 2h, 1d).
func parseAge(s string) (time.Duration, error) {
	m := ageRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("age %q: not an age", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// instanceRows returns the Instances table's rows of a deployment
// (POD DEPLOY NODE ...; the deployment cell may be cut with "…").
func instanceRows(screen, deployment string) []string {
	var out []string
	for _, line := range strings.Split(screen, "\n") {
		f := cells(line)
		if len(f) < 5 {
			continue
		}
		cut := strings.TrimSuffix(f[1], "…")
		if f[1] == deployment || cut != f[1] && strings.HasPrefix(deployment, cut) {
			out = append(out, line)
		}
	}
	return out
}

// rpsOf reads the RPS cell of an instance row: POD DEPLOY NODE RDY RPS ...
func rpsOf(line string) (float64, error) {
	// RPS follows READY; the columns before it depend on the width.
	f := cells(line)
	i := 1
	for i < len(f) && f[i] != "yes" && f[i] != "no" {
		i++
	}
	if i+1 >= len(f) {
		return 0, fmt.Errorf("row %q: no READY cell followed by RPS", line)
	}
	v, err := parseCount(f[i+1])
	if err != nil {
		return 0, fmt.Errorf("row %q: RPS %w", line, err)
	}
	return v, nil
}

// parseCount reads the console's counts (12, 3.4, 1.2k, 5M).
func parseCount(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not a count", s)
	}
	return v * mult, nil
}

// runningPods names the Running, not terminating pods of a deployment, sorted.
func runningPods(ctx context.Context, p *local.Platform, app string) ([]string, error) {
	list, err := p.Kube.Clientset.CoreV1().Pods(p.Kube.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, pod := range list.Items {
		if pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning {
			out = append(out, pod.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
