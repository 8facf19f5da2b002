package config

import (
	"sort"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// Config is $XDG_CONFIG_HOME/wotr/config.yaml: named contexts, like kubeconfig.
// A context names its regions; each region has its own endpoints so both
// regions show side by side and promote knows what to repoint.
type Config struct {
	CurrentContext string          `json:"current-context" yaml:"current-context"`
	Contexts       []ContextConfig `json:"contexts" yaml:"contexts"`
}

// ContextConfig is one platform installation.
type ContextConfig struct {
	Name     string `json:"name" yaml:"name"`
	ReadOnly bool   `json:"read-only,omitempty" yaml:"read-only,omitempty"`
	// HeaderColor is the console header's background for this context (a
	// colour name, #rrggbb or an ANSI number 0-255), e.g. red for production.
	HeaderColor string `json:"header-color,omitempty" yaml:"header-color,omitempty"`
	// AuditLog path; default $XDG_STATE_HOME/wotr/audit.jsonl.
	AuditLog string `json:"audit-log,omitempty" yaml:"audit-log,omitempty"`
	// BackupDir where backups of the stores are written.
	BackupDir string         `json:"backup-dir,omitempty" yaml:"backup-dir,omitempty"`
	Regions   []RegionConfig `json:"regions" yaml:"regions"`
	// Thresholds override the health table (ops/health) for this context,
	// by key: replication-lag: {warn: 10s, crit: 2m}.
	Thresholds map[string]ThresholdOverride `json:"thresholds,omitempty" yaml:"thresholds,omitempty"`
	// Source is the file the context was loaded from (set by LoadConfig, never
	// written): an action that changes the context, like promote's new
	// region roles, saves it there.
	Source string `json:"-" yaml:"-"`
}

// ThresholdOverride replaces a threshold's warn and/or crit; a value left
// out keeps the default. Seconds are durations ("5s") or numbers, fractions
// numbers ("0.8") or percentages ("80%").
type ThresholdOverride struct {
	Warn string `json:"warn,omitempty" yaml:"warn,omitempty"`
	Crit string `json:"crit,omitempty" yaml:"crit,omitempty"`
}

// Health is the table in force for the context: the defaults overlaid with
// its overrides. Load has rejected bad overrides; one that slipped past (a
// context built in code) is ignored rather than half applied.
func (c *ContextConfig) Health() health.Thresholds {
	th := health.Defaults()
	for _, name := range sortedKeys(c.Thresholds) {
		o := c.Thresholds[name]
		_ = th.Override(name, o.Warn, o.Crit)
	}
	return th
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RegionConfig holds one region's endpoints. Empty sections are not polled.
type RegionConfig struct {
	Name       string            `json:"name" yaml:"name"`
	Role       state.Role        `json:"role" yaml:"role"`
	Kube       *KubeEndpoint     `json:"kube,omitempty" yaml:"kube,omitempty"`
	Kafka      *KafkaEndpoint    `json:"kafka,omitempty" yaml:"kafka,omitempty"`
	Prometheus *PromEndpoint     `json:"prometheus,omitempty" yaml:"prometheus,omitempty"`
	Postgres   *PostgresEndpoint `json:"postgres,omitempty" yaml:"postgres,omitempty"`
	Redis      *RedisEndpoint    `json:"redis,omitempty" yaml:"redis,omitempty"`
	ClickHouse *CHEndpoint       `json:"clickhouse,omitempty" yaml:"clickhouse,omitempty"`
	HAProxy    *HAProxyEndpoint  `json:"haproxy,omitempty" yaml:"haproxy,omitempty"`
}

type KubeEndpoint struct {
	Kubeconfig string `json:"kubeconfig" yaml:"kubeconfig"`
	Context    string `json:"context,omitempty" yaml:"context,omitempty"`
	Namespace  string `json:"namespace" yaml:"namespace"`
}

type KafkaEndpoint struct {
	Brokers []string `json:"brokers" yaml:"brokers"`
	Group   string   `json:"group,omitempty" yaml:"group,omitempty"` // default wotr-consumer-group
	Topics  []string `json:"topics,omitempty" yaml:"topics,omitempty"`
}

type PromEndpoint struct {
	URL string `json:"url" yaml:"url"`
}

// PostgresEndpoint: DSN and QueryDSN are secret and never printed unmasked.
type PostgresEndpoint struct {
	DSN string `json:"dsn" yaml:"dsn"`
	// QueryDSN connects runbook sql: steps as a read-only role (see
	// ops/runbook/runbooks/README.md); empty: DSN, with the same guards.
	QueryDSN string `json:"query-dsn,omitempty" yaml:"query-dsn,omitempty"`
	// DataDir and BinDir are set for local installations (backup, promote fencing).
	DataDir string `json:"data-dir,omitempty" yaml:"data-dir,omitempty"`
}

type RedisEndpoint struct {
	Addr     string `json:"addr" yaml:"addr"`
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
}

type CHEndpoint struct {
	Addrs    []string `json:"addrs" yaml:"addrs"` // native protocol host:port, one per replica
	Database string   `json:"database,omitempty" yaml:"database,omitempty"`
	User     string   `json:"user,omitempty" yaml:"user,omitempty"`
	Password string   `json:"password,omitempty" yaml:"password,omitempty"`
}

type HAProxyEndpoint struct {
	Socket  string `json:"socket" yaml:"socket"` // runtime API unix socket
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"`
	// ActiveMap is the map file whose "active" key names the backend a
	// global frontend sends traffic to; a cross-region promote switches it.
	ActiveMap string `json:"activeMap,omitempty" yaml:"activeMap,omitempty"`
}
