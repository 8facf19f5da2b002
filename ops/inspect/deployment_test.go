package inspect

import (
	"context"
	"strings"
	"testing"
	"time"
)

type deploymentReader struct {
	d     Deployment
	asked []string
}

func (r *deploymentReader) Deployment(_ context.Context, name string) (Deployment, error) {
	r.asked = append(r.asked, name)
	return r.d, nil
}

// Deployment reads from the named region, labels the result and its
// events with it, orders the events newest first, and refuses bad input
// naming the value and the rule.
func TestDeploymentPicksTheRegionAndRefusesBadInput(t *testing.T) {
	now := time.Now()
	a := &deploymentReader{}
	b := &deploymentReader{d: Deployment{Name: "wotr-api", Events: []Event{
		{Reason: "old", Last: now.Add(-time.Hour)}, {Reason: "new", Last: now}}}}
	s := NewService(Region{Name: "primary", Deployments: a}, Region{Name: "secondary", Deployments: b}, Region{Name: "dr"})
	ctx := context.Background()
	d, err := s.Deployment(ctx, "secondary", "wotr-api")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.asked) != 0 || len(b.asked) != 1 || d.Region != "secondary" {
		t.Fatalf("read from the wrong region: %q %q, region %q", a.asked, b.asked, d.Region)
	}
	if d.Events[0].Reason != "new" || d.Events[0].Region != "secondary" || d.Events[1].Region != "secondary" {
		t.Errorf("events %+v, want newest first, labelled", d.Events)
	}
	for _, c := range []struct{ region, name, want string }{
		{"", "", "deployment: a name is required"},
		{"mars", "wotr-api", `region "mars" is not in the context (have primary, secondary)`},
		{"dr", "wotr-api", "region dr has no cluster configured"},
	} {
		if _, err := s.Deployment(ctx, c.region, c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Deployment(%q, %q) = %v, want %q", c.region, c.name, err, c.want)
		}
	}
}
