package action

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
)

func TestEveryKindDeclaresItsParamsOnce(t *testing.T) {
	for _, k := range Kinds {
		specs, err := Params(k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		seen := map[string]bool{}
		for _, s := range specs {
			if seen[s.Name] {
				t.Errorf("%s declares %s twice", k, s.Name)
			}
			seen[s.Name] = true
			if s.Help == "" {
				t.Errorf("%s parameter %s has no help", k, s.Name)
			}
			if s.Default != "" {
				if _, err := s.parse(s.Default); err != nil {
					t.Errorf("%s parameter %s: default %q does not parse: %v", k, s.Name, s.Default, err)
				}
			}
		}
		if !seen[ParamRegion] {
			t.Errorf("%s has no region parameter", k)
		}
	}
}

func TestParseParamsTypesDefaultsAndRules(t *testing.T) {
	got, err := ParseParams(KindDrain, map[string]string{"timeout": "90s", "disable-eviction": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got["timeout"] != 90*time.Second || got["disable-eviction"] != true {
		t.Errorf("typed values: %v", got)
	}
	if got["ignore-daemonsets"] != true || got["grace-period"] != -1 || got["pdb-wait"] != 10*time.Second {
		t.Errorf("defaults not applied: %v", got)
	}
	for _, tc := range []struct {
		kind Kind
		raw  map[string]string
		want []string
	}{
		{KindScale, map[string]string{"replicas": "three"}, []string{"scale parameter replicas", `"three" is not an integer`}},
		{KindScale, map[string]string{"replica": "3"}, []string{`scale has no parameter "replica"`, "replicas, min, max, region"}},
		{KindDrain, map[string]string{"timeout": "soon"}, []string{"drain parameter timeout", "not a duration"}},
		{KindPromote, map[string]string{ParamRebuildOld: "maybe"}, []string{"promote parameter " + ParamRebuildOld, "not true or false"}},
		{KindCordon, map[string]string{"force": "true"}, []string{`cordon has no parameter "force"`}},
		{Kind("reboot"), nil, []string{`unknown action "reboot"`}},
	} {
		_, err := ParseParams(tc.kind, tc.raw)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s %v: want ErrInvalid, got %v", tc.kind, tc.raw, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: %q does not say %q", tc.kind, tc.raw, err, w)
			}
		}
		if strings.Contains(err.Error(), "--") {
			t.Errorf("%q names a CLI flag spelling; ops names the parameter", err)
		}
	}
}

// Plan judges parameters before it reads any state: a bad one changes
// nothing and reaches no backend (the service here has none).
func TestPlanRejectsBadParamsBeforeReadingState(t *testing.T) {
	a := &Service{Config: config.ContextConfig{Name: "c", Regions: []config.RegionConfig{{Name: "r"}}},
		Audit: audit.NewLog(filepath.Join(t.TempDir(), "a.jsonl"))}
	_, err := a.Plan(context.Background(), Request{Kind: KindPartitions, Target: "ingest-events", Params: map[string]string{"count": "12", "disable-eviction": "true"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"disable-eviction"`) {
		t.Fatalf("a parameter of another action was accepted: %v", err)
	}
}
