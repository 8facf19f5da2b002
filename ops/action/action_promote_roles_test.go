package action

import (
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
)

// The region panel follows PostgreSQL, not the config's roles, once the
// replication data shows which side streams to which.
func TestRegionRolesFollowReplication(t *testing.T) {
	c := collect.New(collect.Options{}, collect.RegionSources{Region: "primary", Role: "primary"}, collect.RegionSources{Region: "secondary", Role: "secondary"})
	roles := func(rows ...state.PGStandby) map[string]string {
		out := map[string]string{}
		for _, r := range c.RegionSummary(&state.Snapshot{Replication: state.Replication{Postgres: rows}}, time.Now()) {
			out[r.Name] = string(r.Role)
		}
		return out
	}
	if got := roles(); got["primary"] != "primary" || got["secondary"] != "secondary" {
		t.Errorf("no replication data: %v, want the config's roles", got)
	}
	promoted := roles(
		state.PGStandby{Meta: state.Meta{Region: "secondary"}, Name: "primary", State: "streaming"},
		state.PGStandby{Meta: state.Meta{Region: "primary"}, Name: "primary", State: "streaming", Self: true},
	)
	if promoted["secondary"] != "primary" || promoted["primary"] != "secondary" {
		t.Errorf("after a promote with the old primary rebuilt as standby: %v", promoted)
	}
	if got := roles(state.PGStandby{Meta: state.Meta{Region: "primary"}, Name: "secondary", State: "catchup"}); got["primary"] != "primary" || got["secondary"] != "secondary" {
		t.Errorf("a standby still catching up: %v, want the config's roles", got)
	}
}
