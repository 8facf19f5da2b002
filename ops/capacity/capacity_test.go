package capacity

import (
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestSurgeRoundsUpLikeTheDeploymentController(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		n    int
		want int
	}{
		{"", 4, 1}, {"", 3, 1}, {"25%", 10, 3}, {"50%", 5, 3}, {"0%", 10, 0},
		{"2", 10, 2}, {"0", 10, 0}, {"bad%", 10, 0}, {"x", 10, 0}, {"-1", 10, 0},
	} {
		if got := Surge(tc.raw, tc.n); got != tc.want {
			t.Errorf("Surge(%q, %d) = %d, want %d", tc.raw, tc.n, got, tc.want)
		}
	}
}

func TestPoolMaxReadsTheServicesEnvThenDefaults(t *testing.T) {
	for _, tc := range []struct {
		store state.System
		env   map[string]string
		want  int
		from  string
	}{
		{"postgres", map[string]string{"POSTGRES_POOL_MAX": "25"}, 25, "POSTGRES_POOL_MAX"},
		{"postgres", map[string]string{"POSTGRES_POOL_MAX": "zero"}, 10, "default"},
		{"redis", nil, 50, "default"},
		{"clickhouse", nil, 10, "default"},
		{"clickhouse", map[string]string{"CLICKHOUSE_POOL_SIZE": "4"}, 4, "CLICKHOUSE_POOL_SIZE"},
	} {
		got, from := PoolMax(tc.store, tc.env)
		if got != tc.want || from != tc.from {
			t.Errorf("PoolMax(%s, %v) = %d (%s), want %d (%s)", tc.store, tc.env, got, from, tc.want, tc.from)
		}
	}
}

func TestJudgeAgainstTheUsableLimit(t *testing.T) {
	c := Connections{PerInstance: 10, Instances: 8, Surge: 2}
	if c.Total() != 100 {
		t.Fatalf("total %d", c.Total())
	}
	for _, tc := range []struct {
		total, limit, reserved int
		want                   Fit
	}{
		{100, 100, 0, Near}, {100, 103, 3, Near}, {100, 102, 3, Over}, {101, 100, 0, Over},
		{89, 100, 0, Fits}, {90, 100, 0, Fits}, {91, 100, 0, Near},
	} {
		if got := Judge(tc.total, tc.limit, tc.reserved); got != tc.want {
			t.Errorf("Judge(%d, %d, %d) = %d, want %d", tc.total, tc.limit, tc.reserved, got, tc.want)
		}
	}
}
