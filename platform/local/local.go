// Package local starts the real components the console talks to (Kafka, Kubernetes,
// PostgreSQL, Redis, ClickHouse, Prometheus, HAProxy) on loopback, each on free
// ports in its own temp dir, and stops them cleanly. The demo and the integration
// tests use the same code.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Component names, used in Options.Only, errors and start-time reports.
const (
	Kafka      = "kafka"
	Kube       = "kube"
	Postgres   = "postgres"
	Redis      = "redis"
	ClickHouse = "clickhouse"
	Prometheus = "prometheus"
	HAProxy    = "haproxy"
)

// AllComponents in start order of preference (they start in parallel).
var AllComponents = []string{Kafka, Kube, Postgres, Redis, ClickHouse, Prometheus, HAProxy}

// Options selects and configures components. The zero value starts everything
// with defaults.
type Options struct {
	// Only limits the platform to these components; empty means all.
	Only []string
	// Dir is the parent for the platform's temp dir; empty means os.TempDir().
	Dir string
	// KeepDir leaves the temp dir in place after Stop (for debugging).
	KeepDir bool
	// StartTimeout bounds each component's readiness wait; default 60s.
	StartTimeout time.Duration
	Logger       *slog.Logger
	// Faults puts a switchable fault proxy (Platform.Faults) in front of
	// Redis, PostgreSQL, every Kafka broker and every ClickHouse native
	// port. Off by default: nothing else changes, and start time stays.
	Faults bool

	Kafka      KafkaOptions
	Kube       KubeOptions
	Postgres   PostgresOptions
	Redis      RedisOptions
	ClickHouse ClickHouseOptions
	Prometheus PrometheusOptions
	HAProxy    HAProxyOptions
}

// Platform is a running local platform. Endpoint fields of components that were
// not started are zero.
type Platform struct {
	Dir  string
	opts Options
	log  *slog.Logger

	Kafka *KafkaCluster
	// Kube is the control plane of the first region (the only one unless
	// KubeOptions.PerRegion); Kubes lists every region's, Kube first.
	Kube       *KubeCluster
	Kubes      []*KubeCluster
	Postgres   *PostgresPair
	Redis      *RedisPair
	ClickHouse *ClickHouseCluster
	Prometheus *PrometheusServer
	HAProxy    *HAProxyServer
	// Faults holds the fault proxies when Options.Faults is set; nil otherwise.
	Faults *Faults

	// StartTimes records how long each component took to become ready.
	StartTimes map[string]time.Duration
	// PortRetries counts, per component, the boots started again on fresh
	// ports because another process took one first.
	PortRetries map[string]int

	mu       sync.Mutex
	stoppers []stopper
	procs    *procGroup
}

type stopper struct {
	name string
	stop func() error
}

// Enabled reports whether a component was requested.
func (o Options) Enabled(name string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, n := range o.Only {
		if n == name {
			return true
		}
	}
	return false
}

func (o Options) validate() error {
	for _, n := range o.Only {
		known := false
		for _, c := range AllComponents {
			if c == n {
				known = true
			}
		}
		if !known {
			return fmt.Errorf("local: unknown component %q (known: %s)", n, strings.Join(AllComponents, ", "))
		}
	}
	return nil
}

// Start boots the requested components in parallel and waits until each is ready.
// On any failure everything already started is stopped and the error names the
// component and carries the tail of its log.
func Start(ctx context.Context, opts Options) (*Platform, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	dir, err := os.MkdirTemp(opts.Dir, "wotr-local-")
	if err != nil {
		return nil, fmt.Errorf("local: temp dir: %w", err)
	}
	p := &Platform{Dir: dir, opts: opts, log: opts.Logger, StartTimes: map[string]time.Duration{}, PortRetries: map[string]int{}, procs: newProcGroup()}
	if opts.Faults {
		p.Faults = newFaults()
		p.onStop("faults", p.Faults.Close)
	}

	type starter struct {
		name  string
		start func(context.Context) error
	}
	// Prometheus and HAProxy only need their own ports; they start alongside the rest.
	starters := []starter{
		{Kafka, p.startKafka},
		{Kube, p.startKube},
		{Postgres, p.startPostgres},
		{Redis, p.startRedis},
		{ClickHouse, p.startClickHouse},
		{Prometheus, p.startPrometheus},
		{HAProxy, p.startHAProxy},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(starters))
	for _, s := range starters {
		if !opts.Enabled(s.name) {
			continue
		}
		wg.Add(1)
		go func(s starter) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
			defer cancel()
			t0 := time.Now()
			if err := s.start(cctx); err != nil {
				errs <- fmt.Errorf("local: %s: %w", s.name, err)
				return
			}
			p.mu.Lock()
			p.StartTimes[s.name] = time.Since(t0)
			p.mu.Unlock()
			p.log.Info("component ready", "component", s.name, "took", time.Since(t0).Round(time.Millisecond))
		}(s)
	}
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	if len(all) == 0 && p.Faults != nil {
		all = append(all, p.addProxies())
	}
	if err := errors.Join(all...); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// addProxies puts a proxy in front of each started server (Kafka has its
// own, from kafkaListenFn).
func (p *Platform) addProxies() error {
	type target struct{ name, addr string }
	var ts []target
	if p.Redis != nil {
		ts = append(ts, target{"redis-primary", p.Redis.Primary.Addr}, target{"redis-replica", p.Redis.Replica.Addr})
	}
	if p.Postgres != nil {
		ts = append(ts, target{"postgres-primary", p.Postgres.Primary.Addr()}, target{"postgres-standby", p.Postgres.Standby.Addr()})
	}
	if p.ClickHouse != nil {
		for _, r := range p.ClickHouse.Replicas {
			ts = append(ts, target{"clickhouse-" + r.Shard + "-" + r.Name, r.NativeAddr})
		}
	}
	for _, t := range ts {
		if _, err := p.Faults.Add(t.name, t.addr); err != nil {
			return fmt.Errorf("local: faults: %w", err)
		}
	}
	return nil
}

// ProxyAddr is the address of the fault proxy named name, for clients that
// should see its faults.
func (p *Platform) ProxyAddr(name string) (string, error) {
	if p.Faults == nil {
		return "", errors.New("local: the platform runs without faults (Options.Faults)")
	}
	pr, err := p.Faults.Proxy(name)
	if err != nil {
		return "", err
	}
	return pr.Addr(), nil
}

// onStop registers cleanup; Stop runs them in reverse order.
func (p *Platform) onStop(name string, fn func() error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stoppers = append(p.stoppers, stopper{name, fn})
}

// Stop stops every component and kills any process still alive. Safe to call twice.
func (p *Platform) Stop() error {
	p.mu.Lock()
	st := p.stoppers
	p.stoppers = nil
	p.mu.Unlock()
	var errs []error
	for i := len(st) - 1; i >= 0; i-- {
		if err := st[i].stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", st[i].name, err))
		}
	}
	if err := p.procs.killAll(); err != nil {
		errs = append(errs, err)
	}
	if !p.opts.KeepDir && p.Dir != "" {
		_ = os.RemoveAll(p.Dir)
	}
	return errors.Join(errs...)
}

// Enabled reports whether the platform runs a component.
func (p *Platform) Enabled(name string) bool { return p.opts.Enabled(name) }

// PIDs lists the OS processes the platform started and still tracks as alive.
func (p *Platform) PIDs() []int { return p.procs.pids() }

// StartReport formats per-component start times, slowest first.
func (p *Platform) StartReport() string {
	type kv struct {
		k string
		v time.Duration
	}
	var rows []kv
	for k, v := range p.StartTimes {
		rows = append(rows, kv{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].v > rows[j].v })
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-11s %6.2fs\n", r.k, r.v.Seconds())
	}
	return b.String()
}
