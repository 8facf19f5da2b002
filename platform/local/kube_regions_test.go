package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// Each region's control plane is its own: its kubeconfig reaches only its
// own apiserver, holds only its region's nodes, and a Deployment created in
// one never appears in the other.
func TestKubePerRegionClustersAreSeparate(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{PerRegion: true}})
	if len(p.Kubes) != 2 {
		t.Fatalf("Kubes = %d clusters, want 2 (primary, secondary)", len(p.Kubes))
	}
	prim, sec := p.KubeFor("primary"), p.KubeFor("secondary")
	if prim == nil || sec == nil || prim == sec || p.Kube != prim {
		t.Fatalf("KubeFor: primary %p, secondary %p, Kube %p: want two distinct clusters, Kube the primary", prim, sec, p.Kube)
	}
	if prim.Server == sec.Server || prim.Kubeconfig == sec.Kubeconfig || prim.Context == sec.Context {
		t.Fatalf("clusters share server/kubeconfig/context: %s %s %s / %s %s %s", prim.Server, prim.Kubeconfig, prim.Context, sec.Server, sec.Kubeconfig, sec.Context)
	}
	if prim.Process("etcd").Cmd.Process.Pid == sec.Process("etcd").Cmd.Process.Pid {
		t.Fatal("both regions run on one etcd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, k := range []*local.KubeCluster{prim, sec} {
		// The kubeconfig file names its context and reaches this cluster alone.
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig},
			&clientcmd.ConfigOverrides{CurrentContext: k.Context}).ClientConfig()
		if err != nil {
			t.Fatalf("%s: kubeconfig %s context %s: %v", k.Region, k.Kubeconfig, k.Context, err)
		}
		if cfg.Host != k.Server {
			t.Fatalf("%s: kubeconfig host %s, want %s", k.Region, cfg.Host, k.Server)
		}
		nodes, err := k.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) == 0 {
			t.Fatalf("%s: no nodes", k.Region)
		}
		for _, n := range nodes.Items {
			if got := n.Labels[local.LabelRegion]; got != k.Region {
				t.Errorf("%s cluster holds node %s of region %q", k.Region, n.Name, got)
			}
		}
		if _, err := k.Clientset.CoreV1().Namespaces().Get(ctx, local.KubeNamespace, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: namespace %s: %v", k.Region, local.KubeNamespace, err)
		}
	}
	if len(prim.Nodes)+len(sec.Nodes) != 3 || len(sec.Nodes) != 1 {
		t.Fatalf("nodes primary %v secondary %v: want the default 3 split 2+1", prim.Nodes, sec.Nodes)
	}

	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "only-primary", Namespace: local.KubeNamespace},
		Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "only-primary"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "only-primary"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}},
	}
	if _, err := prim.Clientset.AppsV1().Deployments(local.KubeNamespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubePoll(t, ctx, "primary pod Running", kubeWantRunning(ctx, prim.Clientset, local.KubeNamespace, "app=only-primary", prim.Nodes, 1))
	if _, err := sec.Clientset.AppsV1().Deployments(local.KubeNamespace).Get(ctx, "only-primary", metav1.GetOptions{}); err == nil {
		t.Fatal("a Deployment created in the primary region's cluster shows in the secondary's")
	}

	// A node of another region is refused and nothing is created.
	_, err := sec.AddNode(ctx, "wrong-region", local.KubeZone{Region: "primary", Zone: "primary-a"})
	if err == nil || !strings.Contains(err.Error(), `"primary"`) || !strings.Contains(err.Error(), `"secondary"`) {
		t.Fatalf("AddNode of a primary zone to the secondary cluster: err %v, want it refused naming both regions", err)
	}
	if _, err := sec.Clientset.CoreV1().Nodes().Get(ctx, "wrong-region", metav1.GetOptions{}); err == nil {
		t.Fatal("the refused node was created anyway")
	}
}

func TestKubePerRegionRejectsTooFewNodes(t *testing.T) {
	_, err := local.Start(context.Background(), local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{PerRegion: true, Nodes: 2}})
	if err == nil || !strings.Contains(err.Error(), "Nodes 2") || !strings.Contains(err.Error(), "3 zones") {
		t.Fatalf("err %v, want Nodes 2 refused naming the 3 zones", err)
	}
}
