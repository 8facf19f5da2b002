package capacity

import (
	"math"
	"strconv"
	"strings"
)

// Pool sizes per instance when the Deployment's env does not say (the scaling guide's
// "optimal pool sizes").
var defaultPoolMax = map[string]int{"postgres": 10, "redis": 50}

var poolEnv = map[string][]string{
	"postgres": {"POSTGRES_POOL_MAX", "POSTGRES_POOL_SIZE"},
	"redis":    {"REDIS_POOL_SIZE", "REDIS_POOL_MAX"},
}

// SurgeOf resolves a rolling update's maxSurge for n replicas (rounded up, as
// the Deployment controller does).
func SurgeOf(raw string, n int32) int32 {
	if raw == "" {
		raw = "25%"
	}
	if strings.HasSuffix(raw, "%") {
		pct, err := strconv.Atoi(strings.TrimSuffix(raw, "%"))
		if err != nil {
			return 0
		}
		return int32(math.Ceil(float64(n) * float64(pct) / 100))
	}
	v, _ := strconv.Atoi(raw)
	return int32(v)
}

func PoolMaxFromEnv(store string, env map[string]string) (int, string) {
	for _, k := range poolEnv[store] {
		if v, err := strconv.Atoi(env[k]); err == nil && v > 0 {
			return v, k
		}
	}
	return defaultPoolMax[store], "default"
}
