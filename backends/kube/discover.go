package kube

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// Deployments whose env names the platform's stores (platform/deploy/k8s).
const (
	apiDeployment      = "wotr-api"
	consumerDeployment = "wotr-consumer"
)

// Discover finds the platform in the namespace: the stores the API and
// consumer Deployments' env names (POSTGRES_HOST, REDIS_HOST,
// KAFKA_BOOTSTRAP, KAFKA_GROUP_ID, CLICKHOUSE_HOST and their ports), each
// host resolved through its Service to an address this machine can reach
// (an external IP or load balancer, else the in-cluster DNS name), and
// Prometheus by its Service. The region has the endpoint's kube section.
func (c *Client) Discover(ctx context.Context, ep config.KubeEndpoint) (config.RegionConfig, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	region := config.RegionConfig{Name: string(state.RolePrimary), Role: state.RolePrimary, Kube: &ep}
	api, err := c.DeploymentEnv(ctx, apiDeployment)
	if err != nil {
		return region, fmt.Errorf("discover: %w (is the platform deployed in namespace %s?)", err, c.Namespace)
	}
	consumer, err := c.DeploymentEnv(ctx, consumerDeployment)
	if err != nil {
		consumer = map[string]string{}
	}
	svcs, err := c.Clientset.CoreV1().Services(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return region, fmt.Errorf("discover: services in %s: %w", c.Namespace, err)
	}
	byName := map[string]*corev1.Service{}
	for i := range svcs.Items {
		byName[svcs.Items[i].Name] = &svcs.Items[i]
	}
	reach := func(host, port string) string { return c.reachable(byName, host, port) }
	env := func(k, def string) string {
		if v := api[k]; v != "" {
			return v
		}
		if v := consumer[k]; v != "" {
			return v
		}
		return def
	}

	if b := env("KAFKA_BOOTSTRAP", ""); b != "" {
		k := &config.KafkaEndpoint{Group: consumer["KAFKA_GROUP_ID"]}
		for _, addr := range strings.Split(b, ",") {
			host, port, err := net.SplitHostPort(strings.TrimSpace(addr))
			if err != nil {
				host, port = strings.TrimSpace(addr), "9092"
			}
			k.Brokers = append(k.Brokers, reach(host, port))
		}
		region.Kafka = k
	}
	if h := env("POSTGRES_HOST", ""); h != "" {
		u := url.URL{Scheme: "postgres", Host: reach(h, env("POSTGRES_PORT", "5432")), Path: "/" + env("POSTGRES_DB", "wotr")}
		if pw := env("POSTGRES_PASSWORD", ""); pw != "" {
			u.User = url.UserPassword(env("POSTGRES_USER", "wotr"), pw)
		} else {
			u.User = url.User(env("POSTGRES_USER", "wotr"))
		}
		region.Postgres = &config.PostgresEndpoint{DSN: u.String()}
	}
	if h := env("REDIS_HOST", ""); h != "" {
		region.Redis = &config.RedisEndpoint{Addr: reach(h, env("REDIS_PORT", "6379")), Password: env("REDIS_PASSWORD", "")}
	}
	if h := env("CLICKHOUSE_HOST", ""); h != "" {
		region.ClickHouse = &config.CHEndpoint{Addrs: []string{reach(h, env("CLICKHOUSE_PORT", "9000"))}}
	}
	for _, name := range []string{"prometheus", "prometheus-service", "prometheus-server"} {
		if s, ok := byName[name]; ok && len(s.Spec.Ports) > 0 {
			region.Prometheus = &config.PromEndpoint{URL: "http://" + reach(name, strconv.Itoa(int(s.Spec.Ports[0].Port)))}
			break
		}
	}
	return region, nil
}

// reachable is host:port through the Service named host, if there is one.
func (c *Client) reachable(svcs map[string]*corev1.Service, host, port string) string {
	name := strings.SplitN(host, ".", 2)[0]
	s, ok := svcs[name]
	if !ok || (host != name && !strings.HasPrefix(host, name+"."+c.Namespace)) {
		return net.JoinHostPort(host, port)
	}
	switch {
	case len(s.Spec.ExternalIPs) > 0:
		return net.JoinHostPort(s.Spec.ExternalIPs[0], port)
	case len(s.Status.LoadBalancer.Ingress) > 0:
		in := s.Status.LoadBalancer.Ingress[0]
		if in.IP != "" {
			return net.JoinHostPort(in.IP, port)
		}
		return net.JoinHostPort(in.Hostname, port)
	}
	return net.JoinHostPort(name+"."+c.Namespace+".svc", port)
}
