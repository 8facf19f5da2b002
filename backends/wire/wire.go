// Package wire opens the backend clients a context's config names and hands
// them to the collector as ops capabilities.
package wire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wotr/wotr-tui/backends/clickhouse"
	"github.com/wotr/wotr-tui/backends/kafka"
	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/backends/prom"
	"github.com/wotr/wotr-tui/backends/redis"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// Capability names, used to open only what a command needs.
const (
	CapKube        = "kube"
	CapKafka       = "kafka"
	CapLoad        = "load" // Prometheus, or /metrics scraping
	CapReplication = "replication"
	CapPools       = "pools"
	CapBackups     = "backups"
)

// AllCaps opens everything.
var AllCaps = []string{CapKube, CapKafka, CapLoad, CapReplication, CapPools, CapBackups}

// Sources opens clients for ctx's regions limited to caps (all when empty).
// Connections are lazy: an unreachable endpoint shows up when polled, as a
// failed source; only invalid configuration fails here. close releases every
// client.
func Sources(ctx context.Context, cc config.ContextConfig, caps ...string) (rs []collect.RegionSources, close func(), err error) {
	if len(caps) == 0 {
		caps = AllCaps
	}
	want := map[string]bool{}
	for _, c := range caps {
		want[c] = true
	}
	var closers []func()
	close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			close()
		}
	}()
	for _, r := range cc.Regions {
		s := collect.RegionSources{Region: r.Name, Role: r.Role}
		fail := func(what string, e error) error { return fmt.Errorf("region %s: %s: %w", r.Name, what, e) }
		if r.Kube != nil && (want[CapKube] || want[CapLoad] || want[CapPools]) {
			k, e := kube.New(*r.Kube)
			if e != nil {
				return nil, close, fail("kube", e)
			}
			if want[CapKube] || want[CapLoad] || want[CapPools] {
				s.Instances = k
			}
			if want[CapKube] || want[CapPools] {
				s.Deployments = k
			}
			if want[CapKube] {
				s.Nodes = k
			}
		}
		if r.Kafka != nil && want[CapKafka] {
			k, e := kafka.New(*r.Kafka)
			if e != nil {
				return nil, close, fail("kafka", e)
			}
			closers = append(closers, k.Close)
			s.Kafka = k
		}
		if want[CapLoad] || want[CapPools] {
			if r.Prometheus != nil {
				p, e := prom.New(*r.Prometheus)
				if e != nil {
					return nil, close, fail("prometheus", e)
				}
				s.Metrics = p
			} else {
				s.Scraper = prom.NewScraper(3 * time.Second)
			}
		}
		if r.Postgres != nil && (want[CapReplication] || want[CapPools]) {
			p, e := postgres.New(ctx, *r.Postgres, r.Name)
			if e != nil {
				return nil, close, fail("postgres", e)
			}
			closers = append(closers, p.Close)
			if want[CapReplication] {
				s.PGReplication = p
			}
			if want[CapPools] {
				s.PGPool = p
			}
		}
		if r.Redis != nil && (want[CapReplication] || want[CapPools]) {
			c, e := redis.New(*r.Redis, r.Name)
			if e != nil {
				return nil, close, fail("redis", e)
			}
			closers = append(closers, func() { _ = c.Close() })
			if want[CapReplication] {
				s.RedisReplication = c
			}
			if want[CapPools] {
				s.RedisPool = c
			}
		}
		var ch *clickhouse.Client
		if r.ClickHouse != nil && (want[CapReplication] || want[CapBackups]) {
			c, e := clickhouse.New(*r.ClickHouse)
			if e != nil {
				return nil, close, fail("clickhouse", e)
			}
			closers = append(closers, c.Close)
			ch = c
			if want[CapReplication] {
				s.CHReplicas = c
			}
		}
		if want[CapBackups] && (r.Role == "primary" || len(cc.Regions) == 1) {
			s.Backups = backupLister(cc, ch)
		}
		rs = append(rs, s)
	}
	return rs, close, nil
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

// NewCollector opens sources and builds a collector for the context.
func NewCollector(ctx context.Context, cc config.ContextConfig, opts collect.Options, caps ...string) (*collect.Collector, func(), error) {
	rs, closeAll, err := Sources(ctx, cc, caps...)
	if err != nil {
		return nil, closeAll, err
	}
	if opts.Context == "" {
		opts.Context = cc.Name
	}
	return collect.New(opts, rs...), closeAll, nil
}
