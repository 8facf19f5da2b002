package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// TestKill9MidActionLeavesAnIntent runs the real binary draining a node of
// the local cluster and SIGKILLs it at random points. Whatever the point, a
// node the drain touched (cordoned) has an intent on record, and each
// intent has its result or reads back as interrupted.
func TestKill9MidActionLeavesAnIntent(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	runs := 12
	if n, err := strconv.Atoi(os.Getenv("WOTR_KILL_RUNS")); err == nil && n > 0 {
		runs = n
	}
	bin := filepath.Join(t.TempDir(), "wotr-tui")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cc := contextFor(t, p)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := config.SaveContext(cfgPath, cc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs, ns := p.Kube.Clientset, p.Kube.Namespace
	node, err := p.Kube.AddNode(ctx, "kill-test-0", local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kube.RemoveNode(ctx, node) //nolint:errcheck
	createDeployment(t, cs, deployment("kill-pinned", ns, 4, map[string]string{"kubernetes.io/hostname": node}, nil))
	log := audit.NewLog(cc.AuditLog)

	cordoned := func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Unschedulable
	}
	reset := func() {
		// A patch, not an update: kwok's heartbeats change the node meanwhile.
		patch := []byte(`{"spec":{"unschedulable":false}}`)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "4 pods running on "+node, func() (bool, string) {
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				return false, err.Error()
			}
			running := 0
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
					running++
				}
			}
			return running == 4, fmt.Sprintf("%d running", running)
		})
	}
	intents := func() map[string]bool {
		recs, err := log.Lines()
		if err != nil {
			t.Fatalf("audit log: %v", err)
		}
		ids := map[string]bool{}
		for _, r := range recs {
			if r.Kind == audit.KindIntent {
				ids[r.ID] = true
			}
		}
		return ids
	}
	drain := func(kill time.Duration) (time.Duration, bool) {
		cmd := exec.Command(bin, "--config", cfgPath, "--context", cc.Name, "drain", node, "--yes", "-o", "json")
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kill >= 0 {
			timer := time.AfterFunc(kill, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		_ = cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return time.Since(t0), ws.Signaled() && ws.Signal() == syscall.SIGKILL
	}

	// One whole drain sets the range of kill points.
	reset()
	full, _ := drain(-1)
	t.Logf("a whole drain takes %s", full.Round(time.Millisecond))
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	var killedRuns, touched, newIntents, withResult, interrupted, noIntentUntouched int
	var killedWithResult int
	for i := 0; i < runs; i++ {
		reset()
		before := intents()
		at := time.Duration(rng.Int63n(int64(full + full/2)))
		_, killed := drain(at)
		if killed {
			killedRuns++
		}
		after := intents()
		var id string
		for k := range after {
			if !before[k] {
				id = k
			}
		}
		isCordoned := cordoned()
		if isCordoned {
			touched++
		}
		if id == "" {
			if isCordoned {
				t.Fatalf("run %d (kill at %s, seed %d): node cordoned with no intent on record", i, at, seed)
			}
			noIntentUntouched++
			continue
		}
		newIntents++
		if len(after) != len(before)+1 {
			t.Fatalf("run %d: %d new intents, want at most 1", i, len(after)-len(before))
		}
		recs, _ := log.Records(ctx, 0)
		for _, r := range recs {
			switch {
			case r.Kind == audit.KindResult && r.Intent == id:
				withResult++
				if killed {
					killedWithResult++ // killed after its result was written
				}
			case r.Kind == audit.KindIntent && r.ID == id:
				if r.Outcome != audit.OutcomeInterrupted {
					t.Fatalf("run %d: intent without result reads %q, want interrupted", i, r.Outcome)
				}
				interrupted++
			}
		}
	}
	if withResult+interrupted != newIntents {
		t.Fatalf("%d intents, %d results + %d interrupted", newIntents, withResult, interrupted)
	}
	rep, err := log.Verify(ctx)
	if err != nil || !rep.Intact {
		t.Fatalf("chain after the kills: %+v %v", rep, err)
	}
	t.Logf("seed %d: %d runs, %d SIGKILLed; %d touched the node; %d intents: %d with results (%d of them killed after the result), %d interrupted; %d killed before an intent (node untouched); chain intact over %d records",
		seed, runs, killedRuns, touched, newIntents, withResult, killedWithResult, interrupted, noIntentUntouched, rep.Records)
}
