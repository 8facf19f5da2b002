package present

import (
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestRegionsShowEachRegionsWorkload(t *testing.T) {
	in := func(pod, region string, ready bool) state.Instance {
		return state.Instance{Meta: state.Meta{Region: region}, Pod: pod, Ready: ready}
	}
	dep := func(name, region string, ready, desired int32) state.Deployment {
		return state.Deployment{Meta: state.Meta{Region: region}, Name: name, Ready: ready, Desired: desired}
	}
	s := state.Snapshot{
		Instances:   []state.Instance{in("a", "primary", true), in("b", "primary", false), in("c", "secondary", true)},
		Deployments: []state.Deployment{dep("wotr-api", "primary", 3, 3), dep("wotr-api", "secondary", 1, 1), dep("wotr-consumer", "secondary", 0, 0)},
		Regions:     []state.Region{{Name: "primary", Role: state.RolePrimary}, {Name: "secondary", Role: state.RoleSecondary}, {Name: "dark", Role: state.RoleSecondary}},
	}
	tb := Regions(s, false)
	col := func(h string) int {
		for i, x := range tb.Headers {
			if x == h {
				return i
			}
		}
		t.Fatalf("no %s column in %v", h, tb.Headers)
		return -1
	}
	pods, deps := col("PODS"), col("DEPLOYMENTS")
	want := [][2]string{{"1/2", "wotr-api 3/3"}, {"1/1", "wotr-api 1/1, wotr-consumer 0/0"}, {"-", "-"}}
	for i, w := range want {
		if got := [2]string{tb.Rows[i][pods], tb.Rows[i][deps]}; got != w {
			t.Errorf("region %s: pods, deployments = %q, want %q", tb.Rows[i][0], got, w)
		}
	}

	// Same-named Deployments of two regions are told apart by a REGION column,
	// which a single region's table does not get.
	dt := Deployments(s, false)
	if dt.Headers[0] != "REGION" || dt.Rows[1][0] != "secondary" {
		t.Fatalf("deployments table %v %v: want a REGION column first", dt.Headers, dt.Rows)
	}
	s.Deployments = s.Deployments[:1]
	if dt := Deployments(s, false); strings.Join(dt.Headers, " ") != "DEPLOYMENT DESIRED CURRENT READY HPA MIN/MAX TARGETS LAST SCALE" {
		t.Fatalf("one region's deployments headers %v: want no REGION column", dt.Headers)
	}
}
