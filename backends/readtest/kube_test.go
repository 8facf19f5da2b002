package readtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func ptr[T any](v T) *T { return &v }

// A wotr-api Deployment of 4 with an HPA 2..6 on kwok nodes: instances,
// deployment and HPA, nodes with zones, and a cordon show as they are.
func TestKubeInstancesDeploymentsAndNodes(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx := ctxT(t, 90*time.Second)
	cs := p.Kube.Clientset
	ns := unique("readtest")
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	labels := map[string]string{"app": "wotr-api"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "wotr-api", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(4)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromInt32(2))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{kube.MetricsAddrAnnotation: "127.0.0.1:9"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "fastapi", Image: "wotr/fastapi",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}},
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
					}}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "wotr-api-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "wotr-api"},
			MinReplicas:    ptr(int32(2)), MaxReplicas: 6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))}}}},
		},
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc, err := kube.NewFromRest(p.Kube.RestConfig(), ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	var ins []state.Instance
	localtest.Eventually(t, 60*time.Second, "4 ready instances", func() error {
		var err error
		ins, err = kc.ListInstances(ctx)
		if err != nil {
			return err
		}
		ready := 0
		for _, in := range ins {
			if in.Ready && in.Node != "" {
				ready++
			}
		}
		if len(ins) != 4 || ready != 4 {
			return fmt.Errorf("%d instances, %d ready on a node", len(ins), ready)
		}
		return nil
	})
	for _, in := range ins {
		if in.Deployment != "wotr-api" || in.Zone == "" || in.Address != "127.0.0.1:9" || in.CPURequest != 0.5 || in.MemLimit != 1<<30 {
			t.Errorf("instance %+v", in)
		}
	}
	deps, err := kc.ReadDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || deps[0].Desired != 4 || deps[0].MaxSurge != "2" || deps[0].HPA == nil ||
		deps[0].HPA.Min != 2 || deps[0].HPA.Max != 6 || len(deps[0].HPA.Metrics) != 1 || deps[0].HPA.Metrics[0].Target != "70%" {
		t.Fatalf("deployments %+v (hpa %+v)", deps, deps[0].HPA)
	}
	nodes, err := kc.ReadNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(p.Kube.Nodes) {
		t.Fatalf("%d nodes, platform has %d", len(nodes), len(p.Kube.Nodes))
	}
	pods := 0
	for _, n := range nodes {
		if n.Zone == "" || n.Region == "" || !n.Ready {
			t.Errorf("node %+v", n)
		}
		pods += n.Pods
	}
	if pods < 4 {
		t.Errorf("nodes carry %d pods, want at least the 4 instances", pods)
	}
	// Cordon one node: it reads as cordoned; uncordon restores it.
	name := nodes[0].Name
	patch := func(unschedulable bool) {
		body := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, unschedulable)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(true)
	t.Cleanup(func() { patch(false) })
	// The informer cache sees the cordon through its watch, shortly after.
	localtest.Eventually(t, 30*time.Second, "node reads as cordoned", func() error {
		nodes, err = kc.ReadNodes(ctx)
		if err != nil {
			return err
		}
		if !nodes[0].Cordoned {
			return fmt.Errorf("node %+v", nodes[0])
		}
		return nil
	})

	// Budget through the collector against the real max_connections: HPA max 6
	// + surge 2 = 8 instances of the scaling guide's 10-connection pool.
	c := collect.New(collect.Options{}, collect.RegionSources{Region: "primary", Role: "primary", Deployments: kc,
		PGPool: pgClient(t, localtest.Platform(t, local.Postgres).Postgres.Primary.DSN, "primary")})
	s := c.CollectOnce(ctx)
	if len(s.Pools.Budget) != 1 || s.Pools.Budget[0].Instances != 8 || s.Pools.Budget[0].Total != 80 {
		t.Errorf("budget %+v, want 8 instances x 10", s.Pools.Budget)
	}
}
