package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/wotr/wotr-tui/platform/deploy"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// consoleUser is the console's ServiceAccount as the apiserver names it.
const consoleUser = "system:serviceaccount:wotr:wotr-console"

var consoleGroups = []string{"system:serviceaccounts", "system:serviceaccounts:wotr", "system:authenticated"}

// rbacApplied: the shipped RBAC is applied once per apiserver.
var rbacApplied sync.Map

// applyConsoleRBAC server-side-applies platform/deploy/k8s/base/90-console-rbac.yaml.
func applyConsoleRBAC(t testing.TB, k *local.KubeCluster) {
	t.Helper()
	if _, done := rbacApplied.Load(k.Server); done {
		return
	}
	if _, err := deploy.Apply(context.Background(), k.RestConfig(), deploy.ApplyOptions{Files: []string{"k8s/base/90-console-rbac.yaml"}}); err != nil {
		t.Fatalf("apply the console RBAC: %v", err)
	}
	rbacApplied.Store(k.Server, true)
}

// consoleKubeconfig is a kubeconfig that acts as the console's ServiceAccount:
// the admin credentials impersonate it, so every request is authorized by the
// shipped Role and ClusterRole alone.
func consoleKubeconfig(t testing.TB, k *local.KubeCluster) string {
	t.Helper()
	applyConsoleRBAC(t, k)
	cfg, err := clientcmd.LoadFromFile(k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate, ai.ImpersonateGroups = consoleUser, consoleGroups
	}
	path := filepath.Join(t.TempDir(), "console.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	// The file must really act as the ServiceAccount: an admin would pass every test.
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(k.Namespace).List(context.Background(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the console kubeconfig lists secrets (%v): it does not act as %s", err, consoleUser)
	}
	return path
}

func consoleClientset(t testing.TB, k *local.KubeCluster) kubernetes.Interface {
	t.Helper()
	applyConsoleRBAC(t, k)
	cfg := k.RestConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: consoleUser, Groups: consoleGroups}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestConsoleRBAC asks the apiserver what the console's ServiceAccount may
// do: what the actions and views need is allowed, the rest is denied. The
// actions themselves run as it in TestScale, TestDrain, TestPromote and
// TestPromoteFaults (contextFor's kubeconfig impersonates it).
func TestConsoleRBAC(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	cs := consoleClientset(t, p.Kube)
	ctx := context.Background()
	ns := p.Kube.Namespace
	type ask struct {
		group, resource, sub, verb, name string
		ns                               bool
	}
	check := func(a ask) bool {
		t.Helper()
		ra := &authv1.ResourceAttributes{Group: a.group, Resource: a.resource, Subresource: a.sub, Verb: a.verb, Name: a.name}
		if a.ns {
			ra.Namespace = ns
		}
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: ra}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	allowed := []ask{
		{"apps", "deployments", "scale", "update", "wotr-api", true},
		{"apps", "deployments", "scale", "update", "wotr-consumer", true},
		{"autoscaling", "horizontalpodautoscalers", "", "patch", "wotr-api-hpa", true},
		{"apps", "deployments", "", "update", "wotr-api", true},
		// promote across regions notes the standby sizes on it (an annotation)
		{"apps", "deployments", "", "patch", "wotr-api", true},
		{"", "pods", "eviction", "create", "any-pod", false},
		{"", "nodes", "", "patch", "node-0", false},
		{"", "pods", "", "watch", "", false},
		// the collector's informers: list and watch each resource it reads
		{"", "pods", "", "list", "", false},
		{"", "nodes", "", "watch", "", false},
		{"apps", "deployments", "", "watch", "", true},
		{"autoscaling", "horizontalpodautoscalers", "", "watch", "", true},
		{"", "pods", "log", "get", "wotr-api-0", true},
		{"", "events", "", "list", "", true},
		{"apps", "daemonsets", "", "get", "kube-proxy", false},
		{"policy", "poddisruptionbudgets", "", "list", "", false},
	}
	denied := []ask{
		{"", "secrets", "", "get", "postgres-credentials", true},
		{"", "secrets", "", "list", "", true},
		{"", "pods", "exec", "create", "wotr-api-0", true},
		{"apps", "statefulsets", "scale", "update", "postgres", true},
		{"apps", "statefulsets", "scale", "update", "kafka", true},
		{"apps", "statefulsets", "", "patch", "postgres", true},
		{"apps", "deployments", "scale", "update", "prometheus", true},
		{"apps", "deployments", "", "update", "wotr-consumer", true},
		{"apps", "deployments", "", "delete", "wotr-api", true},
		{"apps", "deployments", "", "create", "", true},
		{"", "pods", "", "delete", "wotr-api-0", true},
		{"", "pods", "", "delete", "any-pod", false},
		{"", "nodes", "", "delete", "node-0", false},
		{"", "configmaps", "", "get", "clickhouse-config", true},
		{"rbac.authorization.k8s.io", "roles", "", "update", "wotr-console", true},
	}
	for _, a := range allowed {
		if !check(a) {
			t.Errorf("denied, the console needs it: %s %s/%s %s", a.verb, a.resource, a.sub, a.name)
		}
	}
	for _, a := range denied {
		if check(a) {
			t.Errorf("allowed, the console does not need it: %s %s/%s %s", a.verb, a.resource, a.sub, a.name)
		}
	}

	// Real attempts, not just the authorizer's answer.
	if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the console: %v, want forbidden", err)
	}
	if _, err := cs.AppsV1().StatefulSets(ns).GetScale(ctx, "postgres", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("read a StatefulSet's scale as the console: %v, want forbidden", err)
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "no-such-pod", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete a pod as the console: %v, want forbidden", err)
	}
}
