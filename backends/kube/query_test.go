package kube

import (
	"context"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kube}}))
}

// GetObject returns a Deployment and a node as generic JSON whose numbers
// are float64, so runbook paths and expectations work on them.
func TestGetObjectOnTheControlPlane(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	c, err := NewFromRest(p.Kube.RestConfig(), p.Kube.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	replicas := int32(2)
	labels := map[string]string{"app": "query-probe"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "query-probe", Namespace: p.Kube.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "api", Image: "wotr/api",
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8000)}}},
				}}},
			},
		},
	}
	if _, err := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).Delete(context.Background(), d.Name, metav1.DeleteOptions{})
	})

	obj, err := c.GetObject(ctx, "deployments", "query-probe")
	if err != nil {
		t.Fatal(err)
	}
	spec := obj["spec"].(map[string]any)
	if spec["replicas"] != float64(2) {
		t.Fatalf("spec.replicas = %#v, want float64 2", spec["replicas"])
	}
	containers := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	probe := containers[0].(map[string]any)["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)
	if probe["path"] != "/health" {
		t.Fatalf("readinessProbe.httpGet = %v, want path /health", probe)
	}
	// Aliases reach the same getter.
	if _, err := c.GetObject(ctx, "deploy", "query-probe"); err != nil {
		t.Fatalf("alias deploy: %v", err)
	}

	node, err := c.GetObject(ctx, "nodes", p.Kube.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if node["metadata"].(map[string]any)["name"] != p.Kube.Nodes[0] {
		t.Fatalf("node metadata = %v", node["metadata"])
	}

	if _, err := c.GetObject(ctx, "deployments", "no-such-deployment"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing deployment error = %v, want not found", err)
	}
}

func TestGetObjectRejectsUnknownResources(t *testing.T) {
	c := &Client{Namespace: "wotr"}
	_, err := c.GetObject(context.Background(), "secrets", "db")
	if err == nil || !strings.Contains(err.Error(), `"secrets"`) || !strings.Contains(err.Error(), "deployments") {
		t.Fatalf("error = %v, want one naming the resource and the accepted ones", err)
	}
	_, err = c.GetObject(context.Background(), "pods", "")
	if err == nil || !strings.Contains(err.Error(), "name is required") {
		t.Fatalf("empty name error = %v", err)
	}
}
