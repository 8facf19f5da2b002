package kube

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// zoneCache keeps node -> zone from the last node listing, so instance
// listing does not list nodes again.
type zoneCache struct {
	mu    sync.Mutex
	zones map[string]string
}

func (c *Client) zoneCache() *zoneCache { return &c.zones }

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// ListInstances lists the API and consumer pods of the namespace.
func (c *Client) ListInstances(ctx context.Context) ([]state.Instance, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	pods, err := c.Clientset.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: InstanceSelector})
	if err != nil {
		return nil, fmt.Errorf("kube: list pods in %s: %w", c.Namespace, err)
	}
	zc := c.zoneCache()
	zc.mu.Lock()
	zones := zc.zones
	zc.mu.Unlock()
	if zones == nil {
		if _, err := c.ReadNodes(ctx); err == nil {
			zc.mu.Lock()
			zones = zc.zones
			zc.mu.Unlock()
		}
	}
	out := make([]state.Instance, 0, len(pods.Items))
	for i := range pods.Items {
		p := &pods.Items[i]
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
	return out, nil
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

// ReadDeployments lists deployments with the HPA targeting each.
func (c *Client) ReadDeployments(ctx context.Context) ([]state.Deployment, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var hpas *autoscalingv2.HorizontalPodAutoscalerList
	var hpaErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		hpas, hpaErr = c.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).List(ctx, metav1.ListOptions{})
	}()
	deps, err := c.Clientset.AppsV1().Deployments(c.Namespace).List(ctx, metav1.ListOptions{})
	<-done
	if err != nil {
		return nil, fmt.Errorf("kube: list deployments in %s: %w", c.Namespace, err)
	}
	if hpaErr != nil {
		return nil, fmt.Errorf("kube: list hpas in %s: %w", c.Namespace, hpaErr)
	}
	byTarget := map[string]*autoscalingv2.HorizontalPodAutoscaler{}
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if h.Spec.ScaleTargetRef.Kind == "Deployment" {
			byTarget[h.Spec.ScaleTargetRef.Name] = h
		}
	}
	out := make([]state.Deployment, 0, len(deps.Items))
	for i := range deps.Items {
		d := &deps.Items[i]
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
	return out, nil
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

// ReadNodes lists nodes with their pod counts and requested CPU.
func (c *Client) ReadNodes(ctx context.Context) ([]state.Node, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var pods *corev1.PodList
	var podErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		pods, podErr = c.Clientset.CoreV1().Pods("").List(ctx, metav1.ListOptions{
			FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	}()
	nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	<-done
	if err != nil {
		return nil, fmt.Errorf("kube: list nodes: %w", err)
	}
	if podErr != nil {
		return nil, fmt.Errorf("kube: list pods: %w", podErr)
	}
	count := map[string]int{}
	cpu := map[string]float64{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName == "" {
			continue
		}
		count[p.Spec.NodeName]++
		for _, ct := range p.Spec.Containers {
			cpu[p.Spec.NodeName] += ct.Resources.Requests.Cpu().AsApproximateFloat64()
		}
	}
	zones := map[string]string{}
	out := make([]state.Node, 0, len(nodes.Items))
	for i := range nodes.Items {
		n := &nodes.Items[i]
		on := state.Node{Name: n.Name, Ready: isNodeReady(n), Cordoned: n.Spec.Unschedulable,
			Pods: count[n.Name], Zone: n.Labels[ZoneLabel], Region: n.Labels[RegionLabel],
			CPUAlloc: n.Status.Allocatable.Cpu().AsApproximateFloat64(), CPUReq: cpu[n.Name],
			PodsAlloc: int(n.Status.Allocatable.Pods().Value())}
		zones[n.Name] = on.Zone
		out = append(out, on)
	}
	zc := c.zoneCache()
	zc.mu.Lock()
	zc.zones = zones
	zc.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func isNodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
