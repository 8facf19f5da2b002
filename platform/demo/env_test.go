package demo

import (
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRewriteEnv(t *testing.T) {
	m := ServiceMap{
		SvcPostgres:        "127.0.0.1:5501",
		SvcPostgresStandby: "127.0.0.1:5502",
		SvcKafka:           "127.0.0.1:9501",
		SvcClickHouse:      "127.0.0.1:9601",
	}
	got := m.RewriteEnv(map[string]string{
		"POSTGRES_HOST":   "postgres-service",
		"POSTGRES_PORT":   "5432",
		"KAFKA_BOOTSTRAP": "kafka-service:9092",
		"CLICKHOUSE_HOST": "clickhouse-service",
		"OTHER_URL":       "http://postgres-standby:5432/x",
		"FQDN":            "kafka-service.wotr.svc.cluster.local:9092",
		"UNRELATED":       "postgres-service-x and kafka",
	})
	want := map[string]string{
		"POSTGRES_HOST":   "127.0.0.1",
		"POSTGRES_PORT":   "5501",
		"KAFKA_BOOTSTRAP": "127.0.0.1:9501",
		"CLICKHOUSE_HOST": "127.0.0.1",
		"CLICKHOUSE_PORT": "9601",
		"OTHER_URL":       "http://127.0.0.1:5502/x",
		"FQDN":            "127.0.0.1:9501",
		"UNRELATED":       "postgres-service-x and kafka",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// A promote that points POSTGRES_HOST at the standby reaches the secondary.
	if got := m.RewriteEnv(map[string]string{"POSTGRES_HOST": "postgres-standby"}); got["POSTGRES_PORT"] != "5502" {
		t.Errorf("standby port = %q, want 5502", got["POSTGRES_PORT"])
	}
}

func TestServiceMapValidate(t *testing.T) {
	for _, bad := range []ServiceMap{{"a:b": "127.0.0.1:1"}, {"svc": "127.0.0.1"}, {"": "127.0.0.1:1"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	if err := (ServiceMap{"svc": "127.0.0.1:1"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestContainerEnv(t *testing.T) {
	c := corev1.Container{Env: []corev1.EnvVar{
		{Name: "A", Value: "x"},
		{Name: "B", Value: "$(A)-$(POD)-$$(A)-$(MISSING)"},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}},
		{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
		{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.memory", Divisor: resource.MustParse("1Mi")}}},
		{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu"}}},
		{Name: "CPU_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
		{Name: "NO_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.ephemeral-storage"}}},
	}}
	c.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1536Ki"), corev1.ResourceCPU: resource.MustParse("500m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("1500m")},
	}
	env, skipped := ContainerEnv(c, PodInfo{Name: "p1", Node: "node-0"})
	// The kubelet rounds up: 1536Ki is 2 Mi, 500m is 1 CPU.
	for k, want := range map[string]string{"MEM": "1073741824", "MEM_MI": "2", "CPU": "1", "CPU_M": "1500"} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if env["B"] != "x-$(POD)-$(A)-$(MISSING)" { // POD is defined after B: not expanded, as in Kubernetes
		t.Errorf("B = %q", env["B"])
	}
	if env["POD"] != "p1" || env["NODE"] != "node-0" {
		t.Errorf("fieldRef: %v", env)
	}
	if strings.Join(skipped, ",") != "SECRET,NO_LIMIT" {
		t.Errorf("skipped = %v, want [SECRET NO_LIMIT]", skipped)
	}
}

func TestDeploymentOf(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Labels:          map[string]string{"pod-template-hash": "5d9f7c"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "wotr-api-5d9f7c"}},
	}}
	if got := deploymentOf(pod); got != "wotr-api" {
		t.Errorf("deploymentOf = %q", got)
	}
	if got := deploymentOf(&corev1.Pod{}); got != "" {
		t.Errorf("bare pod: %q", got)
	}
}

func TestLoadSettingsValidate(t *testing.T) {
	base := DefaultLoadSettings()
	cases := map[string]func(*LoadSettings){
		"rate -1":     func(s *LoadSettings) { s.Rate = -1 },
		"mode":        func(s *LoadSettings) { s.Mode = "hourly" },
		"skew 2":      func(s *LoadSettings) { s.Skew = 2 },
		"batch 0":     func(s *LoadSettings) { s.Batch = 0 },
		"day 1s":      func(s *LoadSettings) { s.Day = Duration(time.Second) },
		"slowdown -1": func(s *LoadSettings) { s.ConsumerSlowdown = -1 },
	}
	for name, mod := range cases {
		s := base
		mod(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if err := base.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSettingsFromRequest(t *testing.T) {
	s, err := settingsFromRequest(DefaultLoadSettings(), httptest.NewRequest("POST", "/load?rate=500&skew=0.5&mode=daily&day=1m&consumer_slowdown=200ms", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Rate != 500 || s.Skew != 0.5 || s.Mode != ModeDaily || s.Day != Duration(time.Minute) || s.ConsumerSlowdown != Duration(200*time.Millisecond) {
		t.Errorf("settings = %+v", s)
	}
	_, err = settingsFromRequest(DefaultLoadSettings(), httptest.NewRequest("POST", "/load?speed=5", nil))
	if err == nil || !strings.Contains(err.Error(), `"speed"`) {
		t.Errorf("unknown parameter: err = %v", err)
	}
	_, err = settingsFromRequest(DefaultLoadSettings(), httptest.NewRequest("POST", "/load?rate=fast", nil))
	if err == nil || !strings.Contains(err.Error(), `rate="fast"`) {
		t.Errorf("bad rate: err = %v", err)
	}
}

func TestDailyRate(t *testing.T) {
	s := LoadSettings{Rate: 1000, Mode: ModeDaily, Day: Duration(100 * time.Second)}
	lo, hi := 1e9, 0.0
	for i := 0; i < 100; i++ {
		r := rateAt(s, time.Duration(i)*time.Second)
		lo, hi = min(lo, r), max(hi, r)
	}
	if lo > 150 || hi < 950 || hi > 1000.01 {
		t.Errorf("daily range %.0f..%.0f, want about 100..1000", lo, hi)
	}
}

func TestPickSourceSkew(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	count := func(skew float64) int {
		hot := 0
		for i := 0; i < 10000; i++ {
			if pickSource(16, skew, r) == 0 {
				hot++
			}
		}
		return hot
	}
	if even := count(0); even > 1000 {
		t.Errorf("skew 0: source 0 got %d of 10000, want about 625", even)
	}
	if hot := count(0.8); hot < 7000 {
		t.Errorf("skew 0.8: source 0 got %d of 10000, want about 8000", hot)
	}
	if all := count(1); all != 10000 {
		t.Errorf("skew 1: source 0 got %d", all)
	}
}

func TestPlatformObjectsLocal(t *testing.T) {
	all, err := PlatformObjects()
	if err != nil {
		t.Fatal(err)
	}
	// The overlay, not Go, sizes the Deployments and drops the stores.
	for _, o := range all {
		switch v := o.(type) {
		case *appsv1.Deployment:
			if want, ok := map[string]int32{APIDeployment: APIReplicas, ConsumerDeployment: ConsumerReplicas}[v.Name]; ok && *v.Spec.Replicas != want {
				t.Errorf("local overlay: deployment %s replicas %d, want %d", v.Name, *v.Spec.Replicas, want)
			}
		case *appsv1.StatefulSet:
			t.Errorf("local overlay keeps statefulset %s", v.Name)
		case *corev1.Service:
			if v.Spec.Type == corev1.ServiceTypeLoadBalancer {
				t.Errorf("local overlay: service %s is a LoadBalancer", v.Name)
			}
		}
	}
	objs := LocalOverrides(all)
	kinds := map[string]int{}
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.Deployment:
			kinds["Deployment"]++
			want := map[string]int32{APIDeployment: APIReplicas, ConsumerDeployment: ConsumerReplicas}[v.Name]
			if v.Spec.Replicas == nil || *v.Spec.Replicas != want {
				t.Errorf("deployment %s replicas %v, want %d", v.Name, v.Spec.Replicas, want)
			}
		case *appsv1.StatefulSet:
			t.Errorf("statefulset %s kept: stores run as local processes", v.Name)
		case *corev1.Service:
			kinds["Service"]++
			if v.Spec.Type == corev1.ServiceTypeLoadBalancer {
				t.Errorf("service %s is still a LoadBalancer", v.Name)
			}
		case *policyv1.PodDisruptionBudget:
			kinds["PDB"]++
		case *autoscalingv2.HorizontalPodAutoscaler:
			kinds["HPA"]++
		}
	}
	if kinds["Deployment"] != 2 || kinds["PDB"] != 2 || kinds["HPA"] != 1 || kinds["Service"] == 0 {
		t.Errorf("kinds after local overrides: %v", kinds)
	}
}
