package kube

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/wotr/wotr-tui/ops/state"
)

// unfinishedPods are the pods that occupy a node.
const unfinishedPods = "status.phase!=Succeeded,status.phase!=Failed"

// watcher keeps the collector's view of the cluster in informer caches: one
// LIST per resource at start, then WATCH, so a console left open costs the
// apiserver no periodic LIST. Deployments and HPAs are watched in the
// namespace only; nodes and unfinished pods cluster-wide, since a node's pod
// count covers every namespace; PodDisruptionBudgets cluster-wide, as a
// drain evicts pods of every namespace. Each informer starts on the first
// read that needs it: a console that never drains never lists PDBs.
type watcher struct {
	stop    chan struct{}
	mu      sync.Mutex
	running map[string]bool

	pods, nodes, deps, hpas, pdbs cache.SharedIndexInformer
	podLister                     corelisters.PodLister
	nodeLister                    corelisters.NodeLister
	depLister                     appslisters.DeploymentLister
	hpaLister                     autoscalinglisters.HorizontalPodAutoscalerLister
	pdbLister                     policylisters.PodDisruptionBudgetLister
	instances                     labels.Selector
	namespace                     string

	health *watchHealth
}

// watchHealth knows which resources' list or watch last failed. A dropped
// watch stream reaches it through the informer's error handler; a request
// that fails outright (refused: the reflector then retries the watch without
// reporting it) through the transport, which also clears a resource once
// the apiserver answers its list or watch again.
type watchHealth struct {
	mu     sync.Mutex
	broken map[string]error
}

func (h *watchHealth) set(resource string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.broken, resource)
	} else {
		h.broken[resource] = err
	}
}

func (h *watchHealth) err(resource string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.broken[resource]
}

type healthTransport struct {
	next   http.RoundTripper
	health *watchHealth
}

func (t healthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resource := path.Base(req.URL.Path)
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		t.health.set(resource, err)
	case resp.StatusCode >= 300:
		t.health.set(resource, fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status))
	default:
		t.health.set(resource, nil)
	}
	return resp, err
}

func newWatcher(cs kubernetes.Interface, namespace string, health *watchHealth) *watcher {
	nsf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTransform(dropManagedFields))
	cluster := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(dropManagedFields))
	w := &watcher{
		stop:      make(chan struct{}),
		pods:      coreinformers.NewFilteredPodInformer(cs, metav1.NamespaceAll, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, func(o *metav1.ListOptions) { o.FieldSelector = unfinishedPods }),
		nodes:     cluster.Core().V1().Nodes().Informer(),
		deps:      nsf.Apps().V1().Deployments().Informer(),
		hpas:      nsf.Autoscaling().V2().HorizontalPodAutoscalers().Informer(),
		pdbs:      cluster.Policy().V1().PodDisruptionBudgets().Informer(),
		running:   map[string]bool{},
		namespace: namespace,
		health:    health,
	}
	w.instances, _ = labels.Parse(InstanceSelector)
	_ = w.pods.SetTransform(dropManagedFields)
	w.podLister = corelisters.NewPodLister(w.pods.GetIndexer())
	w.nodeLister = corelisters.NewNodeLister(w.nodes.GetIndexer())
	w.depLister = appslisters.NewDeploymentLister(w.deps.GetIndexer())
	w.hpaLister = autoscalinglisters.NewHorizontalPodAutoscalerLister(w.hpas.GetIndexer())
	w.pdbLister = policylisters.NewPodDisruptionBudgetLister(w.pdbs.GetIndexer())
	for name, inf := range w.informers() {
		_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			cache.DefaultWatchErrorHandler(ctx, r, err)
			w.health.set(name, err)
		})
	}
	return w
}

func (w *watcher) informers() map[string]cache.SharedIndexInformer {
	return map[string]cache.SharedIndexInformer{"pods": w.pods, "nodes": w.nodes, "deployments": w.deps,
		"horizontalpodautoscalers": w.hpas, "poddisruptionbudgets": w.pdbs}
}

// dropManagedFields keeps the caches small: nothing reads them.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// start runs the named informers that are not running yet.
func (w *watcher) start(names ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	infs := w.informers()
	for _, n := range names {
		if inf := infs[n]; inf != nil && !w.running[n] {
			w.running[n] = true
			go inf.Run(w.stop)
		}
	}
}

// ready waits until the named caches have listed and their watches are not
// broken; a broken one answers with its error (the collector marks the
// source stale and keeps the last good value) until its re-list succeeds.
func (w *watcher) ready(ctx context.Context, names ...string) error {
	infs := w.informers()
	for _, n := range names {
		if infs[n] == nil {
			return fmt.Errorf("kube: no informer for %q", n)
		}
	}
	w.start(names...)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		synced := true
		for _, n := range names {
			synced = synced && infs[n].HasSynced()
		}
		if synced {
			break
		}
		select {
		case <-ctx.Done():
			for _, n := range names {
				if err := w.health.err(n); err != nil {
					return fmt.Errorf("kube: first list of %s: %w", n, err)
				}
			}
			return fmt.Errorf("kube: first list of %v: %w", names, ctx.Err())
		case <-t.C:
		}
	}
	for _, n := range names {
		if err := w.health.err(n); err != nil {
			return fmt.Errorf("kube: watch of %s broken, re-listing: %w", n, err)
		}
	}
	return nil
}

func (w *watcher) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

// informerClientset is a clientset without the per-request timeout, which
// would cut every long-lived watch, reporting to health.
func informerClientset(cfg *rest.Config, health *watchHealth) (kubernetes.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 0
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return healthTransport{next: rt, health: health} })
	return kubernetes.NewForConfig(cfg)
}

func (c *Client) watcher() (*watcher, error) {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watch == nil {
		cs, health := c.Clientset, &watchHealth{broken: map[string]error{}}
		if c.RestConfig != nil {
			var err error
			if cs, err = informerClientset(c.RestConfig, health); err != nil {
				return nil, fmt.Errorf("kube: informer clientset for %s: %w", c.RestConfig.Host, err)
			}
		}
		c.watch = newWatcher(cs, c.Namespace, health)
	}
	return c.watch, nil
}

// Close stops the informers (the first read starts them).
func (c *Client) Close() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watch != nil {
		c.watch.close()
	}
}

// ListInstances reads the namespace's API and consumer pods from the cache.
func (c *Client) ListInstances(ctx context.Context) ([]state.Instance, error) {
	w, err := c.cached(ctx, "pods", "nodes")
	if err != nil {
		return nil, err
	}
	pods, err := w.podLister.Pods(c.Namespace).List(w.instances)
	if err != nil {
		return nil, fmt.Errorf("kube: pods in %s: %w", c.Namespace, err)
	}
	ns, err := w.nodeLister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: nodes: %w", err)
	}
	zones := make(map[string]string, len(ns))
	for _, n := range ns {
		zones[n.Name] = n.Labels[ZoneLabel]
	}
	return instances(pods, zones), nil
}

// ReadDeployments reads deployments with the HPA targeting each from the cache.
func (c *Client) ReadDeployments(ctx context.Context) ([]state.Deployment, error) {
	w, err := c.cached(ctx, "deployments", "horizontalpodautoscalers")
	if err != nil {
		return nil, err
	}
	deps, err := w.depLister.Deployments(c.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: deployments in %s: %w", c.Namespace, err)
	}
	hpas, err := w.hpaLister.HorizontalPodAutoscalers(c.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: hpas in %s: %w", c.Namespace, err)
	}
	return deployments(deps, hpas), nil
}

// ReadNodes reads nodes with their pod counts and requested CPU from the cache.
func (c *Client) ReadNodes(ctx context.Context) ([]state.Node, error) {
	w, err := c.cached(ctx, "pods", "nodes")
	if err != nil {
		return nil, err
	}
	ns, err := w.nodeLister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: nodes: %w", err)
	}
	pods, err := w.podLister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("kube: pods: %w", err)
	}
	out, _ := nodes(ns, pods)
	return out, nil
}

// cached is the watcher once the caches of the named resources have synced
// (within the client's request timeout).
func (c *Client) cached(ctx context.Context, resources ...string) (*watcher, error) {
	w, err := c.watcher()
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	if err := w.ready(ctx, resources...); err != nil {
		return nil, err
	}
	return w, nil
}
