package action

import (
	"context"
	"errors"
	"testing"

	"github.com/wotr/wotr-tui/ops/config"
)

func TestRunPhasesCountsSkipsAndStopsAtTheFirstError(t *testing.T) {
	var ran []string
	step := func(name string, err error) func(context.Context, func(string)) error {
		return func(_ context.Context, detail func(string)) error {
			ran = append(ran, name)
			detail(name + " working")
			return err
		}
	}
	boom := errors.New("boom")
	phases := []phase{
		{name: "a", detail: "first", run: step("a", nil)},
		{name: "b", skip: true, run: step("b", nil)},
		{name: "c", quiet: true, run: step("c", errSkipped)},
		{name: "check", uncounted: true, run: step("check", nil)},
		{name: "d", run: step("d", boom)},
		{name: "e", run: step("e", nil)},
	}
	var events []Progress
	res := &Result{}
	err := runPhases(context.Background(), phases, res, func(p Progress) { events = append(events, p) })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the failing phase's error", err)
	}
	if want := []string{"a", "c", "check", "d"}; len(ran) != len(want) || ran[0] != "a" || ran[1] != "c" || ran[2] != "check" || ran[3] != "d" {
		t.Fatalf("ran %v, want %v (skip not run, nothing after the error)", ran, want)
	}
	last := -1
	for _, e := range events {
		if e.Total != 5 {
			t.Errorf("%s: total %d, want 5 counted phases", e.Step, e.Total)
		}
		if e.Done < last {
			t.Errorf("progress went back: %+v", events)
		}
		last = e.Done
	}
	if events[0].Step != "a" || events[0].Detail != "first" || events[0].Done != 0 {
		t.Errorf("first event %+v", events[0])
	}
	if d := events[len(events)-1]; d.Step != "d" || d.Done != 3 {
		t.Errorf("the failing phase reports after a, b and c are done: %+v", d)
	}
	if len(res.Phases) != 5 || !res.Phases[1].Skipped || !res.Phases[2].Skipped || res.Phases[0].Skipped {
		t.Errorf("timings %+v", res.Phases)
	}
}

func TestPromotePhasesCountAsBefore(t *testing.T) {
	old := &config.RegionConfig{Name: "primary"}
	for _, tc := range []struct {
		pr   promoteRegions
		want int
	}{
		{promoteRegions{target: config.RegionConfig{Name: "secondary"}, old: old}, 5},
		{promoteRegions{target: config.RegionConfig{Name: "secondary"}, old: old, rebuild: true}, 7},
		{promoteRegions{target: config.RegionConfig{Name: "secondary"}, old: old, rebuild: true, rebuildOld: true}, 8},
		// Regions naming one cluster (same kubeconfig and context) share it.
		{promoteRegions{target: config.RegionConfig{Name: "secondary", Kube: &config.KubeEndpoint{Kubeconfig: "k", Context: "c"}},
			old: &config.RegionConfig{Name: "primary", Kube: &config.KubeEndpoint{Kubeconfig: "k", Context: "c"}}}, 5},
		// Their own clusters: warm the target, switch the frontend, old to standby.
		{promoteRegions{target: config.RegionConfig{Name: "secondary", Kube: &config.KubeEndpoint{Kubeconfig: "k", Context: "s"}},
			old: &config.RegionConfig{Name: "primary", Kube: &config.KubeEndpoint{Kubeconfig: "k", Context: "p"}}}, 8},
	} {
		n := 0
		for _, p := range (&promoteRun{pr: tc.pr}).phases() {
			if !p.uncounted {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("rebuild=%v rebuildOld=%v: %d counted phases, want %d", tc.pr.rebuild, tc.pr.rebuildOld, n, tc.want)
		}
	}
}

// A cancel that lands as a phase ends stops the run before the next phase;
// one that a phase turns into its own error is still reported as an interrupt.
func TestRunPhasesStopsAtTheBoundaryAfterACancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran []string
	phases := []phase{
		{name: "warm", run: func(context.Context, func(string)) error { ran = append(ran, "warm"); cancel(); return nil }},
		{name: "fence", run: func(context.Context, func(string)) error { ran = append(ran, "fence"); return nil }},
	}
	res := &Result{}
	err := runPhases(ctx, phases, res, func(Progress) {})
	if !errors.Is(err, context.Canceled) || err.Error() != "interrupted before fence: context canceled" {
		t.Fatalf("err %v, want interrupted before fence", err)
	}
	if len(ran) != 1 || len(res.Phases) != 1 || res.Phases[0].Name != "warm" {
		t.Fatalf("ran %v, timings %+v: want warm only", ran, res.Phases)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	refused := Refusedf("the old primary cannot be fenced")
	err = runPhases(ctx2, []phase{{name: "fence", run: func(context.Context, func(string)) error { cancel2(); return refused }}}, &Result{}, func(Progress) {})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRefused) {
		t.Fatalf("err %v: want an interrupt, not a refusal", err)
	}
}
