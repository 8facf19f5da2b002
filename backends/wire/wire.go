// Package wire is the composition root: it opens the backend clients a
// context's config names, once per region, and hands them to the collector,
// the actions and the runbooks as ops capabilities.
package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/backends/clickhouse"
	"github.com/wotr/wotr-tui/backends/haproxy"
	"github.com/wotr/wotr-tui/backends/kafka"
	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/backends/prom"
	"github.com/wotr/wotr-tui/backends/redis"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ops/state"
)

// Capability names, used to poll only what a command needs.
const (
	CapKube        = "kube"
	CapKafka       = "kafka"
	CapLoad        = "load" // Prometheus, or /metrics scraping
	CapReplication = "replication"
	CapPools       = "pools"
	CapBackups     = "backups"
	CapHistory     = "history" // Prometheus range queries behind the console's history
)

// AllCaps polls everything.
var AllCaps = []string{CapKube, CapKafka, CapLoad, CapReplication, CapPools, CapBackups, CapHistory}

// The /metrics scraper of a region without Prometheus is a client like the
// systems' own.
const systemScraper state.System = "scraper"

// Platform holds one context's clients. Each is opened on first use, once per
// region and system, and shared by everything Platform hands out: a console
// with a runbook open holds one PostgreSQL pool per region, not three.
// Connections are lazy: an unreachable endpoint shows up when used; only
// invalid configuration fails when a client is opened.
type Platform struct {
	cc     config.ContextConfig
	ctx    context.Context
	onOpen func(system, region string)

	mu      sync.Mutex
	clients map[string]any
	closers []func()
	closed  bool
	actions *action.Service
}

// Option tunes Open.
type Option func(*Platform)

// OnOpen calls f each time a client is opened (tests count them).
func OnOpen(f func(system, region string)) Option { return func(p *Platform) { p.onOpen = f } }

// Open returns the platform of cc; nothing is opened yet. Close releases
// every client it opened.
func Open(ctx context.Context, cc config.ContextConfig, opts ...Option) *Platform {
	// Pools outlive the call that first asks for them.
	p := &Platform{cc: cc, ctx: context.WithoutCancel(ctx), clients: map[string]any{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Config is the context the platform was opened for.
func (p *Platform) Config() config.ContextConfig { return p.cc }

// Close closes every client, last opened first. The platform hands out
// nothing afterwards.
func (p *Platform) Close() {
	p.mu.Lock()
	closers := p.closers
	p.closers, p.closed = nil, true
	p.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// Client is region r's client of system, opened once; it implements
// action.Backends. A system r does not configure has no client (nil, nil).
func (p *Platform) Client(system state.System, r config.RegionConfig) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("wire: platform is closed")
	}
	key := string(system) + "/" + r.Name
	if c, ok := p.clients[key]; ok {
		return c, nil
	}
	c, closeFn, err := p.open(system, r)
	if err != nil || c == nil {
		return nil, err
	}
	if p.onOpen != nil {
		p.onOpen(string(system), r.Name)
	}
	p.clients[key] = c
	if closeFn != nil {
		p.closers = append(p.closers, closeFn)
	}
	return c, nil
}

func (p *Platform) open(system state.System, r config.RegionConfig) (any, func(), error) {
	switch system {
	case state.SystemKube:
		if r.Kube != nil {
			c, err := kube.New(*r.Kube)
			if err != nil {
				return nil, nil, err
			}
			return c, c.Close, nil
		}
	case state.SystemKafka:
		if r.Kafka != nil {
			c, err := kafka.New(*r.Kafka)
			if err != nil {
				return nil, nil, err
			}
			return c, c.Close, nil
		}
	case state.SystemPostgres:
		if r.Postgres != nil {
			c, err := postgres.New(p.ctx, *r.Postgres, r.Name)
			if err != nil {
				return nil, nil, err
			}
			return c, c.Close, nil
		}
	case state.SystemRedis:
		if r.Redis != nil {
			c, err := redis.New(*r.Redis, r.Name)
			if err != nil {
				return nil, nil, err
			}
			return c, func() { _ = c.Close() }, nil
		}
	case state.SystemClickHouse:
		if r.ClickHouse != nil {
			c, err := clickhouse.New(*r.ClickHouse)
			if err != nil {
				return nil, nil, err
			}
			return c, c.Close, nil
		}
	case state.SystemPrometheus:
		if r.Prometheus != nil {
			c, err := prom.New(*r.Prometheus)
			return nilIfErr(c, err), nil, err
		}
	case state.SystemHAProxy:
		if r.HAProxy != nil {
			c, err := haproxy.New(*r.HAProxy)
			return nilIfErr(c, err), nil, err
		}
	case systemScraper:
		return prom.NewScraper(3 * time.Second), nil, nil
	default:
		return nil, nil, fmt.Errorf("wire: unknown system %q", system)
	}
	return nil, nil, nil
}

// nilIfErr keeps a typed nil out of an interface.
func nilIfErr[T any](c *T, err error) any {
	if err != nil || c == nil {
		return nil
	}
	return c
}

// client is Client typed; the zero value when r does not configure system.
func client[T any](p *Platform, system state.System, r config.RegionConfig) (T, error) {
	var zero T
	c, err := p.Client(system, r)
	if err != nil || c == nil {
		return zero, err
	}
	return c.(T), nil
}

// Sources are the collector's sources of every region, limited to caps (all
// when empty).
func (p *Platform) Sources(caps ...string) ([]collect.RegionSources, error) {
	if len(caps) == 0 {
		caps = AllCaps
	}
	want := map[string]bool{}
	for _, c := range caps {
		want[c] = true
	}
	var rs []collect.RegionSources
	for _, r := range p.cc.Regions {
		s := collect.RegionSources{Region: r.Name, Role: r.Role}
		fail := func(what state.System, e error) error { return fmt.Errorf("region %s: %s: %w", r.Name, what, e) }
		if want[CapKube] || want[CapLoad] || want[CapPools] {
			k, err := client[*kube.Client](p, state.SystemKube, r)
			if err != nil {
				return nil, fail(state.SystemKube, err)
			}
			if k != nil {
				s.Instances = k
				if want[CapKube] || want[CapPools] {
					s.Deployments = k
				}
				if want[CapKube] {
					s.Nodes = k
				}
			}
		}
		if want[CapKafka] {
			k, err := client[*kafka.Client](p, state.SystemKafka, r)
			if err != nil {
				return nil, fail(state.SystemKafka, err)
			}
			if k != nil {
				s.Kafka = k
			}
		}
		if want[CapLoad] || want[CapPools] {
			if r.Prometheus != nil {
				m, err := client[*prom.Client](p, state.SystemPrometheus, r)
				if err != nil {
					return nil, fail("prometheus", err)
				}
				s.Metrics = m
				s.Alerts = m
			} else {
				sc, err := client[*prom.Scraper](p, systemScraper, r)
				if err != nil {
					return nil, fail("metrics", err)
				}
				s.Scraper = sc
			}
		}
		if want[CapHistory] && r.Prometheus != nil {
			m, err := client[*prom.Client](p, state.SystemPrometheus, r)
			if err != nil {
				return nil, fail("prometheus", err)
			}
			s.History = m
		}
		if want[CapReplication] || want[CapPools] {
			pg, err := client[*postgres.Client](p, state.SystemPostgres, r)
			if err != nil {
				return nil, fail(state.SystemPostgres, err)
			}
			if pg != nil {
				if want[CapReplication] {
					s.PGReplication = pg
				}
				if want[CapPools] {
					s.PGPool = pg
				}
			}
			rd, err := client[*redis.Client](p, state.SystemRedis, r)
			if err != nil {
				return nil, fail(state.SystemRedis, err)
			}
			if rd != nil {
				if want[CapReplication] {
					s.RedisReplication = rd
				}
				if want[CapPools] {
					s.RedisPool = rd
				}
			}
		}
		var ch *clickhouse.Client
		if want[CapReplication] || want[CapBackups] {
			c, err := client[*clickhouse.Client](p, state.SystemClickHouse, r)
			if err != nil {
				return nil, fail(state.SystemClickHouse, err)
			}
			ch = c
			if c != nil && want[CapReplication] {
				s.CHReplicas = c
			}
		}
		if want[CapBackups] && (r.Role == state.RolePrimary || len(p.cc.Regions) == 1) {
			s.Backups = backupLister(p.cc, ch)
		}
		rs = append(rs, s)
	}
	return rs, nil
}

// backupLister reads the backup catalog the backup action writes, plus the
// ClickHouse server's own system.backups where the server has it.
func backupLister(cc config.ContextConfig, ch *clickhouse.Client) collect.BackupLister {
	dir := backup.Dir(cc)
	return collect.BackupListerFunc(func(ctx context.Context) ([]state.Backup, error) {
		out, err := backup.List(dir)
		if err != nil {
			return nil, err
		}
		if ch != nil {
			server, e := ch.ListBackups(ctx)
			if e != nil {
				return out, errors.Join(err, e)
			}
			out = append(out, server...)
		}
		return out, nil
	})
}

// Collector is a collector over Sources(caps...); opts.Context defaults to
// the context's name.
func (p *Platform) Collector(opts collect.Options, caps ...string) (*collect.Collector, error) {
	rs, err := p.Sources(caps...)
	if err != nil {
		return nil, err
	}
	if opts.Context == "" {
		opts.Context = p.cc.Name
	}
	return collect.New(opts, rs...), nil
}

// Actions is the context's action service over the platform's clients.
func (p *Platform) Actions() *action.Service {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.actions == nil {
		p.actions = action.NewService(p.cc, p)
	}
	return p.actions
}

var _ action.Backends = (*Platform)(nil)

// RunbookEnv is what runbook steps read: a collector over every source (one
// fresh snapshot per Collect); every region's SQL stores as
// "postgres@REGION" and "clickhouse@REGION", with "postgres" following the
// writable server and "clickhouse" the primary's; and the primary region's
// Prometheus, Kubernetes and HAProxy. Actions go through Actions(), which
// refuses them in a read-only context. Missing endpoints leave their steps erroring with
// "not configured"; prompts and progress are the caller's.
func (p *Platform) RunbookEnv() (runbook.Env, error) {
	th := p.cc.Health()
	env := runbook.Env{Context: p.cc.Name, SQL: map[string]runbook.SQLQuerier{}, Thresholds: &th}
	col, err := p.Collector(collect.Options{})
	if err != nil {
		return runbook.Env{}, err
	}
	env.Collect = runbook.CollectFrom(col)
	var pgs runbook.WritableSQL
	for _, r := range p.cc.RegionsPrimaryFirst() {
		pg, err := client[*postgres.Client](p, state.SystemPostgres, r)
		if err != nil {
			return runbook.Env{}, err
		}
		if pg != nil {
			env.SQL["postgres@"+r.Name] = pg
			pgs = append(pgs, pg)
		}
		ch, err := client[*clickhouse.Client](p, state.SystemClickHouse, r)
		if err != nil {
			return runbook.Env{}, err
		}
		if ch != nil {
			env.SQL["clickhouse@"+r.Name] = ch
			if env.SQL[string(state.SystemClickHouse)] == nil {
				env.SQL[string(state.SystemClickHouse)] = ch
			}
		}
	}
	if len(pgs) > 0 {
		env.SQL[string(state.SystemPostgres)] = pgs
	}
	// A context without a primary role reads the first region.
	primary := p.cc.Primary()
	if primary == nil && len(p.cc.Regions) > 0 {
		primary = &p.cc.Regions[0]
	}
	if primary != nil {
		if env.Prom, err = promQuerier(p, *primary); err != nil {
			return runbook.Env{}, err
		}
		k, err := client[*kube.Client](p, state.SystemKube, *primary)
		if err != nil {
			return runbook.Env{}, err
		}
		if k != nil {
			env.Kube = k
		}
		lb, err := client[*haproxy.Client](p, state.SystemHAProxy, *primary)
		if err != nil {
			return runbook.Env{}, err
		}
		if lb != nil {
			env.LB = lb
		}
	}
	// Always the action service: it is the one place that refuses a
	// read-only context, so action steps come back refused (exit 3).
	env.Actor = p.Actions()
	return env, nil
}

// promQuerier keeps a region without Prometheus a nil interface.
func promQuerier(p *Platform, r config.RegionConfig) (state.PromQuerier, error) {
	c, err := client[*prom.Client](p, state.SystemPrometheus, r)
	if err != nil || c == nil {
		return nil, err
	}
	return c, nil
}

// Inspector reads pod logs and events of every region with a cluster, the
// primary first.
func (p *Platform) Inspector() *inspect.Service {
	var regions []inspect.Region
	for _, r := range p.cc.RegionsPrimaryFirst() {
		if r.Kube == nil {
			continue
		}
		k, err := client[*kube.Client](p, state.SystemKube, r)
		if err != nil || k == nil {
			continue
		}
		regions = append(regions, inspect.Region{Name: r.Name, Logs: k, Events: k, Deployments: k})
	}
	return inspect.NewService(regions...)
}
