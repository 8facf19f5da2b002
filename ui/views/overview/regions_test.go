package overview

import (
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestRegionsSummaryNamesEachRoleOnce(t *testing.T) {
	cases := []struct {
		regions []state.Region
		want    string
	}{
		{[]state.Region{{Name: "primary", Role: state.RolePrimary, Ready: true}, {Name: "secondary", Role: state.RoleSecondary, Ready: true}},
			"primary: ready, secondary: standby ready"},
		{[]state.Region{{Name: "eu-west", Role: state.RolePrimary, Ready: true}, {Name: "eu-central", Role: state.RoleSecondary}},
			"eu-west: primary ready, eu-central: standby NOT READY"},
	}
	for _, c := range cases {
		if got := regionsArea(state.Snapshot{Regions: c.regions}).Summary; got != c.want {
			t.Errorf("summary %q, want %q", got, c.want)
		}
	}
}
