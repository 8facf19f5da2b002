package kube

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// The drain preview reads PodDisruptionBudgets and the cluster's pods from
// the shared informers: repeated previews send one LIST of PDBs at most (the
// informer's) and no cluster-wide LIST of pods per call, and a PDB made or
// removed after the first preview shows in the next one through the watch.
func TestDrainPreviewServesPDBsFromTheInformer(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := p.Kube.Clientset
	ns := tempNamespace(ctx, t, admin, "pdb")
	node, err := p.Kube.AddNode(ctx, fmt.Sprintf("pdb-node-%d", time.Now().UnixNano()%100000), local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kube.RemoveNode(context.Background(), node) })
	dep := deploymentNamed(ns, "pinned")
	three := int32(3)
	dep.Spec.Replicas = &three
	dep.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node}
	dep.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 60*time.Second, "3 pinned pods running", func() error {
		pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node + ",status.phase=Running"})
		if err != nil || len(pods.Items) != 3 {
			return fmt.Errorf("%v running, err %v", pods, err)
		}
		return nil
	})

	cfg := p.Kube.RestConfig()
	counter := &requestCounter{n: map[string]int{}}
	counter.wrap(cfg)
	c, err := NewFromRest(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := action.DrainOptions{IgnoreDaemonSets: true, GracePeriodSeconds: -1}
	pv, err := c.PreviewDrain(ctx, node, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Move) != 3 || len(pv.BlockingPDBs) != 0 || len(pv.SoleHolders) != 1 {
		t.Fatalf("before any PDB: move %d, blocking %+v, sole holders %v; want 3, none, the deployment", len(pv.Move), pv.BlockingPDBs, pv.SoleHolders)
	}

	minAvail := intstr.FromInt32(3)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "pinned", Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: dep.Spec.Selector}}
	if _, err := admin.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	previews := 1
	localtest.Eventually(t, 30*time.Second, "the new PDB blocks in the preview", func() error {
		pv, err := c.PreviewDrain(ctx, node, opts)
		previews++
		if err != nil {
			return err
		}
		if len(pv.BlockingPDBs) != 1 || pv.BlockingPDBs[0].Name != "pinned" || len(pv.BlockingPDBs[0].Pods) != 3 {
			return fmt.Errorf("blocking %+v", pv.BlockingPDBs)
		}
		return nil
	})
	for i := 0; i < 10; i++ {
		if _, err := c.PreviewDrain(ctx, node, opts); err != nil {
			t.Fatal(err)
		}
		previews++
	}
	if err := admin.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, pdb.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 30*time.Second, "the deleted PDB gone from the preview", func() error {
		pv, err := c.PreviewDrain(ctx, node, opts)
		previews++
		if err != nil {
			return err
		}
		if len(pv.BlockingPDBs) != 0 {
			return fmt.Errorf("blocking %+v", pv.BlockingPDBs)
		}
		return nil
	})
	if n := counter.get("LIST poddisruptionbudgets"); n > 1 {
		t.Errorf("%d previews sent %d LISTs of PDBs, want the informer's one at most", previews, n)
	}
	if n := counter.get("LIST poddisruptionbudgets") + counter.get("WATCH poddisruptionbudgets"); n < 1 || n > 2 {
		t.Errorf("PDB informer opened with %d requests, want one list and one watch at most", n)
	}
	// The drain helper lists the node's pods once per preview (field
	// selected); the cluster-wide list is the informer's.
	if n := counter.get("LIST pods"); n > previews+1 {
		t.Errorf("%d previews sent %d LISTs of pods, want at most one each plus the informer's", previews, n)
	}
	for _, r := range []string{"deployments", "horizontalpodautoscalers"} {
		if n := counter.get("LIST "+r) + counter.get("WATCH "+r); n != 0 {
			t.Errorf("a drain preview opened the %s informer (%d requests)", r, n)
		}
	}
}
