package state

import (
	"time"
)

// Meta travels with every collected value: where it came from and how old it is.
type Meta struct {
	Source    string    `json:"source"`               // e.g. "kube", "kafka", "prom", "postgres:primary"
	FetchedAt time.Time `json:"fetchedAt"`            // when the last good value was read
	Stale     bool      `json:"stale"`                // last poll failed; value is the last good one
	Error     string    `json:"error,omitempty"`      // last poll error
	Region    string    `json:"region,omitempty"`     // region the source belongs to
	Duration  float64   `json:"durationMs,omitempty"` // duration of the last poll
}

// Age of the value at now.
func (m Meta) Age(now time.Time) time.Duration {
	if m.FetchedAt.IsZero() {
		return 0
	}
	return now.Sub(m.FetchedAt)
}

// Snapshot is one consistent picture of a context (all regions).
type Snapshot struct {
	Context     string       `json:"context"`
	TakenAt     time.Time    `json:"takenAt"`
	Regions     []Region     `json:"regions"`
	Instances   []Instance   `json:"instances"`
	Deployments []Deployment `json:"deployments"`
	Nodes       []Node       `json:"nodes"`
	Kafka       KafkaState   `json:"kafka"`
	Replication Replication  `json:"replication"`
	Pools       Pools        `json:"pools"`
	Backups     []Backup     `json:"backups"`
	// Alerts firing or pending on the regions' Prometheus.
	Alerts []Alert `json:"alerts,omitempty"`
	// Sources lists every source polled, with its status, for badges and exit codes.
	Sources []Meta `json:"sources"`
}

// Instance is one API (or consumer) process / pod.
type Instance struct {
	Meta
	Pod        string  `json:"pod"`
	Deployment string  `json:"deployment"`
	Node       string  `json:"node"`
	Zone       string  `json:"zone"`
	Address    string  `json:"address"` // host:port of its /metrics
	Ready      bool    `json:"ready"`
	RPS        float64 `json:"rps"`
	P50        float64 `json:"p50Seconds"`
	P99        float64 `json:"p99Seconds"`
	ErrorRate  float64 `json:"errorRate"` // fraction of requests answered 5xx
	LoadShare  float64 `json:"loadShare"` // fraction of total RPS
	CPU        float64 `json:"cpuCores"`
	CPURequest float64 `json:"cpuRequestCores"`
	CPULimit   float64 `json:"cpuLimitCores"`
	Memory     float64 `json:"memoryBytes"`
	MemRequest float64 `json:"memoryRequestBytes"`
	MemLimit   float64 `json:"memoryLimitBytes"`
}

// Deployment with its HPA, when one owns it.
type Deployment struct {
	Meta
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Desired   int32  `json:"desired"`
	Current   int32  `json:"current"`
	Ready     int32  `json:"ready"`
	Updated   int32  `json:"updated"`
	HPA       *HPA   `json:"hpa,omitempty"`
	// MaxSurge of the rolling update as written ("25%" or "1"); counts in the connection budget.
	MaxSurge string `json:"maxSurge,omitempty"`
}

// HPA bounds, targets and the last scale event.
type HPA struct {
	Name          string      `json:"name"`
	Min           int32       `json:"min"`
	Max           int32       `json:"max"`
	Desired       int32       `json:"desired"`
	Current       int32       `json:"current"`
	Metrics       []HPAMetric `json:"metrics"`
	LastScaleTime time.Time   `json:"lastScaleTime,omitempty"`
}

// HPAMetric is one target of an HPA against its current value.
type HPAMetric struct {
	Name    string `json:"name"`    // "cpu", "memory", "http_requests_per_second"
	Target  string `json:"target"`  // "70%", "1000"
	Current string `json:"current"` // "" when unknown
}

// Node of the cluster.
type Node struct {
	Meta
	Name      string  `json:"name"`
	Ready     bool    `json:"ready"`
	Cordoned  bool    `json:"cordoned"`
	Pods      int     `json:"pods"`
	Zone      string  `json:"zone"`
	Region    string  `json:"region"`
	CPUAlloc  float64 `json:"cpuAllocatableCores"`
	CPUReq    float64 `json:"cpuRequestedCores"`
	PodsAlloc int     `json:"podsAllocatable"`
}

// KafkaState: brokers, topics, groups.
type KafkaState struct {
	Meta
	Brokers []Broker `json:"brokers"`
	Topics  []Topic  `json:"topics"`
	Groups  []Group  `json:"groups"`
	// RoundTrips made by the last collection (measured, for the bench report).
	RoundTrips int `json:"roundTrips"`
}

type Broker struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
}

type Topic struct {
	Name       string `json:"name"`
	Partitions int32  `json:"partitions"`
	Replicas   int    `json:"replicationFactor"`
	// ProduceRate in records/s, from end-offset deltas between polls.
	ProduceRate float64 `json:"produceRate"`
}

// Status follows Burrow's evaluation rules.
type Status string

const (
	StatusOK     Status = "OK"
	StatusWarn   Status = "WARN"
	StatusStall  Status = "STALL"
	StatusStop   Status = "STOP"
	StatusRewind Status = "REWIND"
	StatusErr    Status = "ERR"
)

// Severity orders statuses, worst highest.
func (s Status) Severity() int {
	switch s {
	case StatusOK:
		return 0
	case StatusWarn:
		return 1
	case StatusRewind:
		return 2
	case StatusStall:
		return 3
	case StatusStop:
		return 4
	case StatusErr:
		return 5
	}
	return 0
}

type Group struct {
	Name       string         `json:"name"`
	State      string         `json:"state"` // Stable, PreparingRebalance, Empty, Dead, ...
	Protocol   string         `json:"protocol"`
	Members    []GroupMember  `json:"members"`
	Partitions []PartitionLag `json:"partitions"`
	TotalLag   int64          `json:"totalLag"`
	LagSeconds float64        `json:"lagSeconds"`     // estimated from produce rate
	ETASeconds float64        `json:"catchUpSeconds"` // -1 when not catching up
	Status     Status         `json:"status"`
	// LagState is "caught up", "steady", "falling behind" or "catching up"
	// (ops/lagstate), judged with hysteresis from the rates below.
	LagState    string  `json:"lagState"`
	ProduceRate float64 `json:"produceRate"` // records/s into the group's partitions
	ConsumeRate float64 `json:"consumeRate"` // records/s committed by the group
}

type GroupMember struct {
	ID       string   `json:"id"`
	ClientID string   `json:"clientId"`
	Host     string   `json:"host"`
	Assigned []string `json:"assigned"` // "topic/partition"
}

type PartitionLag struct {
	Topic      string  `json:"topic"`
	Partition  int32   `json:"partition"`
	Committed  int64   `json:"committed"` // -1 when nothing committed
	End        int64   `json:"end"`
	Lag        int64   `json:"lag"`
	LagSeconds float64 `json:"lagSeconds"`
	Member     string  `json:"member,omitempty"`
	Status     Status  `json:"status"`
}

// Replication of every store, normalised to seconds where possible.
type Replication struct {
	Postgres   []PGStandby    `json:"postgres"`
	ClickHouse []CHReplica    `json:"clickhouse"`
	Redis      []RedisReplica `json:"redis"`
}

type PGStandby struct {
	Meta
	Name             string    `json:"name"` // application_name or region
	State            string    `json:"state"`
	SentLagBytes     int64     `json:"sentLagBytes"`
	WriteLagBytes    int64     `json:"writeLagBytes"`
	FlushLagBytes    int64     `json:"flushLagBytes"`
	ReplayLagBytes   int64     `json:"replayLagBytes"`
	WriteLagSeconds  float64   `json:"writeLagSeconds"`
	FlushLagSeconds  float64   `json:"flushLagSeconds"`
	ReplayLagSeconds float64   `json:"replayLagSeconds"`
	LastReplay       time.Time `json:"lastReplay,omitempty"`
	ReplayPaused     bool      `json:"replayPaused"`
	// Self: the standby's own report (else a primary's view of it).
	Self bool `json:"self,omitempty"`
}

type CHReplica struct {
	Meta
	Replica        string  `json:"replica"`
	Database       string  `json:"database"`
	Table          string  `json:"table"`
	IsLeader       bool    `json:"isLeader"`
	IsReadonly     bool    `json:"isReadonly"`
	SessionExpired bool    `json:"isSessionExpired"`
	AbsoluteDelay  float64 `json:"absoluteDelaySeconds"`
	QueueSize      int     `json:"queueSize"`
	InsertsInQueue int     `json:"insertsInQueue"`
}

type RedisReplica struct {
	Meta
	Name       string  `json:"name"`
	LinkStatus string  `json:"linkStatus"` // up/down
	OffsetLag  int64   `json:"offsetLagBytes"`
	LagSeconds float64 `json:"lagSeconds"` // seconds since last interaction with the primary
	// Self: the replica's own report (else the primary's view of it).
	Self bool `json:"self,omitempty"`
}

// Pools per instance and per store, with the connection budget.
type Pools struct {
	Instances []InstancePools `json:"instances"`
	Stores    []StorePool     `json:"stores"`
	Budget    []Budget        `json:"budget"`
}

type InstancePools struct {
	Pod   string `json:"pod"`
	Pools []Pool `json:"pools"`
}

type Pool struct {
	Store     System  `json:"store"` // postgres, clickhouse, redis, kafka
	Size      float64 `json:"size"`  // max
	InUse     float64 `json:"inUse"`
	Available float64 `json:"available"`
	Waits     float64 `json:"waits"` // acquires that had to wait, cumulative
}

// Utilization = in use / size (the scaling guide's PromQL).
func (p Pool) Utilization() float64 {
	if p.Size == 0 {
		return 0
	}
	return p.InUse / p.Size
}

// StorePool is the server side: connections open against the server's limit.
type StorePool struct {
	Meta
	Store         System         `json:"store"`
	Connections   int            `json:"connections"`
	Limit         int            `json:"limit"`              // max_connections / maxclients
	Reserved      int            `json:"reserved,omitempty"` // superuser_reserved_connections
	ByApplication map[string]int `json:"byApplication,omitempty"`
}

// Budget: sum of pool max x instances at the HPA maximum against the server limit.
type Budget struct {
	Store       System `json:"store"`
	PerInstance int    `json:"perInstance"`
	Instances   int    `json:"instances"` // HPA max (or replicas without HPA), surge included
	Total       int    `json:"total"`
	Limit       int    `json:"limit"`
	OK          bool   `json:"ok"`
}

// Region and DR readiness.
type Region struct {
	Name          string   `json:"name"`
	Role          Role     `json:"role"`
	StandbyLagSec float64  `json:"standbyLagSeconds"`
	LastBackupAge float64  `json:"lastBackupAgeSeconds"` // -1 when none
	Nodes         int      `json:"nodes"`
	Ready         bool     `json:"ready"`
	Notes         []string `json:"notes,omitempty"`
}

// SourceAlerts names the collector's alerts source (suffixed @region).
const SourceAlerts = "prometheus/alerts"

// Alert is one alert of a region's Prometheus (its /api/v1/alerts).
type Alert struct {
	Meta
	Name     string            `json:"name"`
	State    string            `json:"state"` // firing or pending
	Severity string            `json:"severity,omitempty"`
	Summary  string            `json:"summary,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	ActiveAt time.Time         `json:"activeAt"`
	Value    string            `json:"value,omitempty"`
}

// Backup is one backup of a store.
type Backup struct {
	Store     System    `json:"store"`
	ID        string    `json:"id"`
	StartedAt time.Time `json:"startedAt"`
	Finished  time.Time `json:"finishedAt,omitempty"`
	SizeBytes int64     `json:"sizeBytes"`
	State     string    `json:"state"` // running, done, failed
	Location  string    `json:"location"`
	// WALPosition for PostgreSQL, Kafka offsets recorded as the shared reference point.
	WALPosition  string           `json:"walPosition,omitempty"`
	KafkaOffsets map[string]int64 `json:"kafkaOffsets,omitempty"`
	Error        string           `json:"error,omitempty"`
	// Verification is the last restore test of this backup (backup verify).
	Verification *BackupVerification `json:"verification,omitempty"`
}

// BackupVerification is the outcome of restoring a backup into a scratch server.
type BackupVerification struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail"`
	// RestoreSeconds is the measured restore time (RTO): from the first byte
	// copied to the data answering queries on the scratch server.
	RestoreSeconds float64 `json:"restoreSeconds"`
}
