package capacity

import (
	"math"
	"strconv"
	"strings"

	"github.com/wotr/wotr-tui/ops/state"
)

// DefaultMaxSurge is Kubernetes' default for a rolling update.
const DefaultMaxSurge = "25%"

// Surge resolves a rolling update's maxSurge ("25%" or "2") at n replicas,
// rounded up as the Deployment controller does. A value that does not parse
// counts as no surge.
func Surge(maxSurge string, n int) int {
	if maxSurge == "" {
		maxSurge = DefaultMaxSurge
	}
	if pct, ok := strings.CutSuffix(maxSurge, "%"); ok {
		p, err := strconv.Atoi(pct)
		if err != nil || p < 0 {
			return 0
		}
		return int(math.Ceil(float64(n) * float64(p) / 100))
	}
	v, err := strconv.Atoi(maxSurge)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// DefaultPoolMax is each instance's pool size per store when neither its env
// nor its metrics say: the platform services' own defaults
// (POSTGRES_POOL_MAX, REDIS_POOL_SIZE, CLICKHOUSE_POOL_SIZE).
var DefaultPoolMax = map[state.System]int{state.SystemPostgres: 10, state.SystemRedis: 50, state.SystemClickHouse: 10}

// poolEnv names the env variables that size a store's pool, first wins.
var poolEnv = map[state.System][]string{
	state.SystemPostgres:   {"POSTGRES_POOL_MAX", "POSTGRES_POOL_SIZE"},
	state.SystemRedis:      {"REDIS_POOL_SIZE", "REDIS_POOL_MAX"},
	state.SystemClickHouse: {"CLICKHOUSE_POOL_SIZE"},
}

// PoolMax is an instance's pool size for store from a container's env, and
// where it came from (the variable's name, or "default").
func PoolMax(store state.System, env map[string]string) (int, string) {
	for _, k := range poolEnv[store] {
		if v, err := strconv.Atoi(env[k]); err == nil && v > 0 {
			return v, k
		}
	}
	return DefaultPoolMax[store], "default"
}

// StoresOf names the stores a deployment holds pools to when its instances
// expose no pool metrics: the API holds all three, the consumer writes
// ClickHouse.
func StoresOf(deployment string) []state.System {
	switch {
	case strings.Contains(deployment, "consumer"):
		return []state.System{state.SystemClickHouse}
	case strings.Contains(deployment, "api"):
		return []state.System{state.SystemPostgres, state.SystemRedis, state.SystemClickHouse}
	}
	return nil
}

// Fit is how a connection total compares with a server's limit.
type Fit int

const (
	Fits Fit = iota
	// Near: above NearFraction of what the server allows.
	Near
	// Over: more than the server allows; some instances cannot connect.
	Over
)

// NearFraction of the usable limit at which a budget is reported as near.
const NearFraction = 0.9

// Connections is the connection budget of one store: the pools of every
// instance that can run at once (replicas plus rolling-update surge).
type Connections struct {
	PerInstance int
	Instances   int
	Surge       int
}

// Total connections the pools can open.
func (c Connections) Total() int { return c.PerInstance * (c.Instances + c.Surge) }

// Judge compares total with the server's limit less its reserved
// connections (superuser_reserved_connections and the like).
func Judge(total, limit, reserved int) Fit {
	usable := limit - reserved
	switch {
	case total > usable:
		return Over
	case float64(total) > NearFraction*float64(usable):
		return Near
	}
	return Fits
}
