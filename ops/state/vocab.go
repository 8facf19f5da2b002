package state

// Role is a region's part in disaster recovery.
type Role string

const (
	RolePrimary   Role = "primary"
	RoleSecondary Role = "secondary"
)

// Roles lists the roles a region may have, for validation messages.
var Roles = []Role{RolePrimary, RoleSecondary}

// IsPrimary: the primary, or a region whose role is not set (a one-region
// context).
func (r Role) IsPrimary() bool { return r == RolePrimary || r == "" }

// System names an external system a region has an endpoint for. The stores
// (PostgreSQL, Redis, ClickHouse) are also the keys of pools, budgets and
// backups.
type System string

const (
	SystemKube       System = "kube"
	SystemKafka      System = "kafka"
	SystemPrometheus System = "prom"
	SystemPostgres   System = "postgres"
	SystemRedis      System = "redis"
	SystemClickHouse System = "clickhouse"
	SystemHAProxy    System = "haproxy"
)

// Stores are the systems that hold data: they have pools and backups.
var Stores = []System{SystemPostgres, SystemClickHouse, SystemRedis}
