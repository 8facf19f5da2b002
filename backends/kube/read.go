package kube

import (
	"context"
	"net"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/wotr/wotr-tui/ops/state"
)

// InstanceSelector picks the API and consumer pods.
const InstanceSelector = "app in (wotr-api,wotr-consumer)"

// MetricsAddrAnnotation on a pod overrides the host:port of its /metrics
// (for pods whose process does not listen on the pod IP, as in the local demo).
const MetricsAddrAnnotation = "wotr.io/metrics-addr"

// Zone and region node labels.
const (
	ZoneLabel   = "topology.kubernetes.io/zone"
	RegionLabel = "topology.kubernetes.io/region"
)

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// instances converts the namespace's API and consumer pods; zones maps node
// to zone.
func instances(pods []*corev1.Pod, zones map[string]string) []state.Instance {
	out := make([]state.Instance, 0, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodRunning {
			continue
		}
		in := state.Instance{Pod: p.Name, Deployment: p.Labels["app"], Node: p.Spec.NodeName,
			Zone: zones[p.Spec.NodeName], Ready: podReady(p), Address: metricsAddr(p)}
		for _, ct := range p.Spec.Containers {
			in.CPURequest += ct.Resources.Requests.Cpu().AsApproximateFloat64()
			in.CPULimit += ct.Resources.Limits.Cpu().AsApproximateFloat64()
			in.MemRequest += ct.Resources.Requests.Memory().AsApproximateFloat64()
			in.MemLimit += ct.Resources.Limits.Memory().AsApproximateFloat64()
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod < out[j].Pod })
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// metricsAddr: the annotation, else pod IP with the container port named
// metrics or http, else the first port.
func metricsAddr(p *corev1.Pod) string {
	if a := p.Annotations[MetricsAddrAnnotation]; a != "" {
		return a
	}
	if p.Status.PodIP == "" {
		return ""
	}
	var port int32
	for _, ct := range p.Spec.Containers {
		for _, cp := range ct.Ports {
			if cp.Name == "metrics" || (cp.Name == "http" && port == 0) {
				port = cp.ContainerPort
			}
			if port == 0 {
				port = cp.ContainerPort
			}
		}
	}
	if port == 0 {
		return ""
	}
	return net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(port)))
}

// deployments converts deployments with the HPA targeting each, by name.
func deployments(deps []*appsv1.Deployment, hpas []*autoscalingv2.HorizontalPodAutoscaler) []state.Deployment {
	byTarget := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	for _, h := range hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" {
			byTarget[h.Spec.ScaleTargetRef.Name] = h
		}
	}
	out := make([]state.Deployment, 0, len(deps))
	for _, d := range deps {
		od := state.Deployment{Namespace: d.Namespace, Name: d.Name, Current: d.Status.Replicas,
			Ready: d.Status.ReadyReplicas, Updated: d.Status.UpdatedReplicas, MaxSurge: maxSurge(d)}
		if d.Spec.Replicas != nil {
			od.Desired = *d.Spec.Replicas
		}
		if h := byTarget[d.Name]; h != nil {
			od.HPA = hpaOf(h)
		}
		out = append(out, od)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func maxSurge(d *appsv1.Deployment) string {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return "0"
	}
	if ru == nil || ru.MaxSurge == nil {
		return "25%"
	}
	return ru.MaxSurge.String()
}

func hpaOf(h *autoscalingv2.HorizontalPodAutoscaler) *state.HPA {
	o := &state.HPA{Name: h.Name, Max: h.Spec.MaxReplicas, Desired: h.Status.DesiredReplicas, Current: h.Status.CurrentReplicas, Min: 1}
	if h.Spec.MinReplicas != nil {
		o.Min = *h.Spec.MinReplicas
	}
	if h.Status.LastScaleTime != nil {
		o.LastScaleTime = h.Status.LastScaleTime.Time
	}
	current := map[string]string{}
	for _, m := range h.Status.CurrentMetrics {
		name, val := metricStatus(m)
		current[name] = val
	}
	for _, m := range h.Spec.Metrics {
		name, target := metricSpec(m)
		o.Metrics = append(o.Metrics, state.HPAMetric{Name: name, Target: target, Current: current[name]})
	}
	return o
}

func metricTarget(t autoscalingv2.MetricTarget) string {
	switch {
	case t.AverageUtilization != nil:
		return strconv.Itoa(int(*t.AverageUtilization)) + "%"
	case t.AverageValue != nil:
		return t.AverageValue.String()
	case t.Value != nil:
		return t.Value.String()
	}
	return ""
}

func metricValue(v autoscalingv2.MetricValueStatus) string {
	switch {
	case v.AverageUtilization != nil:
		return strconv.Itoa(int(*v.AverageUtilization)) + "%"
	case v.AverageValue != nil:
		return v.AverageValue.String()
	case v.Value != nil:
		return v.Value.String()
	}
	return ""
}

func metricSpec(m autoscalingv2.MetricSpec) (string, string) {
	switch {
	case m.Resource != nil:
		return string(m.Resource.Name), metricTarget(m.Resource.Target)
	case m.Pods != nil:
		return m.Pods.Metric.Name, metricTarget(m.Pods.Target)
	case m.Object != nil:
		return m.Object.Metric.Name, metricTarget(m.Object.Target)
	case m.External != nil:
		return m.External.Metric.Name, metricTarget(m.External.Target)
	case m.ContainerResource != nil:
		return string(m.ContainerResource.Name), metricTarget(m.ContainerResource.Target)
	}
	return string(m.Type), ""
}

func metricStatus(m autoscalingv2.MetricStatus) (string, string) {
	switch {
	case m.Resource != nil:
		return string(m.Resource.Name), metricValue(m.Resource.Current)
	case m.Pods != nil:
		return m.Pods.Metric.Name, metricValue(m.Pods.Current)
	case m.Object != nil:
		return m.Object.Metric.Name, metricValue(m.Object.Current)
	case m.External != nil:
		return m.External.Metric.Name, metricValue(m.External.Current)
	case m.ContainerResource != nil:
		return string(m.ContainerResource.Name), metricValue(m.ContainerResource.Current)
	}
	return string(m.Type), ""
}

// nodes converts nodes with the pod count and requested CPU of the
// scheduled, unfinished pods; it also returns node -> zone.
func nodes(ns []*corev1.Node, pods []*corev1.Pod) ([]state.Node, map[string]string) {
	count := map[string]int{}
	cpu := map[string]float64{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		count[p.Spec.NodeName]++
		for _, ct := range p.Spec.Containers {
			cpu[p.Spec.NodeName] += ct.Resources.Requests.Cpu().AsApproximateFloat64()
		}
	}
	zones := make(map[string]string, len(ns))
	out := make([]state.Node, 0, len(ns))
	for _, n := range ns {
		on := state.Node{Name: n.Name, Ready: isNodeReady(n), Cordoned: n.Spec.Unschedulable,
			Pods: count[n.Name], Zone: n.Labels[ZoneLabel], Region: n.Labels[RegionLabel],
			CPUAlloc: n.Status.Allocatable.Cpu().AsApproximateFloat64(), CPUReq: cpu[n.Name],
			PodsAlloc: int(n.Status.Allocatable.Pods().Value())}
		zones[n.Name] = on.Zone
		out = append(out, on)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, zones
}

func isNodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
