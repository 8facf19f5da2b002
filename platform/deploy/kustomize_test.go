package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func byName(ms []Manifest) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, m := range ms {
		out[m.Object.GetKind()+"/"+m.Object.GetName()] = m.Object
	}
	return out
}

func nested[T any](t *testing.T, o *unstructured.Unstructured, path ...string) T {
	t.Helper()
	if o == nil {
		t.Fatalf("object missing (want %v)", path)
	}
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s %s: %v not set (%v)", o.GetKind(), o.GetName(), path, err)
	}
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%s %s: %v is %T", o.GetKind(), o.GetName(), path, v)
	}
	return x
}

// The base builds to exactly the manifest files; each overlay says what it promises.
func TestKustomizeOverlays(t *testing.T) {
	plain, err := Manifests()
	if err != nil {
		t.Fatal(err)
	}
	base, err := Kustomize(KustomizeBase)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != len(plain) {
		t.Fatalf("base builds %d objects, the files hold %d", len(base), len(plain))
	}

	loc, err := Kustomize(KustomizeLocal)
	if err != nil {
		t.Fatal(err)
	}
	l := byName(loc)
	for name := range l {
		for _, gone := range []string{"StatefulSet/", "Job/", "ConfigMap/", "Service/postgres", "Service/kafka", "Service/redis", "Service/clickhouse", "Service/zookeeper", "Service/prometheus", "Deployment/prometheus", "PodDisruptionBudget/kafka"} {
			if strings.HasPrefix(name, gone) {
				t.Errorf("local overlay keeps %s: the stores run as local processes", name)
			}
		}
	}
	if typ := nested[string](t, l["Service/wotr-api-service"], "spec", "type"); typ != "ClusterIP" {
		t.Errorf("local wotr-api-service type %s, want ClusterIP", typ)
	}
	if cpu := requestCPU(t, l["Deployment/wotr-api"]); cpu != "500m" {
		t.Errorf("local api requests %s CPU, want the base's 500m", cpu)
	}

	prod := byName(mustKustomize(t, KustomizeProduction))
	sec := byName(mustKustomize(t, KustomizeProductionSecondary))
	for _, c := range []struct {
		what string
		o    *unstructured.Unstructured
		path []string
		want int64
	}{
		{"production api replicas", prod["Deployment/wotr-api"], []string{"spec", "replicas"}, 4},
		{"production consumer replicas", prod["Deployment/wotr-consumer"], []string{"spec", "replicas"}, 6},
		{"production HPA max", prod["HorizontalPodAutoscaler/wotr-api-hpa"], []string{"spec", "maxReplicas"}, 20},
		{"production HPA off-peak min", prod["HorizontalPodAutoscaler/wotr-api-hpa"], []string{"spec", "minReplicas"}, 2},
		{"production scale-down window", prod["HorizontalPodAutoscaler/wotr-api-hpa"], []string{"spec", "behavior", "scaleDown", "stabilizationWindowSeconds"}, 300},
		{"secondary api standby replicas", sec["Deployment/wotr-api"], []string{"spec", "replicas"}, 1},
		{"secondary consumer standby replicas", sec["Deployment/wotr-consumer"], []string{"spec", "replicas"}, 0},
		{"secondary HPA min", sec["HorizontalPodAutoscaler/wotr-api-hpa"], []string{"spec", "minReplicas"}, 1},
	} {
		if got := nested[int64](t, c.o, c.path...); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	// The alert rules ride with the production overlays (the monitoring
	// component), not with the local one: no operator there.
	for name, objs := range map[string]map[string]*unstructured.Unstructured{"production": prod, "production-secondary": sec} {
		if groups := nested[[]any](t, objs["PrometheusRule/wotr-console-thresholds"], "spec", "groups"); len(groups) == 0 {
			t.Errorf("%s: the PrometheusRule has no groups", name)
		}
	}
	if _, ok := l["PrometheusRule/wotr-console-thresholds"]; ok {
		t.Error("local overlay carries the PrometheusRule: the local apiserver has no operator")
	}
	if !nested[bool](t, sec["CronJob/wotr-hpa-peak"], "spec", "suspend") {
		t.Error("secondary: the peak CronJob would raise the standby's HPA")
	}
	if r := sec["Deployment/wotr-api"].GetLabels()["topology.wotr.io/region"]; r != "secondary" {
		t.Errorf("secondary api region label %q", r)
	}
	if r := nested[map[string]any](t, prod["Deployment/wotr-api"], "spec", "template", "metadata", "labels")["topology.wotr.io/region"]; r != "primary" {
		t.Errorf("production pod template region label %v", r)
	}
	if sel := nested[map[string]any](t, sec["Deployment/wotr-api"], "spec", "selector", "matchLabels"); len(sel) != 1 {
		t.Errorf("secondary selector %v: the region label must not enter selectors (immutable)", sel)
	}
	if cpu := requestCPU(t, prod["Deployment/wotr-api"]); cpu != "1" {
		t.Errorf("production api requests %s CPU, want 1", cpu)
	}
}

func requestCPU(t *testing.T, o *unstructured.Unstructured) string {
	t.Helper()
	cs := nested[[]any](t, o, "spec", "template", "spec", "containers")
	c, _ := cs[0].(map[string]any)
	v, _, _ := unstructured.NestedString(c, "resources", "requests", "cpu")
	return v
}

func mustKustomize(t *testing.T, dir string) []Manifest {
	t.Helper()
	ms, err := Kustomize(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestKustomizeUnknownDir(t *testing.T) {
	_, err := Kustomize("k8s/overlays/staging")
	if err == nil || !strings.Contains(err.Error(), `"k8s/overlays/staging": no kustomization.yaml`) {
		t.Fatalf("err %v", err)
	}
}

// `kubectl apply -k` of the base and every overlay, done in-process: each
// build is server-side applied with dryRun=All on the local apiserver, every
// object admitted, nothing persisted.
func TestKustomizeServerSideDryRun(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	installPrometheusRuleCRD(t, ctx, p.Kube)
	for _, dir := range Kustomizations() {
		ms := mustKustomize(t, dir)
		applied, err := Apply(ctx, p.Kube.RestConfig(), ApplyOptions{Manifests: ms, DryRun: true})
		if err != nil {
			t.Errorf("%s: server-side dry run:\n%v", dir, err)
			continue
		}
		if len(applied) != len(ms) {
			t.Errorf("%s: applied %d of %d", dir, len(applied), len(ms))
		}
	}
	if _, err := p.Kube.Clientset.AppsV1().Deployments(Namespace).Get(ctx, "wotr-api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run persisted wotr-api (get: %v)", err)
	}
}

// installPrometheusRuleCRD applies the optional minimal CRD
// (k8s/crds/prometheusrule-crd.yaml) and waits until the apiserver serves
// the kind; a rule the schema rejects is then refused by the dry run.
func installPrometheusRuleCRD(t *testing.T, ctx context.Context, k *local.KubeCluster) {
	t.Helper()
	if _, err := Apply(ctx, k.RestConfig(), ApplyOptions{Files: []string{PrometheusRuleCRD}}); err != nil {
		t.Fatalf("install the PrometheusRule CRD: %v", err)
	}
	rule := func(forValue string) []Manifest {
		t.Helper()
		ms, err := parseManifests("test", []byte(`apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: crd-check, namespace: `+Namespace+`}
spec:
  groups:
  - name: g
    rules:
    - {alert: A, expr: up == 0, for: `+forValue+`}
`))
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	localtest.Eventually(t, 30*time.Second, "PrometheusRule served", func() error {
		_, err := Apply(ctx, k.RestConfig(), ApplyOptions{Manifests: rule("2m"), DryRun: true})
		return err
	})
	_, err := Apply(ctx, k.RestConfig(), ApplyOptions{Manifests: rule(`"2 minutes"`), DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "spec.groups[0].rules[0].for") {
		t.Fatalf("a rule with for: \"2 minutes\" passed the dry run (%v): the CRD does not validate", err)
	}
}
