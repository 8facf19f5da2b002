// Package demo runs the whole WOTR platform on one machine, driven by
// Kubernetes: platform/local's real components, the platform's Deployments in
// the local control plane, a supervisor that makes every Running pod one real
// local process, and a load generator sending events through HAProxy.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/local"
)

// ContextName is the config context the demo writes.
const ContextName = "demo"

// Region names, as in the scaling guide.
const (
	RegionPrimary   = "primary"
	RegionSecondary = "secondary"
)

// Options configures a demo run.
type Options struct {
	// Local configures platform/local when the demo starts it.
	Local local.Options
	// Platform, when set, is used instead of starting one (tests share one);
	// Stop then leaves it running.
	Platform *local.Platform
	// BinDir holds wotr-api and wotr-consumer; empty means next to the running
	// executable, then ./bin.
	BinDir string
	// ConfigPath of the config the demo context is written to; empty means
	// ops.DefaultConfigPath(). NoConfig skips writing it.
	ConfigPath string
	NoConfig   bool
	// ControlAddr for the load control endpoint; empty means 127.0.0.1:0.
	ControlAddr string
	// Load settings at start; nil means DefaultLoadSettings. NoLoad starts no load.
	Load   *LoadSettings
	NoLoad bool
	// Objects to apply; nil means the platform manifests with LocalOverrides.
	Objects Objects
	// OneCluster runs both regions in one control plane (nodes labelled by
	// region) instead of one per region, when the demo starts the platform.
	OneCluster bool
	// Progress receives one line per finished step.
	Progress func(step string, took time.Duration)
	Logger   *slog.Logger
}

// Demo is a running demo.
type Demo struct {
	Platform *local.Platform
	// Supervisor runs the primary region's pods; Supervisors every region's
	// (the primary's only, when both regions share one cluster).
	Supervisor  *Supervisor
	Supervisors map[string]*Supervisor
	Load        *LoadGenerator
	Context     config.ContextConfig
	Endpoints   Endpoints
	Services    ServiceMap
	// Stores exports the stores' replication and settings series to
	// Prometheus (nil without Prometheus).
	Stores *StoreExporter
	// storesOff: stopping; the exporter's targets are no longer listed.
	storesOff atomic.Bool

	ownPlatform bool
	cancel      context.CancelFunc
	log         *slog.Logger
	stopOnce    sync.Once
	stopErr     error
	instMu      sync.Mutex
	instances   map[string][]Instance // ready instances by region
}

// Endpoints is what `wotr-tui demo --no-tui` prints (and -o json emits). It
// holds addresses, never passwords.
type Endpoints struct {
	Context     string                    `json:"context"`
	ConfigPath  string                    `json:"config_path,omitempty"`
	Kubeconfig  string                    `json:"kubeconfig"`
	KubeContext string                    `json:"kube_context"`
	Namespace   string                    `json:"namespace"`
	Kafka       []string                  `json:"kafka_bootstrap,omitempty"`
	Prometheus  string                    `json:"prometheus_url,omitempty"`
	Regions     map[string]RegionEndpoint `json:"regions"`
	ClickHouse  []string                  `json:"clickhouse,omitempty"`
	HAProxy     *HAProxyEndpoints         `json:"haproxy,omitempty"`
	Control     string                    `json:"control_url,omitempty"`
	LogDir      string                    `json:"log_dir"`
}

// RegionEndpoint is one region's cluster and stores.
type RegionEndpoint struct {
	Kubeconfig  string `json:"kubeconfig,omitempty"`
	KubeContext string `json:"kube_context,omitempty"`
	Postgres    string `json:"postgres,omitempty"` // host:port
	Redis       string `json:"redis,omitempty"`
}

// HAProxyEndpoints are the load balancer's frontend and runtime API socket.
type HAProxyEndpoints struct {
	Frontend string `json:"frontend"`
	Socket   string `json:"socket"`
	Backend  string `json:"backend"`
}

// DemoSources are the API clients the demo seeds and the load generator posts
// as; Kafka keys by source, so several spread events over partitions.
func DemoSources() []Source {
	out := []Source{{Name: api.DemoSource, APIKey: api.DemoAPIKey}}
	for i := 1; i < 16; i++ {
		name := fmt.Sprintf("%s-%02d", api.DemoSource, i)
		out = append(out, Source{Name: name, APIKey: "wotr-demo-key-" + name})
	}
	return out
}

// FindBinary locates a platform binary: in dir when given, else next to the
// running executable, else in ./bin.
func FindBinary(dir, name string) (string, error) {
	var candidates []string
	if dir != "" {
		candidates = append(candidates, filepath.Join(dir, name))
	} else {
		if exe, err := os.Executable(); err == nil {
			if real, err := filepath.EvalSymlinks(exe); err == nil {
				exe = real
			}
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), name))
		}
		candidates = append(candidates, filepath.Join("bin", name))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("%s not found in %v: run `make build`", name, candidates)
}

// Start brings the demo up step by step. On failure everything started is stopped.
func Start(ctx context.Context, opts Options) (d *Demo, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, time.Duration) {}
	}
	step := func(name string, fn func() error) error {
		t0 := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		progress(name, time.Since(t0))
		return nil
	}
	apiBin, err := FindBinary(opts.BinDir, "wotr-api")
	if err != nil {
		return nil, err
	}
	consumerBin, err := FindBinary(opts.BinDir, "wotr-consumer")
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d = &Demo{Platform: opts.Platform, cancel: cancel, log: log}
	defer func() {
		if err != nil {
			_ = d.Stop()
			d = nil
		}
	}()

	if d.Platform == nil {
		lo := opts.Local
		if lo.Logger == nil {
			lo.Logger = log
		}
		lo.Postgres.Durable = true
		// Archived beside the context's backups (ContextFor below), for restore --to-time.
		lo.Postgres.WALArchiveDir = backup.WALArchiveDir("backups")
		if !opts.OneCluster {
			lo.Kube.PerRegion = true
			lo.HAProxy.Regions = Regions
		}
		// Proxies in front of the stores, for the control API's /faults.
		lo.Faults = true
		if lo.Postgres.MaxConnections == 0 {
			// Room for the connection budget at the HPA maximum (10 per API
			// instance x 11 with surge) plus the console, consumers and
			// superuser reserve: the before-scaling runbook checks exactly this.
			lo.Postgres.MaxConnections = 200
		}
		if err := step("local platform", func() error {
			p, err := local.Start(ctx, lo)
			if err != nil {
				return err
			}
			d.Platform, d.ownPlatform = p, true
			return nil
		}); err != nil {
			return nil, err
		}
	}
	p := d.Platform
	if p.Kube == nil {
		return nil, errors.New("the demo needs the kube component of platform/local")
	}
	d.Services = servicesOf(p)
	logDir := filepath.Join(p.Dir, "pods")
	if p.Prometheus != nil && (p.Postgres != nil || p.Redis != nil) {
		if d.Stores, err = StartStoreExporter(p); err != nil {
			return nil, err
		}
	}

	// Schema and API keys first: API processes authenticate from the first request.
	if p.Postgres != nil {
		if err := step("schema and demo API keys", func() error {
			var seeds []api.Source
			for _, s := range DemoSources() {
				seeds = append(seeds, api.Source{Name: s.Name, APIKey: s.APIKey})
			}
			return api.Bootstrap(ctx, p.Postgres.Primary.DSN, seeds...)
		}); err != nil {
			return nil, err
		}
	}

	// Local settings win over the manifests: the local Redis is a primary and
	// a replica, not a cluster; the password is the local one, not a Secret's.
	apiEnv := map[string]string{"REDIS_CLUSTER": "false"}
	if p.Postgres != nil {
		apiEnv["POSTGRES_USER"] = p.Postgres.Superuser
		apiEnv["POSTGRES_PASSWORD"] = p.Postgres.Password
		apiEnv["POSTGRES_DB"] = local.PostgresDatabase
	}
	if p.ClickHouse != nil && p.ClickHouse.Database != "" {
		apiEnv["CLICKHOUSE_DB"] = p.ClickHouse.Database
	}
	consumerEnv := map[string]string{"KAFKA_SESSION_TIMEOUT": "6s"}
	if p.ClickHouse != nil && p.ClickHouse.Database != "" {
		consumerEnv["CLICKHOUSE_DB"] = p.ClickHouse.Database
	}
	objs := opts.Objects
	if objs == nil {
		all, err := PlatformObjects()
		if err != nil {
			return nil, err
		}
		objs = LocalOverrides(all)
	}
	regions := []string{RegionPrimary}
	if regional(p) {
		regions = Regions
	}
	d.Supervisors = map[string]*Supervisor{}
	for _, region := range regions {
		k := p.KubeFor(region)
		sup, err := NewSupervisor(SupervisorOptions{
			Client:    k.Clientset,
			Namespace: k.Namespace,
			Workloads: []Workload{
				{Deployment: APIDeployment, Binary: apiBin, Env: apiEnv},
				{Deployment: ConsumerDeployment, Binary: consumerBin, Env: consumerEnv},
			},
			Services: regionServices(p, region),
			LogDir:   regionLogDir(logDir, region),
			Grace:    15 * time.Second,
			OnChange: func(in []Instance) { d.setRegionInstances(region, in) },
			Logger:   log.With("region", region),
		})
		if err != nil {
			return nil, err
		}
		what := "supervisor watching pods"
		if len(regions) > 1 {
			what += " in " + region + " (" + k.Context + ")"
		}
		if err := step(what, func() error { return sup.Start(ctx) }); err != nil {
			return nil, err
		}
		d.Supervisors[region] = sup
		if region == RegionPrimary {
			d.Supervisor = sup
		}
		robjs := objs
		if region != RegionPrimary {
			if robjs, err = StandbyOverrides(deepCopyObjects(objs)); err != nil {
				return nil, err
			}
		}
		what = "Deployments, HPA, PDBs and Services applied"
		if len(regions) > 1 {
			what += " in " + region
		}
		if err := step(what, func() error {
			return Apply(ctx, k.Clientset, robjs)
		}); err != nil {
			return nil, err
		}
	}
	sup := d.Supervisor
	if err := step("API instances ready behind HAProxy", func() error {
		return waitReady(ctx, sup, APIDeployment, 1, 60*time.Second)
	}); err != nil {
		return nil, err
	}

	if !opts.NoLoad && p.HAProxy != nil {
		lg, err := NewLoadGenerator(LoadOptions{
			URL:      "http://" + p.HAProxy.FrontendAddr,
			Sources:  DemoSources(),
			Settings: opts.Load,
			SetConsumerSlowdown: func(ctx context.Context, d time.Duration) error {
				return SetDeploymentEnv(ctx, p.Kube.Clientset, p.Kube.Namespace, ConsumerDeployment, SlowdownEnv(d))
			},
			Logger: log,
		})
		if err != nil {
			return nil, err
		}
		lg.Start()
		d.Load = lg
		addr := opts.ControlAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		mux := http.NewServeMux()
		mux.Handle("/", ControlHandler(lg, d.allInstances))
		faultRoutes(mux, p.Faults, p.Processes, sup)
		bound, err := ServeControl(runCtx, addr, mux)
		if err != nil {
			return nil, err
		}
		d.Endpoints.Control = "http://" + bound
		progress(fmt.Sprintf("load generator: %.0f events/s, control at http://%s", lg.Settings().Rate, bound), 0)
	}

	d.Context = ContextFor(p, filepath.Join(p.Dir, "backups"))
	d.Endpoints = d.endpoints(d.Endpoints.Control, logDir)
	if !opts.NoConfig {
		path := opts.ConfigPath
		if path == "" {
			path = config.DefaultPath()
		}
		if err := step("context "+ContextName+" written to "+path, func() error {
			return config.SaveContext(path, d.Context)
		}); err != nil {
			return nil, err
		}
		d.Endpoints.ConfigPath = path
	}
	return d, nil
}

// SlowBatchSize caps the records a slowed consumer takes per batch: a pause
// after a batch of everything available would not let lag build.
const SlowBatchSize = 20

// SlowdownEnv is the consumer env for a slowdown; 0 restores full speed.
func SlowdownEnv(d time.Duration) map[string]string {
	if d <= 0 {
		return map[string]string{"CONSUMER_SLOWDOWN": "", "BATCH_SIZE": ""}
	}
	return map[string]string{"CONSUMER_SLOWDOWN": d.String(), "BATCH_SIZE": strconv.Itoa(SlowBatchSize)}
}

// waitReady polls until n instances of a deployment are ready.
func waitReady(ctx context.Context, s *Supervisor, deployment string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, in := range s.Instances() {
			if in.Deployment == deployment && in.Ready {
				got++
			}
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d %s instances ready after %s (logs in %s)", got, n, deployment, timeout, s.opts.LogDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// servicesOf maps the cluster service names to the platform's local endpoints.
func servicesOf(p *local.Platform) ServiceMap {
	m := ServiceMap{}
	// Pods reach the stores through their fault proxies when there are any,
	// so a fault set on the control API is one the platform feels.
	via := func(proxy, addr string) string {
		if a, err := p.ProxyAddr(proxy); err == nil {
			return a
		}
		return addr
	}
	if p.Postgres != nil {
		m[SvcPostgres] = via("postgres-primary", p.Postgres.Primary.Addr())
		m[SvcPostgresStandby] = via("postgres-standby", p.Postgres.Standby.Addr())
	}
	if p.Redis != nil {
		m[SvcRedis] = via("redis-primary", p.Redis.Primary.Addr)
		m[SvcRedisReplica] = via("redis-replica", p.Redis.Replica.Addr)
	}
	if p.Kafka != nil && len(p.Kafka.Brokers) > 0 {
		m[SvcKafka] = p.Kafka.Brokers[0]
	}
	if p.ClickHouse != nil && len(p.ClickHouse.Replicas) > 0 {
		r := p.ClickHouse.Replicas[0]
		m[SvcClickHouse] = via("clickhouse-"+r.Shard+"-"+r.Name, r.NativeAddr)
	}
	return m
}

// syncTargets keeps Prometheus targets and HAProxy backends in step with
// every region's ready instances; each region's API instances go to its own
// backend behind the global frontend.
func (d *Demo) syncTargets(byRegion map[string][]Instance) {
	p := d.Platform
	regions := sortedRegions(byRegion)
	if p.Prometheus != nil {
		var targets []local.Target
		for _, region := range regions {
			for _, i := range byRegion[region] {
				labels := map[string]string{"pod": i.Pod, "deployment": i.Deployment, "node": i.Node, "namespace": Namespace}
				if sup := d.Supervisors[region]; sup != nil {
					for k, v := range sup.nodeLabels(i.Node) {
						labels[k] = v
					}
				}
				targets = append(targets, local.Target{Addr: i.Addr, Labels: labels})
			}
		}
		if d.Stores != nil && !d.storesOff.Load() {
			targets = append(targets, d.Stores.Targets()...)
		}
		if err := p.Prometheus.SetTargets(targets); err != nil {
			d.log.Warn("prometheus targets", "err", err)
		}
	}
	if p.HAProxy != nil {
		live := map[string]bool{}
		for _, region := range regions {
			lb := p.HAProxy.ForRegion(region)
			if lb == nil {
				// One cluster, one backend: the primary's instances are all.
				lb = p.HAProxy
			}
			var backends []local.Backend
			for _, i := range byRegion[region] {
				if i.Deployment == APIDeployment {
					backends = append(backends, local.Backend{Name: i.Pod, Addr: d.apiAddr(i, live)})
				}
			}
			if len(backends) > lb.Slots {
				d.log.Warn("more API instances than HAProxy slots; extra ones get no traffic", "region", region, "instances", len(backends), "slots", lb.Slots)
				backends = backends[:lb.Slots]
			}
			if err := lb.SetBackends(backends); err != nil {
				d.log.Warn("haproxy backends", "region", region, "err", err)
			}
		}
		d.dropAPIProxies(live)
	}
}

// nodeLabels are the region and zone of a node, as Prometheus labels.
func (s *Supervisor) nodeLabels(node string) map[string]string {
	if s.nodes == nil {
		return nil
	}
	n, err := s.nodes.Get(node)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	if v := n.Labels[local.LabelRegion]; v != "" {
		out["region"] = v
	}
	if v := n.Labels[local.LabelZone]; v != "" {
		out["zone"] = v
	}
	return out
}

// ContextFor builds the demo context: stores' primaries in region primary,
// their standby and replica in secondary. With a control plane per region
// each region names its own kubeconfig, context and load balancer backend.
// The services both regions share on one machine (Kafka, Prometheus,
// ClickHouse, and kube when there is one cluster) are listed once, in
// primary: listed twice, the console would count every pod twice.
func ContextFor(p *local.Platform, backupDir string) config.ContextConfig {
	kubeOf := func(k *local.KubeCluster) *config.KubeEndpoint {
		return &config.KubeEndpoint{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace}
	}
	shared := func(r *config.RegionConfig) {
		if p.Kube != nil {
			r.Kube = kubeOf(p.Kube)
		}
		if p.Kafka != nil {
			r.Kafka = &config.KafkaEndpoint{Brokers: p.Kafka.Brokers, Group: "wotr-consumer-group",
				Topics: []string{local.TopicIngestEvents, local.TopicDLQEvents}}
		}
		if p.Prometheus != nil {
			r.Prometheus = &config.PromEndpoint{URL: p.Prometheus.URL}
		}
		if p.ClickHouse != nil {
			ch := &config.CHEndpoint{Database: p.ClickHouse.Database}
			for _, rep := range p.ClickHouse.Replicas {
				ch.Addrs = append(ch.Addrs, rep.NativeAddr)
			}
			r.ClickHouse = ch
		}
		if p.HAProxy != nil {
			r.HAProxy = &config.HAProxyEndpoint{Socket: p.HAProxy.Socket, Backend: p.HAProxy.Backend, ActiveMap: p.HAProxy.ActiveMap}
		}
	}
	primary := config.RegionConfig{Name: RegionPrimary, Role: "primary"}
	secondary := config.RegionConfig{Name: RegionSecondary, Role: "secondary"}
	shared(&primary)
	if p.Kube != nil && regional(p) {
		primary.Kube = kubeOf(p.KubeFor(RegionPrimary))
		secondary.Kube = kubeOf(p.KubeFor(RegionSecondary))
	}
	if p.HAProxy != nil {
		if lb := p.HAProxy.ForRegion(RegionSecondary); lb != nil {
			secondary.HAProxy = &config.HAProxyEndpoint{Socket: lb.Socket, Backend: lb.Backend, ActiveMap: lb.ActiveMap}
		}
	}
	if pg := p.Postgres; pg != nil {
		primary.Postgres = &config.PostgresEndpoint{DSN: pgURL(pg, pg.Primary, pg.Superuser), QueryDSN: pgURL(pg, pg.Primary, local.PostgresRunbookUser), DataDir: pg.Primary.DataDir}
		secondary.Postgres = &config.PostgresEndpoint{DSN: pgURL(pg, pg.Standby, pg.Superuser), QueryDSN: pgURL(pg, pg.Standby, local.PostgresRunbookUser), DataDir: pg.Standby.DataDir}
	}
	if r := p.Redis; r != nil {
		primary.Redis = &config.RedisEndpoint{Addr: r.Primary.Addr}
		secondary.Redis = &config.RedisEndpoint{Addr: r.Replica.Addr}
	}
	return config.ContextConfig{Name: ContextName, BackupDir: backupDir, Regions: []config.RegionConfig{primary, secondary}}
}

func pgURL(pg *local.PostgresPair, s local.PostgresServer, user string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, pg.Password),
		Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + local.PostgresDatabase, RawQuery: "sslmode=disable"}
	return u.String()
}

func (d *Demo) endpoints(control, logDir string) Endpoints {
	p := d.Platform
	e := Endpoints{Context: ContextName, Kubeconfig: p.Kube.Kubeconfig, KubeContext: p.Kube.Context,
		Namespace: p.Kube.Namespace, Control: control, LogDir: logDir, Regions: map[string]RegionEndpoint{}}
	if p.Kafka != nil {
		e.Kafka = p.Kafka.Brokers
	}
	if p.Prometheus != nil {
		e.Prometheus = p.Prometheus.URL
	}
	prim, sec := RegionEndpoint{}, RegionEndpoint{}
	if p.Postgres != nil {
		prim.Postgres, sec.Postgres = p.Postgres.Primary.Addr(), p.Postgres.Standby.Addr()
	}
	if p.Redis != nil {
		prim.Redis, sec.Redis = p.Redis.Primary.Addr, p.Redis.Replica.Addr
	}
	for _, r := range []struct {
		name string
		ep   *RegionEndpoint
	}{{RegionPrimary, &prim}, {RegionSecondary, &sec}} {
		if k := p.KubeFor(r.name); k != nil && (regional(p) || r.name == RegionPrimary) {
			r.ep.Kubeconfig, r.ep.KubeContext = k.Kubeconfig, k.Context
		}
	}
	e.Regions[RegionPrimary], e.Regions[RegionSecondary] = prim, sec
	if p.ClickHouse != nil {
		for _, r := range p.ClickHouse.Replicas {
			e.ClickHouse = append(e.ClickHouse, r.NativeAddr)
		}
	}
	if p.HAProxy != nil {
		e.HAProxy = &HAProxyEndpoints{Frontend: p.HAProxy.FrontendAddr, Socket: p.HAProxy.Socket, Backend: p.HAProxy.Backend}
	}
	return e
}

// PIDs are the OS processes the demo runs: pod processes and, when the demo
// started the platform, its components.
func (d *Demo) PIDs() []int {
	var out []int
	for _, s := range d.Supervisors {
		out = append(out, s.PIDs()...)
	}
	if d.ownPlatform && d.Platform != nil {
		out = append(out, d.Platform.PIDs()...)
	}
	sort.Ints(out)
	return out
}

// Stop stops the load, drains every pod process, and stops the platform if
// the demo started it. Safe to call twice.
func (d *Demo) Stop() error {
	d.stopOnce.Do(func() {
		var errs []error
		if d.Load != nil {
			d.Load.Stop()
		}
		if d.cancel != nil {
			d.cancel()
		}
		t0 := time.Now()
		for _, region := range sortedRegions(d.Supervisors) {
			if err := d.Supervisors[region].Stop(); err != nil {
				errs = append(errs, fmt.Errorf("region %s: %w", region, err))
			}
		}
		if len(d.Supervisors) > 0 {
			d.log.Info("pod processes stopped", "took", time.Since(t0).Round(time.Millisecond))
		}
		if d.Stores != nil {
			// Its targets go with it: Prometheus keeps none of the demo's.
			d.storesOff.Store(true)
			if p := d.Platform; p != nil && p.Prometheus != nil {
				var keep []local.Target
				for _, tg := range p.Prometheus.Targets() {
					if tg.Addr != d.Stores.Addr {
						keep = append(keep, tg)
					}
				}
				if err := p.Prometheus.SetTargets(keep); err != nil {
					errs = append(errs, err)
				}
			}
			d.Stores.Stop()
		}
		if d.ownPlatform && d.Platform != nil {
			t0 := time.Now()
			if err := d.Platform.Stop(); err != nil {
				errs = append(errs, err)
			}
			d.log.Info("local platform stopped", "took", time.Since(t0).Round(time.Millisecond))
		}
		d.stopErr = errors.Join(errs...)
	})
	return d.stopErr
}

// ScaleDeployment sets a Deployment's replicas through the scale subresource.
func ScaleDeployment(ctx context.Context, p *local.Platform, name string, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("replicas %d: must not be negative", replicas)
	}
	c := p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace)
	sc, err := c.GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	sc.Spec.Replicas = replicas
	_, err = c.UpdateScale(ctx, name, sc, metav1.UpdateOptions{})
	return err
}

// apiProxyPrefix names the fault proxy in front of each API instance.
const apiProxyPrefix = "api-instance-"

// apiAddr is where the load balancer reaches an API instance: through its
// fault proxy when the platform has a fault layer, so the control API can
// slow, cut or reset one instance's traffic.
func (d *Demo) apiAddr(i Instance, live map[string]bool) string {
	f := d.Platform.Faults
	if f == nil {
		return i.Addr
	}
	name := apiProxyPrefix + i.Pod
	pr, err := f.Ensure(name, i.Addr)
	if err != nil {
		d.log.Warn("api instance proxy", "pod", i.Pod, "err", err)
		return i.Addr
	}
	live[name] = true
	return pr.Addr()
}

// dropAPIProxies closes the proxies of API instances that are gone.
func (d *Demo) dropAPIProxies(live map[string]bool) {
	f := d.Platform.Faults
	if f == nil {
		return
	}
	for _, n := range f.Names() {
		if strings.HasPrefix(n, apiProxyPrefix) && !live[n] {
			if err := f.Remove(n); err != nil {
				d.log.Warn("api instance proxy", "proxy", n, "err", err)
			}
		}
	}
}
