package local_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/drain"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// kubePoll calls check until it returns nil or the deadline passes.
func kubePoll(t *testing.T, ctx context.Context, what string, check func() error) time.Duration {
	t.Helper()
	t0 := time.Now()
	tick := 20 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return time.Since(t0)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached within deadline: %v", what, err)
		case <-time.After(tick):
		}
		if tick < 200*time.Millisecond {
			tick *= 2
		}
	}
}

// kubeRunningPods lists the live pods matching selector that are Running and
// Ready on one of the kwok nodes.
func kubeRunningPods(ctx context.Context, cs kubernetes.Interface, ns, selector string, nodes []string) ([]corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	onNode := map[string]bool{}
	for _, n := range nodes {
		onNode[n] = true
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !onNode[p.Spec.NodeName] {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func kubeWantRunning(ctx context.Context, cs kubernetes.Interface, ns, selector string, nodes []string, n int) func() error {
	return func() error {
		pods, err := kubeRunningPods(ctx, cs, ns, selector, nodes)
		if err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d pods Running and Ready, want %d", len(pods), n)
		}
		return nil
	}
}

func TestKubeNodesAndKubeconfig(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	k := p.Kube
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Logf("kube ready in %s at %s", p.StartTimes[local.Kube], k.Server)

	// The kubeconfig on disk works on its own, as kubectl or the console would use it.
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != k.Server {
		t.Errorf("kubeconfig server %s, want %s", cfg.Host, k.Server)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := clientcmd.LoadFromFile(k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if ns := raw.Contexts[raw.CurrentContext].Namespace; ns != local.KubeNamespace {
		t.Errorf("kubeconfig context namespace %q, want %q", ns, local.KubeNamespace)
	}
	// The build stamps the release version; unstamped binaries say v0.0.0-master.
	if v, err := cs.Discovery().ServerVersion(); err != nil || v.Major != "1" || !strings.HasPrefix(v.GitVersion, "v1.") {
		t.Errorf("server version %+v (%v), want a stamped v1.x release", v, err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, local.KubeNamespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace %s: %v", local.KubeNamespace, err)
	}

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 3 || len(k.Nodes) != 3 {
		t.Fatalf("%d kwok nodes in the API, %d in KubeCluster.Nodes, want 3", len(nodes.Items), len(k.Nodes))
	}
	regions := map[string][]string{}
	for _, n := range nodes.Items {
		if !local.NodeReady(&n) {
			t.Errorf("node %s not Ready", n.Name)
		}
		if got := n.Status.Allocatable.Cpu().String(); got != "32" {
			t.Errorf("node %s allocatable cpu %s, want 32", n.Name, got)
		}
		if len(n.Spec.Taints) != 0 {
			t.Errorf("node %s has taints %v, want none", n.Name, n.Spec.Taints)
		}
		regions[n.Labels[local.LabelRegion]] = append(regions[n.Labels[local.LabelRegion]], n.Labels[local.LabelZone])
	}
	for r := range regions {
		sort.Strings(regions[r])
	}
	if got := fmt.Sprint(regions); got != "map[primary:[primary-a primary-b] secondary:[secondary-a]]" {
		t.Errorf("node zones by region %s, want primary-a/primary-b in primary and secondary-a in secondary", got)
	}
}

// A Deployment runs on kwok nodes, scales through the scale subresource, and
// an eviction through the eviction API honours its PodDisruptionBudget and is
// replaced.
func TestKubeDeploymentScaleAndEvict(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	k := p.Kube
	cs := k.Clientset
	ns := local.KubeNamespace
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	labels := map[string]string{"app": "kube-test-api"}
	selector := "app=kube-test-api"
	replicas := int32(6)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-test-api", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "wotr/api:test"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(ns).Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
		_ = cs.PolicyV1().PodDisruptionBudgets(ns).Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
	})
	took := kubePoll(t, ctx, "6 pods Running", kubeWantRunning(ctx, cs, ns, selector, k.Nodes, 6))
	t.Logf("6 replicas Running in %s", took.Round(time.Millisecond))

	// The controllers update the Deployment all the time; a scale read then
	// written back can meet a newer resourceVersion, so retry on conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		scale, err := cs.AppsV1().Deployments(ns).GetScale(ctx, dep.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if scale.Spec.Replicas != 6 {
			t.Fatalf("scale subresource reports %d replicas, want 6", scale.Spec.Replicas)
		}
		scale.Spec.Replicas = 9
		_, err = cs.AppsV1().Deployments(ns).UpdateScale(ctx, dep.Name, scale, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	took = kubePoll(t, ctx, "9 pods Running", kubeWantRunning(ctx, cs, ns, selector, k.Nodes, 9))
	t.Logf("scaled 6 -> 9 Running in %s", took.Round(time.Millisecond))
	pods, err := kubeRunningPods(ctx, cs, ns, selector, k.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, pod := range pods {
		perNode[pod.Spec.NodeName]++
	}
	if len(perNode) < 2 {
		t.Errorf("9 pods all on %v; the scheduler should spread them over the kwok nodes", perNode)
	}

	// A budget that allows no disruption makes the eviction API refuse.
	minAvailable := intstr.FromInt32(9)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: dep.Name, Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &minAvailable,
			Selector:     &metav1.LabelSelector{MatchLabels: labels},
		},
	}
	if _, err = cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdbObserved := func(wantAllowed int32) func() error {
		return func() error {
			got, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, dep.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got.Status.ObservedGeneration != got.Generation || got.Status.CurrentHealthy != 9 || got.Status.DisruptionsAllowed != wantAllowed {
				return fmt.Errorf("pdb status %+v (generation %d), want %d disruptions allowed", got.Status, got.Generation, wantAllowed)
			}
			return nil
		}
	}
	kubePoll(t, ctx, "pdb observed with 0 disruptions allowed", pdbObserved(0))
	victim := pods[0].Name
	evict := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: victim, Namespace: ns}}
	if err := cs.PolicyV1().Evictions(ns).Evict(ctx, evict); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting %s against minAvailable 9: got %v, want 429 Too Many Requests", victim, err)
	}

	// Loosen the budget by one: the eviction goes through and the pod is replaced.
	pdb, err = cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	minAvailable = intstr.FromInt32(8)
	pdb.Spec.MinAvailable = &minAvailable
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubePoll(t, ctx, "pdb observed with 1 disruption allowed", pdbObserved(1))
	t0 := time.Now()
	if err := cs.PolicyV1().Evictions(ns).Evict(ctx, evict); err != nil {
		t.Fatalf("evict %s: %v", victim, err)
	}
	kubePoll(t, ctx, "evicted pod gone and replaced", func() error {
		pods, err := kubeRunningPods(ctx, cs, ns, selector, k.Nodes)
		if err != nil {
			return err
		}
		for _, pod := range pods {
			if pod.Name == victim {
				return fmt.Errorf("evicted pod %s still Running", victim)
			}
		}
		if _, err := cs.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("evicted pod %s still present: %v", victim, err)
		}
		if len(pods) != 9 {
			return fmt.Errorf("%d pods Running, want 9", len(pods))
		}
		return nil
	})
	t.Logf("evicted %s and replacement Running in %s", victim, time.Since(t0).Round(time.Millisecond))
}

// Draining a node the way kubectl does (cordon, then evict every pod) moves
// its pods onto the other kwok nodes; none stalls in Terminating.
func TestKubeDrainNode(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	k := p.Kube
	cs := k.Clientset
	ns := local.KubeNamespace
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	labels := map[string]string{"app": "kube-test-drain"}
	selector := "app=kube-test-drain"
	replicas := int32(45)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-test-drain", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "wotr/api:test"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(ns).Delete(context.Background(), dep.Name, metav1.DeleteOptions{})
	})
	took := kubePoll(t, ctx, "45 pods Running", kubeWantRunning(ctx, cs, ns, selector, k.Nodes, 45))
	t.Logf("45 replicas Running on %d nodes in %s", len(k.Nodes), took.Round(time.Millisecond))

	pods, err := kubeRunningPods(ctx, cs, ns, selector, k.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, pod := range pods {
		perNode[pod.Spec.NodeName]++
	}
	target := k.Nodes[0]
	for n, c := range perNode {
		if c > perNode[target] {
			target = n
		}
	}
	var others []string
	for _, n := range k.Nodes {
		if n != target {
			others = append(others, n)
		}
	}

	h := &drain.Helper{
		Ctx: ctx, Client: cs, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true,
		DeleteEmptyDirData: true, Timeout: time.Minute, Out: io.Discard, ErrOut: io.Discard,
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, target, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n, err := cs.CoreV1().Nodes().Get(context.Background(), target, metav1.GetOptions{}); err == nil {
			_ = drain.RunCordonOrUncordon(&drain.Helper{Ctx: context.Background(), Client: cs}, n, false)
		}
	})
	t0 := time.Now()
	if err := drain.RunCordonOrUncordon(h, node, true); err != nil {
		t.Fatal(err)
	}
	if err := drain.RunNodeDrain(h, target); err != nil {
		t.Fatalf("drain %s: %v", target, err)
	}
	kubePoll(t, ctx, "drained pods replaced on the other nodes", func() error {
		left, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector, FieldSelector: "spec.nodeName=" + target})
		if err != nil {
			return err
		}
		if len(left.Items) > 0 {
			return fmt.Errorf("%d pods still on drained node %s", len(left.Items), target)
		}
		return kubeWantRunning(ctx, cs, ns, selector, others, 45)()
	})
	t.Logf("drained %s (%d pods) with every replacement Running in %s", target, perNode[target], time.Since(t0).Round(time.Millisecond))
}

// A node added at run time becomes Ready in its zone; removing it takes it
// out of the API.
func TestKubeAddRemoveNode(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	k := p.Kube
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := k.AddNode(ctx, "", local.KubeZone{Region: "secondary", Zone: "secondary-b"})
	if err != nil {
		t.Fatal(err)
	}
	node, err := k.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !local.NodeReady(node) || node.Labels[local.LabelZone] != "secondary-b" {
		t.Fatalf("added node %s: ready %v zone %q, want Ready in secondary-b", name, local.NodeReady(node), node.Labels[local.LabelZone])
	}
	if err := k.RemoveNode(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("node %s after RemoveNode: %v, want NotFound", name, err)
	}
	if strings.Contains(strings.Join(k.Nodes, ","), name) {
		t.Fatalf("KubeCluster.Nodes %v still lists %s", k.Nodes, name)
	}
	if _, err := k.AddNode(ctx, "bad", local.KubeZone{Region: "primary"}); err == nil || !strings.Contains(err.Error(), "region and zone must both be set") {
		t.Fatalf("AddNode without zone: got %v, want an error naming the rule", err)
	}
}

func TestKubeBadOptions(t *testing.T) {
	localtest.Platform(t, local.Kube)
	_, err := local.Start(context.Background(), local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{Nodes: -1}})
	if err == nil || !strings.Contains(err.Error(), "Nodes -1") {
		t.Fatalf("Start with Nodes -1: got %v, want an error naming the value", err)
	}
	_, err = local.Start(context.Background(), local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{BinDir: "/nonexistent/bin"}})
	if err == nil || !strings.Contains(err.Error(), "make controlplane") {
		t.Fatalf("Start with a missing BinDir: got %v, want an error naming `make controlplane`", err)
	}
}

// A start that runs out of time stops what it started: no process whose
// command line names the platform's directory survives.
func TestKubeFailedStartLeavesNothing(t *testing.T) {
	localtest.Platform(t, local.Kube)
	parent := t.TempDir()
	_, err := local.Start(context.Background(), local.Options{Only: []string{local.Kube}, Dir: parent, StartTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Start with a 300ms deadline succeeded; want a readiness timeout")
	}
	t.Logf("start failed as intended: %.200s", err)
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), parent) {
			t.Errorf("pid %s survived the failed start: %s", e.Name(), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

// When a port picked for the control plane is taken before the apiserver
// binds it, the start retries on fresh ports instead of failing.
func TestKubeRetriesOnPortClash(t *testing.T) {
	localtest.Platform(t, local.Kube)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	restore := local.SetPortPicker(func(component string, n int) ([]int, error) {
		if component != local.Kube {
			return local.FreePorts(n)
		}
		calls++
		ports, err := local.FreePorts(n)
		if err == nil && calls == 1 {
			ports[2] = taken.Addr().(*net.TCPAddr).Port // the apiserver's port
		}
		return ports, err
	})
	defer restore()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := local.Start(ctx, local.Options{Only: []string{local.Kube}})
	if err != nil {
		t.Fatalf("Start with the apiserver port taken: %v", err)
	}
	defer p.Stop()
	// First boot: etcd and apiserver ports, clash. Last boot: those, then
	// the controllers' ports once the apiserver is ready. Another platform
	// may cause a further clash, so more boots are allowed.
	retries := p.PortRetries[local.Kube]
	if retries < 1 || calls < 3 || calls > 2*(retries+1) {
		t.Errorf("picked ports %d times over %d retries, want at least one clash and then a full boot", calls, retries)
	}
	if want := "kube-" + strconv.Itoa(retries+1); !strings.HasSuffix(p.Kube.Dir, want) {
		t.Errorf("cluster dir %s, want the last attempt's %s", p.Kube.Dir, want)
	}
	if len(p.PIDs()) != 5 {
		t.Errorf("tracked %d processes after the retry, want 5 (the first attempt's stopped)", len(p.PIDs()))
	}
	nodes, err := p.Kube.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 3 {
		t.Fatalf("nodes after retry: %d, %v; want 3", len(nodes.Items), err)
	}
	t.Logf("started after one clash in %s", p.StartTimes[local.Kube].Round(time.Millisecond))
}
