package kube

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// A pod of a kwok node runs as a local process (the demo's supervisor);
// its log, read back through the apiserver's pod log endpoint, holds the
// lines that process wrote, stdout and stderr, with and without timestamps,
// and a followed stream delivers lines written after it opened.
func TestPodLogsServeWhatTheProcessWrote(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := p.Kube.Namespace
	createSingleDeployment(t, p, "log-probe")
	sup, err := demo.NewSupervisor(demo.SupervisorOptions{
		Client: p.Kube.Clientset, Namespace: ns, LogDir: t.TempDir(),
		Workloads: []demo.Workload{{Deployment: "log-probe", Binary: "/bin/sh",
			// one line now, one on stderr, then one a second until stopped
			Args: []string{"-c", `echo "hello from $POD_NAME"; echo "to stderr" >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done`}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Stop() })
	pod := waitPodProcess(ctx, t, sup, "log-probe")

	c, err := NewFromRest(p.Kube.RestConfig(), ns)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	// The Logs object is created right after the process starts; kwok picks it up by watch.
	deadline := time.Now().Add(30 * time.Second)
	for {
		text, err = readAll(ctx, c, pod, inspect.LogOptions{})
		if err == nil && strings.Contains(text, "tick 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs of %s: err %v, text %q", pod, err, text)
		}
		time.Sleep(200 * time.Millisecond) // polling the endpoint, not waiting for a fixed state
	}
	for _, want := range []string{"hello from " + pod, "to stderr", "tick 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, " stdout F ") {
		t.Errorf("log shows the file's framing instead of the lines:\n%s", text)
	}

	stamped, err := readAll(ctx, c, pod, inspect.LogOptions{Timestamps: true, TailLines: 1})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stamped), "\n")
	if len(lines) != 1 {
		t.Fatalf("tail 1 gave %d lines: %q", len(lines), stamped)
	}
	ts, _, _ := strings.Cut(lines[0], " ")
	if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(at) > time.Minute {
		t.Errorf("timestamped line %q: time %v, %v", lines[0], at, err)
	}

	followCtx, stopFollow := context.WithTimeout(ctx, 30*time.Second)
	defer stopFollow()
	rc, err := c.PodLogs(followCtx, pod, inspect.LogOptions{Follow: true, TailLines: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	var seen []string
	for sc.Scan() && len(seen) < 4 {
		seen = append(seen, sc.Text())
	}
	if len(seen) < 4 {
		t.Fatalf("follow delivered %q before it ended (%v)", seen, sc.Err())
	}
	if seen[0] == seen[3] || !strings.HasPrefix(seen[3], "tick ") {
		t.Errorf("follow did not deliver new lines: %q", seen)
	}

	// kubectl reads the same endpoint
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", p.Kube.Kubeconfig, "-n", ns, "logs", pod, "--tail", "50").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello from "+pod) && !strings.Contains(string(out), "tick ") {
			t.Errorf("kubectl logs %s: %v\n%s", pod, err, out)
		}
	} else {
		t.Log("kubectl not installed: its check is skipped")
	}

	if _, err := c.PodLogs(ctx, "no-such-pod", inspect.LogOptions{}); err == nil || !strings.Contains(err.Error(), "no-such-pod") {
		t.Errorf("logs of a missing pod: %v, want an error naming it", err)
	}
}

func readAll(ctx context.Context, c *Client, pod string, o inspect.LogOptions) (string, error) {
	rc, err := c.PodLogs(ctx, pod, o)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// Events of a Deployment, filtered by involvedObject, are the ones the
// controllers wrote about it (the scaling of its ReplicaSet), and none about
// another object.
func TestEventsOfAnObject(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createSingleDeployment(t, p, "event-probe")
	c, err := NewFromRest(p.Kube.RestConfig(), p.Kube.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	var evs []inspect.Event
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err = c.Events(ctx, "Deployment", "event-probe")
		if err == nil && len(evs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no events about the deployment: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, e := range evs {
		if e.Kind != "Deployment" || e.Name != "event-probe" {
			t.Errorf("event about %s/%s in the deployment's events", e.Kind, e.Name)
		}
	}
	if evs[0].Reason != "ScalingReplicaSet" || !strings.Contains(evs[0].Message, "event-probe") || evs[0].Last.IsZero() || evs[0].Count < 1 {
		t.Errorf("event %+v, want ScalingReplicaSet naming the deployment with a time", evs[0])
	}
	all, err := c.Events(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < len(evs) {
		t.Errorf("namespace has %d events, fewer than the deployment's %d", len(all), len(evs))
	}
	none, err := c.Events(ctx, "Deployment", "no-such-deployment")
	if err != nil || len(none) != 0 {
		t.Errorf("events of a missing deployment: %v, %v; want none", none, err)
	}
}

func createSingleDeployment(t *testing.T, p *local.Platform, name string) {
	t.Helper()
	replicas := int32(1)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Kube.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "wotr/" + name}}},
			},
		},
	}
	if _, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// waitPodProcess is the pod whose process the supervisor runs for deployment.
func waitPodProcess(ctx context.Context, t *testing.T, sup *demo.Supervisor, deployment string) string {
	t.Helper()
	for ctx.Err() == nil {
		for _, in := range sup.Instances() {
			if in.Deployment == deployment && in.PID > 0 {
				return in.Pod
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no process for %s", deployment)
	return ""
}
