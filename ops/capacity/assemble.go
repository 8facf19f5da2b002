package capacity

import (
	"math"
	"strconv"
	"strings"
)

// SurgeAt resolves a maxSurge ("25%" or "2") at n replicas; Kubernetes'
// default is 25%, rounded up.
func SurgeAt(maxSurge string, n int) int {
	if maxSurge == "" {
		maxSurge = "25%"
	}
	if pct, ok := strings.CutSuffix(maxSurge, "%"); ok {
		p, err := strconv.Atoi(pct)
		if err != nil {
			return 0
		}
		return int(math.Ceil(float64(n) * float64(p) / 100))
	}
	v, _ := strconv.Atoi(maxSurge)
	return v
}

// DefaultStores names the stores a deployment holds pools to when its
// instances expose no pool metrics (the scaling guide: the API holds all three pools,
// the consumer writes ClickHouse).
func DefaultStores(deployment string) []string {
	switch {
	case strings.Contains(deployment, "consumer"):
		return []string{"clickhouse"}
	case strings.Contains(deployment, "api"):
		return []string{"postgres", "redis", "clickhouse"}
	}
	return nil
}
