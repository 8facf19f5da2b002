// Package kube talks to the Kubernetes API with client-go: pods, deployments,
// HPAs and nodes for the collector, and the clients the actions share.
package kube

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds every request made through a Client's RestConfig.
const DefaultTimeout = 10 * time.Second

// Client holds one region's Kubernetes clients.
type Client struct {
	Clientset  kubernetes.Interface
	RestConfig *rest.Config
	Namespace  string

	watchMu sync.Mutex
	watch   *watcher
}

// New builds clients from the endpoint's kubeconfig and context. Requests time
// out after DefaultTimeout unless the caller's context is shorter.
func New(ep config.KubeEndpoint) (*Client, error) {
	if ep.Kubeconfig == "" {
		return nil, errors.New("kube: kubeconfig path is empty")
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: ep.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: ep.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube: load kubeconfig %s: %w", ep.Kubeconfig, err)
	}
	return NewFromRest(cfg, ep.Namespace)
}

// NewFromRest builds clients from an existing rest config.
func NewFromRest(cfg *rest.Config, namespace string) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	// Actions list and evict pods in bursts; the default 5 QPS would throttle them.
	if cfg.QPS == 0 {
		cfg.QPS = 50
		cfg.Burst = 100
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: clientset for %s: %w", cfg.Host, err)
	}
	if namespace == "" {
		namespace = "wotr"
	}
	return &Client{Clientset: cs, RestConfig: cfg, Namespace: namespace}, nil
}
