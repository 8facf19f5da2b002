package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"

	"github.com/wotr/wotr-tui/platform/deploy"
)

// Deployment names of the platform services.
const (
	APIDeployment      = "wotr-api"
	ConsumerDeployment = "wotr-consumer"
	Namespace          = "wotr"
)

// Cluster service names the manifests use, mapped to local endpoints by the
// supervisor. The standby and replica names let an env change after a
// promote ("POSTGRES_HOST=postgres-standby") reach the secondary region.
const (
	SvcPostgres        = "postgres-service"
	SvcPostgresStandby = "postgres-standby"
	SvcRedis           = "redis-service"
	SvcRedisReplica    = "redis-replica"
	SvcKafka           = "kafka-service"
	SvcClickHouse      = "clickhouse-service"
)

// Replica counts of the local demo.
const (
	APIReplicas      = 3
	ConsumerReplicas = 5
)

// Objects are the workload objects the demo applies.
type Objects []runtime.Object

// LocalOverrides keeps the objects the demo applies. The local overlay
// (platform/deploy/k8s/overlays/local) has already adapted the manifests to
// one machine: the stores' objects are gone (they run as local processes),
// the Deployments have the demo's replica counts and the API Service is a
// ClusterIP (HAProxy is the load balancer). What is left to drop here is
// whatever an overlay change would let through that the demo supervises no
// process for.
func LocalOverrides(in Objects) Objects {
	var out Objects
	for _, o := range in {
		switch v := o.(type) {
		case *appsv1.Deployment:
			if v.Name != APIDeployment && v.Name != ConsumerDeployment {
				continue
			}
		case *corev1.Service:
			if !strings.HasPrefix(v.Name, "wotr-") {
				continue
			}
		case *policyv1.PodDisruptionBudget:
			if !strings.HasPrefix(v.Name, APIDeployment) && !strings.HasPrefix(v.Name, ConsumerDeployment) {
				continue
			}
		case *autoscalingv2.HorizontalPodAutoscaler, *corev1.Namespace:
		default:
			continue
		}
		out = append(out, o)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// PlatformObjects are the platform's local overlay (platform/deploy, built
// with kustomize) as typed objects; kinds the demo does not apply are left
// out (LocalOverrides decides among the rest).
func PlatformObjects() (Objects, error) {
	ms, err := deploy.Kustomize(deploy.KustomizeLocal)
	if err != nil {
		return nil, err
	}
	var out Objects
	for _, m := range ms {
		gvk := m.Object.GroupVersionKind()
		switch gvk.Kind {
		case "Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget":
		default:
			continue
		}
		obj, err := scheme.Scheme.New(gvk)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", m.Name(), err)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.Object.Object, obj); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", m.Name(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// BuiltinObjects are the scaling guide's Kubernetes objects for the two services: the
// Deployments (env naming cluster services), the HPA, PDBs and Services.
func BuiltinObjects() Objects {
	labels := func(app string) map[string]string { return map[string]string{"app": app} }
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		out = append(out,
			corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			corev1.EnvVar{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}})
		return out
	}
	res := func(reqCPU, reqMem, limCPU, limMem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(reqCPU), corev1.ResourceMemory: resource.MustParse(reqMem)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(limCPU), corev1.ResourceMemory: resource.MustParse(limMem)},
		}
	}
	probe := func(path string, port int) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(int32(port))}},
			PeriodSeconds: 5}
	}
	deployment := func(name string, replicas int32, c corev1.Container) *appsv1.Deployment {
		return &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels(name)},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr(replicas),
				Selector: &metav1.LabelSelector{MatchLabels: labels(name)},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt32(1)), MaxSurge: ptr(intstr.FromInt32(1))}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels(name)},
					Spec: corev1.PodSpec{
						Containers:                    []corev1.Container{c},
						TerminationGracePeriodSeconds: ptr(int64(30)),
					},
				},
			},
		}
	}
	api := deployment(APIDeployment, APIReplicas, corev1.Container{
		Name: "fastapi", Image: "wotr/fastapi:latest",
		Ports: []corev1.ContainerPort{{ContainerPort: 8000, Name: "http"}},
		Env: env("POSTGRES_HOST", SvcPostgres, "REDIS_HOST", SvcRedis, "KAFKA_BOOTSTRAP", SvcKafka+":9092",
			"CLICKHOUSE_HOST", SvcClickHouse, "LISTEN_ADDR", ":8000"),
		Resources:      res("500m", "512Mi", "1000m", "1Gi"),
		LivenessProbe:  probe("/health", 8000),
		ReadinessProbe: probe("/health", 8000),
	})
	consumer := deployment(ConsumerDeployment, ConsumerReplicas, corev1.Container{
		Name: "consumer", Image: "wotr/consumer:latest",
		Ports: []corev1.ContainerPort{{ContainerPort: 8001, Name: "metrics"}},
		Env: env("KAFKA_BOOTSTRAP", SvcKafka+":9092", "KAFKA_GROUP_ID", "wotr-consumer-group",
			"CLICKHOUSE_HOST", SvcClickHouse, "LISTEN_ADDR", ":8001"),
		Resources:      res("250m", "256Mi", "500m", "512Mi"),
		ReadinessProbe: probe("/health", 8001),
	})
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "wotr-api-hpa", Namespace: Namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: APIDeployment},
			MinReplicas:    ptr(int32(3)),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))}},
			}},
		},
	}
	pdb := func(name, app string, minAvail, maxUnavail *intstr.IntOrString) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvail, MaxUnavailable: maxUnavail,
				Selector: &metav1.LabelSelector{MatchLabels: labels(app)}},
		}
	}
	svc := func(name, app string, port, target int32) *corev1.Service {
		return &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
			Spec: corev1.ServiceSpec{Selector: labels(app), Type: corev1.ServiceTypeLoadBalancer,
				Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(target)}}},
		}
	}
	return Objects{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
		api, consumer, hpa,
		pdb("wotr-api-pdb", APIDeployment, ptr(intstr.FromInt32(2)), nil),
		pdb("wotr-consumer-pdb", ConsumerDeployment, nil, ptr(intstr.FromInt32(1))),
		svc("wotr-api-service", APIDeployment, 80, 8000),
		svc("wotr-consumer-metrics", ConsumerDeployment, 8001, 8001),
	}
}

// Apply server-side-applies every object (idempotent: a second run changes nothing).
func Apply(ctx context.Context, c kubernetes.Interface, objs Objects) error {
	force := true
	opts := metav1.PatchOptions{FieldManager: "wotr-demo", Force: &force}
	for _, o := range objs {
		gvks, _, err := scheme.Scheme.ObjectKinds(o)
		if err != nil || len(gvks) == 0 {
			return fmt.Errorf("apply: unknown object type %T", o)
		}
		gvk := gvks[0]
		o.GetObjectKind().SetGroupVersionKind(gvk)
		body, err := json.Marshal(o)
		if err != nil {
			return err
		}
		meta, err := metaOf(o)
		if err != nil {
			return err
		}
		ns, name := meta.GetNamespace(), meta.GetName()
		switch o.(type) {
		case *corev1.Namespace:
			_, err = c.CoreV1().Namespaces().Patch(ctx, name, types.ApplyPatchType, body, opts)
		case *appsv1.Deployment:
			_, err = c.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
		case *corev1.Service:
			_, err = c.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
		case *autoscalingv2.HorizontalPodAutoscaler:
			_, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
		case *policyv1.PodDisruptionBudget:
			_, err = c.PolicyV1().PodDisruptionBudgets(ns).Patch(ctx, name, types.ApplyPatchType, body, opts)
		default:
			return fmt.Errorf("apply: %s %s/%s: kind not supported by the demo", gvk.Kind, ns, name)
		}
		if err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, ns, name, err)
		}
	}
	return nil
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("object %T has no metadata", o)
	}
	return m, nil
}

// SetDeploymentEnv sets env variables in every container of a Deployment
// (an empty value removes the variable) in one update, so the Deployment
// controller rolls its pods once.
func SetDeploymentEnv(ctx context.Context, c kubernetes.Interface, ns, name string, vars map[string]string) error {
	for key := range vars {
		if key == "" || strings.ContainsAny(key, "= ") {
			return fmt.Errorf("env name %q: must be a non-empty name without '=' or spaces", key)
		}
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		for ci := range d.Spec.Template.Spec.Containers {
			ct := &d.Spec.Template.Spec.Containers[ci]
			if setEnv(ct, vars) {
				changed = true
			}
		}
		if !changed {
			return nil
		}
		_, err = c.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
}

func setEnv(ct *corev1.Container, vars map[string]string) bool {
	changed := false
	for key, value := range vars {
		idx := -1
		for i, e := range ct.Env {
			if e.Name == key {
				idx = i
			}
		}
		switch {
		case value == "" && idx >= 0:
			ct.Env = append(ct.Env[:idx], ct.Env[idx+1:]...)
			changed = true
		case value != "" && idx >= 0 && (ct.Env[idx].Value != value || ct.Env[idx].ValueFrom != nil):
			ct.Env[idx] = corev1.EnvVar{Name: key, Value: value}
			changed = true
		case value != "" && idx < 0:
			ct.Env = append(ct.Env, corev1.EnvVar{Name: key, Value: value})
			changed = true
		}
	}
	return changed
}

// IsNotFound reports a missing object.
func IsNotFound(err error) bool { return apierrors.IsNotFound(err) }
