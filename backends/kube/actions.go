package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/drain"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/state"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ action.Scaler         = (*Client)(nil)
	_ action.HPAEditor      = (*Client)(nil)
	_ action.CapacityReader = (*Client)(nil)
	_ action.Drainer        = (*Client)(nil)
	_ action.Cordoner       = (*Client)(nil)
	_ action.EnvSetter      = (*Client)(nil)
	_ action.Annotator      = (*Client)(nil)
)

func notFound(err error, what string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %s", action.ErrNotFound, what)
	}
	return err
}

func dryRunOpt(dry bool) []string {
	if dry {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// Workload reads a Deployment for the scale action.
func (c *Client) Workload(ctx context.Context, name string) (action.WorkloadStatus, error) {
	d, err := c.Clientset.AppsV1().Deployments(c.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return action.WorkloadStatus{}, notFound(err, "deployment "+c.Namespace+"/"+name)
	}
	w := action.WorkloadStatus{Namespace: d.Namespace, Name: d.Name, Ready: d.Status.ReadyReplicas,
		Updated: d.Status.UpdatedReplicas, Available: d.Status.AvailableReplicas,
		Current: d.Status.ObservedGeneration >= d.Generation, Env: map[string]string{}}
	w.Replicas = 1
	if d.Spec.Replicas != nil {
		w.Replicas = *d.Spec.Replicas
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
		w.MaxSurge = ru.MaxSurge.String()
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		w.MaxSurge = "0"
	}
	for _, ct := range d.Spec.Template.Spec.Containers {
		w.CPURequestMilli += ct.Resources.Requests.Cpu().MilliValue()
	}
	if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
		for _, e := range cs[0].Env {
			w.Env[e.Name] = e.Value
		}
	}
	return w, nil
}

// SetReplicas writes the Deployment's scale subresource.
func (c *Client) SetReplicas(ctx context.Context, name string, replicas int32, dryRun bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := c.Clientset.AppsV1().Deployments(c.Namespace).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return notFound(err, "deployment "+c.Namespace+"/"+name)
		}
		sc.Spec.Replicas = replicas
		_, err = c.Clientset.AppsV1().Deployments(c.Namespace).UpdateScale(ctx, name, sc, metav1.UpdateOptions{DryRun: dryRunOpt(dryRun)})
		return err
	})
}

// HPAFor finds the HorizontalPodAutoscaler whose target is the Deployment.
func (c *Client) HPAFor(ctx context.Context, deployment string) (*state.HPA, error) {
	list, err := c.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, h := range list.Items {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != deployment {
			continue
		}
		out := &state.HPA{Name: h.Name, Max: h.Spec.MaxReplicas, Min: 1, Desired: h.Status.DesiredReplicas, Current: h.Status.CurrentReplicas}
		if h.Spec.MinReplicas != nil {
			out.Min = *h.Spec.MinReplicas
		}
		if h.Status.LastScaleTime != nil {
			out.LastScaleTime = h.Status.LastScaleTime.Time
		}
		return out, nil
	}
	return nil, nil
}

// SetHPABounds patches minReplicas and maxReplicas.
func (c *Client) SetHPABounds(ctx context.Context, hpa string, min, max int32, dryRun bool) error {
	patch := fmt.Sprintf(`{"spec":{"minReplicas":%d,"maxReplicas":%d}}`, min, max)
	_, err := c.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).Patch(ctx, hpa, types.MergePatchType,
		[]byte(patch), metav1.PatchOptions{DryRun: dryRunOpt(dryRun)})
	return notFound(err, "hpa "+c.Namespace+"/"+hpa)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// SchedulableCapacity sums allocatable and requested CPU and pod slots over
// ready, uncordoned nodes.
func (c *Client) SchedulableCapacity(ctx context.Context) (action.NodeCapacity, error) {
	var nc action.NodeCapacity
	nodes, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nc, err
	}
	usable := map[string]bool{}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Spec.Unschedulable || !nodeReady(n) {
			continue
		}
		usable[n.Name] = true
		nc.Nodes++
		nc.CPUAllocMilli += n.Status.Allocatable.Cpu().MilliValue()
		nc.PodsAlloc += int(n.Status.Allocatable.Pods().Value())
	}
	pods, err := c.Clientset.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nc, err
	}
	for _, p := range pods.Items {
		if !usable[p.Spec.NodeName] {
			continue
		}
		nc.Pods++
		for _, ct := range p.Spec.Containers {
			nc.CPURequestedMilli += ct.Resources.Requests.Cpu().MilliValue()
		}
	}
	return nc, nil
}

func (c *Client) drainHelper(ctx context.Context, o action.DrainOptions) *drain.Helper {
	h := &drain.Helper{
		Ctx: ctx, Client: c.Clientset, Force: o.ForceUnmanaged, GracePeriodSeconds: o.GracePeriodSeconds,
		IgnoreAllDaemonSets: o.IgnoreDaemonSets, DeleteEmptyDirData: o.DeleteEmptyDirData, Timeout: o.Timeout,
		DisableEviction: o.DisableEviction, Out: io.Discard, ErrOut: io.Discard,
	}
	if o.DryRun {
		h.DryRunStrategy = cmdutil.DryRunServer
	}
	return h
}

func (c *Client) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	n, err := c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		var names []string
		if list, lerr := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); lerr == nil {
			for _, n := range list.Items {
				names = append(names, n.Name)
			}
		}
		return nil, fmt.Errorf("%w: node %q (nodes: %s)", action.ErrNotFound, name, strings.Join(names, ", "))
	}
	return n, err
}

func ownerOf(p *corev1.Pod) (kind, name string, uid types.UID) {
	if ref := metav1.GetControllerOf(p); ref != nil {
		kind, name, uid = ref.Kind, ref.Name, ref.UID
		// Pods of a Deployment belong to a ReplicaSet named <deployment>-<pod-template-hash>.
		if kind == "ReplicaSet" {
			if h := p.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(name, "-"+h) {
				kind, name = "Deployment", strings.TrimSuffix(name, "-"+h)
			}
		}
	}
	return
}

// PreviewDrain lists what a drain would move, what stays, which PDBs would
// refuse evictions and which controllers run only on this node.
func (c *Client) PreviewDrain(ctx context.Context, node string, o action.DrainOptions) (*action.DrainPreview, error) {
	n, err := c.getNode(ctx, node)
	if err != nil {
		return nil, err
	}
	pv := &action.DrainPreview{Node: node, Cordoned: n.Spec.Unschedulable}
	list, errs := c.drainHelper(ctx, o).GetPodsForDeletion(node)
	for _, e := range errs {
		pv.Errors = append(pv.Errors, e.Error())
	}
	if list == nil {
		if len(errs) > 0 {
			return pv, nil
		}
		return nil, errors.New("drain: no pod list")
	}
	move := list.Pods()
	moving := map[types.UID]bool{}
	for i := range move {
		p := &move[i]
		moving[p.UID] = true
		kind, name, _ := ownerOf(p)
		dp := action.DrainPod{Namespace: p.Namespace, Name: p.Name}
		if kind != "" {
			dp.Owner = kind + "/" + name
		}
		pv.Move = append(pv.Move, dp)
	}
	// Everything on the node not moved stays; say why. The pods (unfinished,
	// cluster-wide) and the PDBs come from the shared informers' caches: a
	// preview per keystroke of the console lists nothing.
	w, err := c.cached(ctx, "pods", "poddisruptionbudgets")
	if err != nil {
		return nil, err
	}
	all, err := w.podLister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: pods: %w", err)
	}
	perOwner := map[types.UID]int{}
	onNode := map[types.UID]int{}
	ownerName := map[types.UID]string{}
	for _, p := range all {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		kind, name, uid := ownerOf(p)
		if uid != "" && kind != "DaemonSet" {
			perOwner[uid]++
			ownerName[uid] = fmt.Sprintf("%s %s/%s", kind, p.Namespace, name)
			if p.Spec.NodeName == node {
				onNode[uid]++
			}
		}
		if p.Spec.NodeName != node || moving[p.UID] {
			continue
		}
		reason := "not evicted"
		switch {
		case kind == "DaemonSet":
			reason = "DaemonSet pod"
		case p.Annotations[corev1.MirrorPodAnnotationKey] != "":
			reason = "mirror pod"
		case kind == "":
			reason = "not managed by a controller"
		}
		pv.Skip = append(pv.Skip, action.DrainPod{Namespace: p.Namespace, Name: p.Name, Reason: reason})
	}
	for uid, n := range onNode {
		if n == perOwner[uid] && n > 0 {
			pv.SoleHolders = append(pv.SoleHolders, fmt.Sprintf("%s (%d/%d replicas)", ownerName[uid], n, perOwner[uid]))
		}
	}
	sort.Strings(pv.SoleHolders)
	if !o.DisableEviction {
		pdbs, err := w.pdbLister.List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("kube: poddisruptionbudgets: %w", err)
		}
		sort.Slice(pdbs, func(i, j int) bool {
			if pdbs[i].Namespace != pdbs[j].Namespace {
				return pdbs[i].Namespace < pdbs[j].Namespace
			}
			return pdbs[i].Name < pdbs[j].Name
		})
		for _, b := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
			if err != nil || sel.Empty() {
				continue
			}
			var covered []string
			for i := range move {
				if move[i].Namespace == b.Namespace && sel.Matches(labels.Set(move[i].Labels)) {
					covered = append(covered, move[i].Name)
				}
			}
			if len(covered) > 0 && int(b.Status.DisruptionsAllowed) < len(covered) {
				pv.BlockingPDBs = append(pv.BlockingPDBs, action.PDBBlock{Namespace: b.Namespace, Name: b.Name,
					DisruptionsAllowed: b.Status.DisruptionsAllowed, Pods: covered})
			}
		}
	}
	return pv, nil
}

// SetUnschedulable cordons or uncordons a node (server-side dry run when asked).
func (c *Client) SetUnschedulable(ctx context.Context, node string, unschedulable, dryRun bool) (bool, error) {
	n, err := c.getNode(ctx, node)
	if err != nil {
		return false, err
	}
	h := drain.NewCordonHelper(n)
	if !h.UpdateIfRequired(unschedulable) {
		return false, nil
	}
	err, patchErr := h.PatchOrReplaceWithContext(ctx, c.Clientset, dryRun)
	if patchErr != nil {
		return false, patchErr
	}
	return err == nil, err
}

// pdbRefusal reports whether err is an eviction refused by a disruption budget.
func pdbRefusal(err error) bool {
	return apierrors.IsTooManyRequests(err)
}

// Drain cordons the node and evicts its pods in parallel. Deletions are
// followed with one watch on the node's pods instead of polling each pod, and
// an eviction a PDB refuses for PDBBlockWait ends the drain with ErrBlocked.
func (c *Client) Drain(ctx context.Context, node string, o action.DrainOptions, progress func(action.DrainEvent)) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	if _, err := c.SetUnschedulable(ctx, node, true, o.DryRun); err != nil {
		return fmt.Errorf("cordon %s: %w", node, err)
	}
	h := c.drainHelper(ctx, o)
	list, errs := h.GetPodsForDeletion(node)
	if len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("%w: cannot drain %s: %s", action.ErrRefused, node, strings.Join(msgs, "; "))
	}
	pods := list.Pods()
	total := len(pods)
	if total == 0 {
		return nil
	}
	var mu sync.Mutex
	done := 0
	emit := func(p *corev1.Pod, phase, detail string, finished bool) {
		mu.Lock()
		if finished {
			done++
		}
		ev := action.DrainEvent{Pod: p.Namespace + "/" + p.Name, Phase: phase, Detail: detail, Done: done, Total: total}
		mu.Unlock()
		if progress != nil {
			progress(ev)
		}
	}
	// The watch starts before the first eviction so no deletion is missed.
	pending := map[types.UID]*corev1.Pod{}
	for i := range pods {
		pending[pods[i].UID] = &pods[i]
	}
	var w watch.Interface
	if !o.DryRun {
		cur, err := c.Clientset.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
		if err != nil {
			return err
		}
		present := map[types.UID]bool{}
		for _, p := range cur.Items {
			present[p.UID] = true
		}
		for uid, p := range pending {
			if !present[uid] {
				delete(pending, uid)
				emit(p, "gone", "already deleted", true)
			}
		}
		w, err = c.Clientset.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("spec.nodeName", node).String(),
			ResourceVersion: cur.ResourceVersion})
		if err != nil {
			return err
		}
		defer w.Stop()
	}
	evictErrs := make(chan error, len(pods))
	var wg sync.WaitGroup
	for _, p := range pods {
		if _, ok := pending[p.UID]; !ok && !o.DryRun {
			continue
		}
		wg.Add(1)
		go func(p corev1.Pod) {
			defer wg.Done()
			evictErrs <- c.evictOne(ctx, h, &p, o, emit)
		}(p)
	}
	go func() { wg.Wait(); close(evictErrs) }()
	if o.DryRun {
		var all []error
		for err := range evictErrs {
			if err != nil {
				all = append(all, err)
			}
		}
		return errors.Join(all...)
	}
	// Wait for every evicted pod to be gone, or for an eviction to fail.
	evictionsOpen := true
	for len(pending) > 0 {
		select {
		case err, ok := <-evictErrs:
			if !ok {
				evictErrs = nil
				evictionsOpen = false
				continue
			}
			if err != nil {
				return err
			}
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The watch ended (server timeout): resume from a fresh list.
				nw, err := c.rewatch(ctx, node, pending, emit)
				if err != nil {
					return err
				}
				w = nw
				continue
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if ev.Type == watch.Deleted {
				if pp, ok := pending[p.UID]; ok {
					delete(pending, p.UID)
					emit(pp, "gone", "", true)
				}
			}
		case <-ctx.Done():
			var left []string
			for _, p := range pending {
				left = append(left, p.Namespace+"/"+p.Name)
			}
			sort.Strings(left)
			return fmt.Errorf("drain %s: %w; still on the node: %s", node, ctx.Err(), strings.Join(left, ", "))
		}
	}
	_ = evictionsOpen
	return nil
}

func (c *Client) rewatch(ctx context.Context, node string, pending map[types.UID]*corev1.Pod, emit func(*corev1.Pod, string, string, bool)) (watch.Interface, error) {
	cur, err := c.Clientset.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return nil, err
	}
	present := map[types.UID]bool{}
	for _, p := range cur.Items {
		present[p.UID] = true
	}
	for uid, p := range pending {
		if !present[uid] {
			delete(pending, uid)
			emit(p, "gone", "", true)
		}
	}
	return c.Clientset.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("spec.nodeName", node).String(),
		ResourceVersion: cur.ResourceVersion})
}

// evictOne evicts (or deletes) one pod, retrying while a PDB refuses it, up
// to PDBBlockWait; then the refusal is returned as a block.
func (c *Client) evictOne(ctx context.Context, h *drain.Helper, p *corev1.Pod, o action.DrainOptions, emit func(*corev1.Pod, string, string, bool)) error {
	emit(p, "evicting", "", false)
	if o.DisableEviction {
		err := h.DeletePod(*p)
		if err != nil && !apierrors.IsNotFound(err) {
			emit(p, "failed", err.Error(), true)
			return fmt.Errorf("delete %s/%s: %w", p.Namespace, p.Name, err)
		}
		emit(p, "evicted", "deleted", o.DryRun)
		return nil
	}
	var blockedSince time.Time
	retry := 250 * time.Millisecond
	for {
		err := h.EvictPod(*p, policyv1.SchemeGroupVersion)
		switch {
		case err == nil:
			emit(p, "evicted", "", o.DryRun)
			return nil
		case apierrors.IsNotFound(err):
			emit(p, "evicted", "already gone", o.DryRun)
			return nil
		case pdbRefusal(err):
			if blockedSince.IsZero() {
				blockedSince = time.Now()
				emit(p, "blocked", err.Error(), false)
			}
			if time.Since(blockedSince) >= o.PDBBlockWait {
				emit(p, "failed", "blocked by a PodDisruptionBudget", true)
				return fmt.Errorf("%w: eviction of %s/%s refused for %s: %v", action.ErrBlocked, p.Namespace, p.Name, o.PDBBlockWait, err)
			}
		default:
			emit(p, "failed", err.Error(), true)
			return fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: eviction of %s/%s still refused when the drain timed out: %v", action.ErrBlocked, p.Namespace, p.Name, err)
		case <-t.C:
		}
	}
}

// apiContainer is the container that carries the store env (the one with
// POSTGRES_HOST), else the first.
func apiContainer(d *appsv1.Deployment) int {
	for i, ct := range d.Spec.Template.Spec.Containers {
		for _, e := range ct.Env {
			if e.Name == "POSTGRES_HOST" {
				return i
			}
		}
	}
	return 0
}

// DeploymentEnv returns the literal env values of the Deployment's API container.
func (c *Client) DeploymentEnv(ctx context.Context, deployment string) (map[string]string, error) {
	d, err := c.Clientset.AppsV1().Deployments(c.Namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return nil, notFound(err, "deployment "+c.Namespace+"/"+deployment)
	}
	out := map[string]string{}
	if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
		for _, e := range cs[apiContainer(d)].Env {
			out[e.Name] = e.Value
		}
	}
	return out, nil
}

// SetDeploymentEnv sets env values on the API container; the Deployment rolls
// its pods when anything changed.
func (c *Client) SetDeploymentEnv(ctx context.Context, deployment string, env map[string]string, dryRun bool) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		changed = false
		d, err := c.Clientset.AppsV1().Deployments(c.Namespace).Get(ctx, deployment, metav1.GetOptions{})
		if err != nil {
			return notFound(err, "deployment "+c.Namespace+"/"+deployment)
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) == 0 {
			return fmt.Errorf("deployment %s has no containers", deployment)
		}
		ct := &cs[apiContainer(d)]
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			found := false
			for i := range ct.Env {
				if ct.Env[i].Name == k {
					found = true
					if ct.Env[i].Value != env[k] || ct.Env[i].ValueFrom != nil {
						ct.Env[i].Value, ct.Env[i].ValueFrom = env[k], nil
						changed = true
					}
				}
			}
			if !found {
				ct.Env = append(ct.Env, corev1.EnvVar{Name: k, Value: env[k]})
				changed = true
			}
		}
		if !changed {
			return nil
		}
		_, err = c.Clientset.AppsV1().Deployments(c.Namespace).Update(ctx, d, metav1.UpdateOptions{DryRun: dryRunOpt(dryRun)})
		return err
	})
	return changed, err
}

// DeploymentAnnotation reads one annotation of a Deployment ("" when unset).
func (c *Client) DeploymentAnnotation(ctx context.Context, deployment, key string) (string, error) {
	d, err := c.Clientset.AppsV1().Deployments(c.Namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return "", notFound(err, "deployment "+c.Namespace+"/"+deployment)
	}
	return d.Annotations[key], nil
}

// SetDeploymentAnnotation sets (or, with value "", removes) one annotation
// with a merge patch of the metadata: the pod template is untouched, so no
// rollout follows.
func (c *Client) SetDeploymentAnnotation(ctx context.Context, deployment, key, value string) error {
	v := any(value)
	if value == "" {
		v = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: v}}})
	if err != nil {
		return err
	}
	_, err = c.Clientset.AppsV1().Deployments(c.Namespace).Patch(ctx, deployment, types.MergePatchType, patch, metav1.PatchOptions{})
	return notFound(err, "deployment "+c.Namespace+"/"+deployment)
}
