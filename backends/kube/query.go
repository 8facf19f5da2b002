package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// queryResources maps the resource names runbooks use (and their usual
// aliases) to a getter in the client's namespace (nodes are cluster-scoped).
func (c *Client) queryResources() map[string]func(ctx context.Context, name string) (any, error) {
	get := metav1.GetOptions{}
	ns := c.Namespace
	cs := c.Clientset
	m := map[string]func(ctx context.Context, name string) (any, error){
		"deployments": func(ctx context.Context, n string) (any, error) { return cs.AppsV1().Deployments(ns).Get(ctx, n, get) },
		"hpa": func(ctx context.Context, n string) (any, error) {
			return cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, n, get)
		},
		"pdb": func(ctx context.Context, n string) (any, error) {
			return cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, n, get)
		},
		"nodes":    func(ctx context.Context, n string) (any, error) { return cs.CoreV1().Nodes().Get(ctx, n, get) },
		"pods":     func(ctx context.Context, n string) (any, error) { return cs.CoreV1().Pods(ns).Get(ctx, n, get) },
		"services": func(ctx context.Context, n string) (any, error) { return cs.CoreV1().Services(ns).Get(ctx, n, get) },
	}
	for alias, canonical := range map[string]string{
		"deployment": "deployments", "deploy": "deployments",
		"horizontalpodautoscalers": "hpa", "horizontalpodautoscaler": "hpa",
		"poddisruptionbudgets": "pdb", "poddisruptionbudget": "pdb",
		"node": "nodes", "pod": "pods", "service": "services", "svc": "services",
	} {
		m[alias] = m[canonical]
	}
	return m
}

// QueryResources lists the resource names GetObject accepts.
func QueryResources() []string {
	return []string{"deployments", "hpa", "pdb", "nodes", "pods", "services"}
}

// GetObject reads one object as generic JSON (numbers as float64, as
// encoding/json decodes them), the ops.KubeQuerier of runbooks.
func (c *Client) GetObject(ctx context.Context, resource, name string) (map[string]any, error) {
	getter, ok := c.queryResources()[strings.ToLower(resource)]
	if !ok {
		known := QueryResources()
		sort.Strings(known)
		return nil, fmt.Errorf("kube: resource %q: must be one of %s", resource, strings.Join(known, ", "))
	}
	if name == "" {
		return nil, fmt.Errorf("kube: %s: a name is required", resource)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	obj, err := getter(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("kube: get %s/%s in %s: %w", resource, name, c.Namespace, err)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("kube: encode %s/%s: %w", resource, name, err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("kube: decode %s/%s: %w", resource, name, err)
	}
	return out, nil
}

var _ runbook.KubeQuerier = (*Client)(nil)
