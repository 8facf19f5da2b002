package ops

import (
	"testing"
	"time"
)

// The region panel follows PostgreSQL, not the config's roles, once the
// replication data shows which side streams to which.
func TestRegionRolesFollowReplication(t *testing.T) {
	c := NewCollector(CollectorOptions{}, RegionSources{Region: "primary", Role: "primary"}, RegionSources{Region: "secondary", Role: "secondary"})
	roles := func(rows ...PGStandby) map[string]string {
		out := map[string]string{}
		for _, r := range c.regionSummary(&Snapshot{Replication: Replication{Postgres: rows}}, time.Now()) {
			out[r.Name] = r.Role
		}
		return out
	}
	if got := roles(); got["primary"] != "primary" || got["secondary"] != "secondary" {
		t.Errorf("no replication data: %v, want the config's roles", got)
	}
	promoted := roles(
		PGStandby{Meta: Meta{Region: "secondary"}, Name: "primary", State: "streaming"},
		PGStandby{Meta: Meta{Region: "primary"}, Name: "primary", State: "streaming", Self: true},
	)
	if promoted["secondary"] != "primary" || promoted["primary"] != "secondary" {
		t.Errorf("after a promote with the old primary rebuilt as standby: %v", promoted)
	}
	if got := roles(PGStandby{Meta: Meta{Region: "primary"}, Name: "secondary", State: "catchup"}); got["primary"] != "primary" || got["secondary"] != "secondary" {
		t.Errorf("a standby still catching up: %v, want the config's roles", got)
	}
}
