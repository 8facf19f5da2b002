package kube

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wotr/wotr-tui/ops/inspect"
)

var _ inspect.DeploymentReader = (*Client)(nil)

// revisionAnnotation is where the deployment controller numbers rollouts.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// Deployment reads a Deployment of the namespace with its HPA, ReplicaSets,
// pods and events: six requests, whatever the namespace's size (pods and
// ReplicaSets by the Deployment's selector; the warnings of its pods and
// ReplicaSets by one field-selected list). Under the shipped RBAC, which
// reads no ReplicaSets, their names and counts come from the pods.
func (c *Client) Deployment(ctx context.Context, name string) (inspect.Deployment, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ns := c.Namespace
	d, err := c.Clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return inspect.Deployment{}, fmt.Errorf("kube: deployment %s/%s: %w", ns, name, err)
	}
	out := inspect.Deployment{Name: d.Name, Current: d.Status.Replicas, Ready: d.Status.ReadyReplicas,
		Updated: d.Status.UpdatedReplicas, Available: d.Status.AvailableReplicas,
		Generation: d.Generation, ObservedGeneration: d.Status.ObservedGeneration,
		Strategy: strategy(d), Revision: d.Annotations[revisionAnnotation]}
	if d.Spec.Replicas != nil {
		out.Replicas = *d.Spec.Replicas
	}
	for _, cd := range d.Status.Conditions {
		out.Conditions = append(out.Conditions, inspect.Condition{Type: string(cd.Type), Status: string(cd.Status),
			Reason: cd.Reason, Message: cd.Message, Updated: cd.LastUpdateTime.Time})
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return out, fmt.Errorf("kube: deployment %s/%s: selector: %w", ns, name, err)
	}
	out.Selector = sel.String()
	list := metav1.ListOptions{LabelSelector: out.Selector}

	// The shipped RBAC does not grant ReplicaSets: without them a pod is
	// the Deployment's when its owner is named as the deployment
	// controller names its ReplicaSets (name-podTemplateHash).
	owned := map[types.UID]string{}
	rsList, err := c.Clientset.AppsV1().ReplicaSets(ns).List(ctx, list)
	switch {
	case err == nil:
		for _, rs := range rsList.Items {
			if !ownedBy(rs.OwnerReferences, d.UID) {
				continue
			}
			owned[rs.UID] = rs.Name
			ors := inspect.ReplicaSet{Name: rs.Name, Revision: rs.Annotations[revisionAnnotation], Ready: rs.Status.ReadyReplicas}
			if rs.Spec.Replicas != nil {
				ors.Desired = *rs.Spec.Replicas
			}
			out.ReplicaSets = append(out.ReplicaSets, ors)
		}
	case apierrors.IsForbidden(err):
		owned = nil
	default:
		return out, fmt.Errorf("kube: replicasets of %s/%s: %w", ns, name, err)
	}

	pods, err := c.Clientset.CoreV1().Pods(ns).List(ctx, list)
	if err != nil {
		return out, fmt.Errorf("kube: pods of %s/%s: %w", ns, name, err)
	}
	fromPods := map[string]*inspect.ReplicaSet{}
	for i := range pods.Items {
		p := &pods.Items[i]
		rs := ""
		for _, o := range p.OwnerReferences {
			if n, ok := owned[o.UID]; ok {
				rs = n
			}
			if owned == nil && o.Kind == "ReplicaSet" && o.Name == name+"-"+p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] {
				rs = o.Name
			}
		}
		// another controller's pods may match the selector too
		if rs == "" {
			continue
		}
		pod := podOf(p, rs)
		out.Pods = append(out.Pods, pod)
		if owned == nil {
			r := fromPods[rs]
			if r == nil {
				r = &inspect.ReplicaSet{Name: rs}
				fromPods[rs] = r
			}
			r.Desired++ // its pods, the spec not being readable
			if pod.Ready {
				r.Ready++
			}
		}
	}
	for _, r := range fromPods {
		out.ReplicaSets = append(out.ReplicaSets, *r)
	}
	sort.Slice(out.Pods, func(i, j int) bool { return out.Pods[i].Name < out.Pods[j].Name })
	// newest revision first (read from pods: the most pods first)
	sort.SliceStable(out.ReplicaSets, func(i, j int) bool {
		a, b := out.ReplicaSets[i], out.ReplicaSets[j]
		if ra, rb := revisionNumber(a.Revision), revisionNumber(b.Revision); ra != rb {
			return ra > rb
		}
		if a.Desired != b.Desired {
			return a.Desired > b.Desired
		}
		return a.Name < b.Name
	})

	hpas, err := c.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out, fmt.Errorf("kube: HPAs in %s: %w", ns, err)
	}
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != name {
			continue
		}
		sh := hpaOf(h)
		oh := &inspect.HPA{Name: sh.Name, Min: sh.Min, Max: sh.Max, Current: sh.Current, Desired: sh.Desired}
		for _, m := range sh.Metrics {
			oh.Metrics = append(oh.Metrics, inspect.HPAMetric{Name: m.Name, Target: m.Target, Current: m.Current})
		}
		out.HPA = oh
	}

	evs, err := c.Events(ctx, "Deployment", name)
	if err != nil {
		return out, err
	}
	warn, err := c.warningsAbout(ctx, out)
	if err != nil {
		return out, err
	}
	out.Events = append(evs, warn...)
	sort.SliceStable(out.Events, func(i, j int) bool { return out.Events[i].Last.After(out.Events[j].Last) })
	return out, nil
}

// warningsAbout are the namespace's warnings about d's ReplicaSets and pods.
func (c *Client) warningsAbout(ctx context.Context, d inspect.Deployment) ([]inspect.Event, error) {
	objects := map[string]bool{}
	for _, rs := range d.ReplicaSets {
		objects["ReplicaSet/"+rs.Name] = true
	}
	for _, p := range d.Pods {
		objects["Pod/"+p.Name] = true
	}
	if len(objects) == 0 {
		return nil, nil
	}
	sel := fields.Set{"type": corev1.EventTypeWarning}.AsSelector().String()
	list, err := c.Clientset.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("kube: warnings in %s: %w", c.Namespace, err)
	}
	var out []inspect.Event
	for i := range list.Items {
		e := &list.Items[i]
		if objects[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name] {
			out = append(out, eventOf(e))
		}
	}
	return out, nil
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, o := range refs {
		if o.UID == uid {
			return true
		}
	}
	return false
}

func revisionNumber(s string) int {
	n := 0
	_, _ = fmt.Sscan(s, &n)
	return n
}

func strategy(d *appsv1.Deployment) string {
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return "Recreate"
	}
	surge, unavail := "25%", "25%"
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = ru.MaxSurge.String()
		}
		if ru.MaxUnavailable != nil {
			unavail = ru.MaxUnavailable.String()
		}
	}
	return fmt.Sprintf("RollingUpdate (max surge %s, max unavailable %s)", surge, unavail)
}

// podOf with the status kubectl get pods prints: a waiting or terminated
// container's reason wins over the phase, deletion over both.
func podOf(p *corev1.Pod, rs string) inspect.Pod {
	out := inspect.Pod{Name: p.Name, Node: p.Spec.NodeName, Ready: podReady(p), Created: p.CreationTimestamp.Time,
		ReplicaSet: rs, Status: string(p.Status.Phase)}
	if p.Status.Reason != "" {
		out.Status = p.Status.Reason
	}
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		out.Restarts += cs.RestartCount
		if cs.Ready {
			ready++
		}
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			out.Status = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
			out.Status = cs.State.Terminated.Reason
		}
	}
	out.Containers = fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers))
	if p.DeletionTimestamp != nil {
		out.Status = "Terminating"
	}
	if out.Status == "" {
		out.Status = "Unknown"
	}
	return out
}
