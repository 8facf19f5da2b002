package collect

import (
	"context"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// InstanceLister lists API and consumer pods (labels app=wotr-api /
// wotr-consumer) with node, zone, readiness, requests/limits and the
// host:port of their /metrics. Load figures are filled in by the collector.
type InstanceLister interface {
	ListInstances(ctx context.Context) ([]state.Instance, error)
}

// DeploymentReader lists deployments with the HPA that owns each.
type DeploymentReader interface {
	ReadDeployments(ctx context.Context) ([]state.Deployment, error)
}

// NodeReader lists nodes with readiness, cordon state, pod count, zone/region.
type NodeReader interface {
	ReadNodes(ctx context.Context) ([]state.Node, error)
}

// KafkaReader reads brokers, topics and, per group, members and committed and
// end offsets per partition. Rates, lag seconds, ETA and statuses are derived
// by the collector from successive reads.
type KafkaReader interface {
	ReadKafka(ctx context.Context) (state.KafkaState, error)
}

// MetricsQuerier runs a PromQL instant query returning a vector (Sample and
// PromQuerier are declared with the runbook steps; the metric name of a
// sample is its "__name__" label).
type MetricsQuerier = state.PromQuerier

// HistoryQuerier runs a PromQL range query, one series per label set.
type HistoryQuerier interface {
	QueryRangeSeries(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]state.RangeSeries, error)
}

// MetricsScraper reads one instance's /metrics page at addr (host:port):
// one Sample per line, the name in "__name__", histogram buckets as
// <name>_bucket with "le".
type MetricsScraper interface {
	Scrape(ctx context.Context, addr string) ([]state.Sample, error)
}

// PGReplicationReader reports standbys: a primary from pg_stat_replication,
// a standby about itself (pg_last_xact_replay_timestamp, replay paused).
type PGReplicationReader interface {
	ReadPGReplication(ctx context.Context) ([]state.PGStandby, error)
}

// CHReplicaReader reads system.replicas of every replica.
type CHReplicaReader interface {
	ReadCHReplicas(ctx context.Context) ([]state.CHReplica, error)
}

// RedisReplicationReader reads INFO replication.
type RedisReplicationReader interface {
	ReadRedisReplication(ctx context.Context) ([]state.RedisReplica, error)
}

// PoolReader reads the server side of a store's connections: open
// connections by application against the server's limit (max_connections,
// maxclients).
type PoolReader interface {
	ReadStorePool(ctx context.Context) (state.StorePool, error)
}

// AlertReader reads the alerts a Prometheus evaluates (firing and pending).
type AlertReader interface {
	ReadAlerts(ctx context.Context) ([]state.Alert, error)
}

// BackupLister lists backups, newest first.
type BackupLister interface {
	ListBackups(ctx context.Context) ([]state.Backup, error)
}

// BackupListerFunc adapts a function to BackupLister.
type BackupListerFunc func(ctx context.Context) ([]state.Backup, error)

// ListBackups calls f.
func (f BackupListerFunc) ListBackups(ctx context.Context) ([]state.Backup, error) { return f(ctx) }

// RegionSources are the sources of one region; nil ones are not polled.
type RegionSources struct {
	Region string
	Role   state.Role

	Instances   InstanceLister
	Deployments DeploymentReader
	Nodes       NodeReader
	Kafka       KafkaReader
	// Metrics is Prometheus; without it, instances' /metrics are scraped with Scraper.
	Metrics MetricsQuerier
	Scraper MetricsScraper
	// History backfills the console's series from Prometheus range queries.
	History HistoryQuerier

	PGReplication    PGReplicationReader
	PGPool           PoolReader
	CHReplicas       CHReplicaReader
	RedisReplication RedisReplicationReader
	RedisPool        PoolReader
	Backups          BackupLister
	Alerts           AlertReader
}
