package deployments

import (
	"testing"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ui/common"
)

// An answer for another Deployment (a drill-in closed and another opened
// before the read came back) changes nothing; its own answer lands.
func TestDrillDropsAnotherDeploymentsAnswer(t *testing.T) {
	ctx := common.NewContext(common.DefaultTheme())
	d := newDrill(ctx, &common.Data{}, "primary", "wotr-api")
	d.SetSize(80, 20)
	other := inspect.Deployment{Name: "wotr-consumer", Pods: []inspect.Pod{{Name: "wotr-consumer-1", Ready: true}}}
	d.Update(detailMsg{view: Name, key: Key("primary", "wotr-consumer"), detail: other})
	d.Update(detailMsg{view: Name, key: Key("secondary", "wotr-api"), detail: other})
	if d.read || d.Pods() != 0 {
		t.Fatalf("took another deployment's answer: read %v, %d pods", d.read, d.Pods())
	}
	own := inspect.Deployment{Name: "wotr-api", Pods: []inspect.Pod{{Name: "wotr-api-1", Ready: true}, {Name: "wotr-api-2"}}}
	d.Update(detailMsg{view: Name, key: Key("primary", "wotr-api"), detail: own})
	if !d.read || d.Pods() != 2 || d.Selected() != "wotr-api-2" {
		t.Fatalf("own answer: read %v, %d pods, cursor %q", d.read, d.Pods(), d.Selected())
	}
}

func TestSplitKey(t *testing.T) {
	for _, c := range []struct {
		key, region, name string
		ok                bool
	}{
		{Key("primary", "wotr-api"), "primary", "wotr-api", true},
		{Key("", "wotr-api"), "", "wotr-api", true},
		{"wotr-api", "", "", false},
		{"primary/", "", "", false},
	} {
		r, n, ok := splitKey(c.key)
		if ok != c.ok || ok && (r != c.region || n != c.name) {
			t.Errorf("splitKey(%q) = %q, %q, %v", c.key, r, n, ok)
		}
	}
}
