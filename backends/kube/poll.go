package kube

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/state"
)

// Polling reads by listing every resource on each call. The collector reads
// through the Client's informers instead; Polling stays as the baseline that
// the scale benchmarks measure the informers against.
type Polling struct {
	*Client

	mu    sync.Mutex
	zones map[string]string // from the last ReadNodes, as the polling source kept it
}

// NewPolling polls through c's clientset.
func NewPolling(c *Client) *Polling { return &Polling{Client: c} }

// ListInstances lists the namespace's API and consumer pods (and the nodes,
// for their zones).
func (c *Polling) ListInstances(ctx context.Context) ([]state.Instance, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	pods, err := c.Clientset.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: InstanceSelector})
	if err != nil {
		return nil, fmt.Errorf("kube: list pods in %s: %w", c.Namespace, err)
	}
	c.mu.Lock()
	zones := c.zones
	c.mu.Unlock()
	if zones == nil {
		_, _ = c.ReadNodes(ctx)
		c.mu.Lock()
		zones = c.zones
		c.mu.Unlock()
	}
	return instances(ptrs(pods.Items), zones), nil
}

// ReadDeployments lists deployments and HPAs.
func (c *Polling) ReadDeployments(ctx context.Context) ([]state.Deployment, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	hpas, err := c.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube: list hpas in %s: %w", c.Namespace, err)
	}
	deps, err := c.Clientset.AppsV1().Deployments(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube: list deployments in %s: %w", c.Namespace, err)
	}
	return deployments(ptrs(deps.Items), ptrs(hpas.Items)), nil
}

// ReadNodes lists nodes and every unfinished pod.
func (c *Polling) ReadNodes(ctx context.Context) ([]state.Node, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	pods, err := c.Clientset.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: unfinishedPods})
	if err != nil {
		return nil, fmt.Errorf("kube: list pods: %w", err)
	}
	ns, err := c.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube: list nodes: %w", err)
	}
	out, zones := nodes(ptrs(ns.Items), ptrs(pods.Items))
	c.mu.Lock()
	c.zones = zones
	c.mu.Unlock()
	return out, nil
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
