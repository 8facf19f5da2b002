package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/platform/deploy"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// On a real apiserver (controllers, scheduler, kwok nodes), the
// Deployment's inspect lists exactly its pods, scheduled and ready, its
// HPA, its rollout conditions, the controllers' events about it and a
// warning about one of its pods; a pod that only matches its labels and a
// warning about another object stay out. Both as an admin and as the
// console's ServiceAccount under the shipped RBAC.
func TestDeploymentInspect(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns, cs := p.Kube.Namespace, p.Kube.Clientset
	const name = "inspect-probe"
	createSingleDeployment(t, p, name)
	// a second replica: the scaling shows as a second ScalingReplicaSet event
	// (a patch: the controller writes the Deployment meanwhile)
	if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatal(err)
	}
	minR := int32(2)
	util := int32(70)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name + "-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minR, MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		}}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(context.Background(), hpa.Name, metav1.DeleteOptions{})
	})
	// a bare pod with the Deployment's labels is not one of its pods
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-stray", Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "wotr/stray"}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Pods(ns).Delete(context.Background(), stray.Name, metav1.DeleteOptions{}) })

	admin, err := NewFromRest(p.Kube.RestConfig(), ns)
	if err != nil {
		t.Fatal(err)
	}
	// and as the console's ServiceAccount under the shipped RBAC, which
	// reads no ReplicaSets: their names and counts come from the pods
	if _, err := deploy.Apply(ctx, p.Kube.RestConfig(), deploy.ApplyOptions{Files: []string{"k8s/base/90-console-rbac.yaml"}}); err != nil {
		t.Fatal(err)
	}
	cfg := p.Kube.RestConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":wotr-console",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	console, err := NewFromRest(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := console.Clientset.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the console lists ReplicaSets (%v): the fallback is not tested", err)
	}
	var d inspect.Deployment
	for _, c := range []struct {
		name     string
		c        *Client
		revision string // of the ReplicaSet
	}{{"admin", admin, "1"}, {"console", console, ""}} {
		ready := func() bool {
			d, err = c.c.Deployment(ctx, name)
			if err != nil || len(d.Pods) != 2 || d.Ready != 2 {
				return false
			}
			for _, pod := range d.Pods {
				if !pod.Ready || pod.Node == "" {
					return false
				}
			}
			return countReason(d.Events, "ScalingReplicaSet") >= 2
		}
		deadline := time.Now().Add(45 * time.Second)
		for !ready() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: deployment not ready with its pods and events: err %v, %+v", c.name, err, d)
			}
			time.Sleep(200 * time.Millisecond) // polling the apiserver for a state
		}
		t0 := time.Now()
		if _, err := c.c.Deployment(ctx, name); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: one deployment inspect (6 requests) took %s", c.name, time.Since(t0).Round(time.Microsecond))
		if d.Replicas != 2 || d.Available != 2 || d.Updated != 2 || d.Revision != "1" || !strings.Contains(d.Strategy, "RollingUpdate") || d.Selector != "app="+name {
			t.Errorf("%s: figures %+v", c.name, d)
		}
		if len(d.ReplicaSets) != 1 || !strings.HasPrefix(d.ReplicaSets[0].Name, name+"-") || d.ReplicaSets[0].Revision != c.revision ||
			d.ReplicaSets[0].Desired != 2 || d.ReplicaSets[0].Ready != 2 {
			t.Errorf("%s: replicasets %+v", c.name, d.ReplicaSets)
		}
		for _, pod := range d.Pods {
			if pod.Name == stray.Name || pod.ReplicaSet != d.ReplicaSets[0].Name || pod.Status != "Running" || pod.Containers != "1/1" {
				t.Errorf("%s: pod %+v", c.name, pod)
			}
		}
		if d.HPA == nil || d.HPA.Min != 2 || d.HPA.Max != 5 || len(d.HPA.Metrics) != 1 || d.HPA.Metrics[0].Name != "cpu" || d.HPA.Metrics[0].Target != "70%" {
			t.Errorf("%s: hpa %+v", c.name, d.HPA)
		}
		if !hasCondition(d.Conditions, "Available", "True") || !hasCondition(d.Conditions, "Progressing", "True") {
			t.Errorf("%s: conditions %+v", c.name, d.Conditions)
		}
	}
	c := console

	// warnings about one of its pods are listed, about the stray pod not
	pod := d.Pods[0].Name
	for _, w := range []struct{ name, pod string }{{"probe-warning", pod}, {"stray-warning", stray.Name}} {
		ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: w.pod},
			Type:           corev1.EventTypeWarning, Reason: "BackOff", Message: "Back-off restarting failed container " + w.pod,
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 3, Source: corev1.EventSource{Component: "kubelet"}}
		if _, err := cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Events(ns).Delete(context.Background(), w.name, metav1.DeleteOptions{}) })
	}
	if d, err = c.Deployment(ctx, name); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, e := range d.Events {
		switch {
		case e.Kind == "Deployment" && e.Name == name:
		case e.Type == "Warning" && e.Kind == "Pod":
			warned = append(warned, e.Name)
		default:
			t.Errorf("event about %s/%s (%s %s) in the deployment's", e.Kind, e.Name, e.Type, e.Reason)
		}
	}
	if len(warned) != 1 || warned[0] != pod {
		t.Errorf("pod warnings %q, want the one about %s", warned, pod)
	}
	// newest first
	for i := 1; i < len(d.Events); i++ {
		if d.Events[i].Last.After(d.Events[i-1].Last) {
			t.Errorf("event %d (%s) is newer than event %d", i, d.Events[i].Last, i-1)
		}
	}

	if _, err := c.Deployment(ctx, "no-such-deployment"); err == nil || !strings.Contains(err.Error(), "no-such-deployment") {
		t.Errorf("a missing deployment: %v, want an error naming it", err)
	}
}

func countReason(evs []inspect.Event, reason string) int {
	n := 0
	for _, e := range evs {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

func hasCondition(cs []inspect.Condition, typ, status string) bool {
	for _, c := range cs {
		if c.Type == typ && c.Status == status {
			return true
		}
	}
	return false
}
