package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// FrontendSwitcher is a global frontend in front of every region's API:
// it sends all traffic to one region's backend, switched at run time.
type FrontendSwitcher interface {
	ActiveBackend(ctx context.Context) (string, error)
	// SwitchFrontend points the frontend at this region's backend.
	SwitchFrontend(ctx context.Context, dryRun bool) error
	// ServersUp counts this region's backend servers that take requests.
	ServersUp(ctx context.Context) (int, error)
}

// ownClusters: the old and the new primary run in clusters of their own, so
// promote moves the workloads too: the target gets the old primary's sizes,
// the global frontend follows, the old region drops to the target's former
// (standby) sizes. Regions sharing one cluster keep the one-cluster promote.
func (pr promoteRegions) ownClusters() bool {
	o, t := pr.old, pr.target
	return o != nil && o.Kube != nil && t.Kube != nil &&
		(o.Kube.Kubeconfig != t.Kube.Kubeconfig || o.Kube.Context != t.Kube.Context)
}

// regionSize is one Deployment's replicas and HPA bounds in one region.
type regionSize struct {
	replicas int32
	hpa      string // empty without an HPA
	min, max int32
}

// Annotator reads and sets one annotation of a Deployment ("" removes it).
type Annotator interface {
	DeploymentAnnotation(ctx context.Context, deployment, key string) (string, error)
	SetDeploymentAnnotation(ctx context.Context, deployment, key, value string) error
}

// StandbySizesAnnotation, on the target region's API Deployment, holds the
// region's sizes from before a promote warmed it, until the old region has
// taken them. A promote stopped after the warm step finds them there when it
// runs again: read from the warmed Deployments, the old region would keep the
// primary's sizes.
const StandbySizesAnnotation = "wotr.io/standby-sizes"

type sizeNote struct {
	Replicas int32  `json:"replicas"`
	HPA      string `json:"hpa,omitempty"`
	Min      int32  `json:"min,omitempty"`
	Max      int32  `json:"max,omitempty"`
}

// standbyNote is the region's noted standby sizes; nil when none is noted or
// the backend cannot keep notes.
func standbyNote(ctx context.Context, a *Service, r config.RegionConfig) (map[string]regionSize, error) {
	an, err := capability[Annotator](a, state.SystemKube, r)
	if err != nil {
		return nil, nil
	}
	v, err := an.DeploymentAnnotation(ctx, serviceDeployments["api"], StandbySizesAnnotation)
	if err != nil || v == "" {
		return nil, err
	}
	var notes map[string]sizeNote
	if err := json.Unmarshal([]byte(v), &notes); err != nil {
		return nil, fmt.Errorf("region %s: annotation %s of %s is not a sizes note (%v): remove it by hand", r.Name, StandbySizesAnnotation, serviceDeployments["api"], err)
	}
	out := map[string]regionSize{}
	for dep, n := range notes {
		out[dep] = regionSize{replicas: n.Replicas, hpa: n.HPA, min: n.Min, max: n.Max}
	}
	return out, nil
}

// noteStandby writes sizes as the region's note; nil sizes remove it.
func noteStandby(ctx context.Context, a *Service, r config.RegionConfig, sizes map[string]regionSize) error {
	an, err := capability[Annotator](a, state.SystemKube, r)
	if err != nil {
		return nil
	}
	v := ""
	if sizes != nil {
		notes := map[string]sizeNote{}
		for dep, s := range sizes {
			notes[dep] = sizeNote{Replicas: s.replicas, HPA: s.hpa, Min: s.min, Max: s.max}
		}
		b, err := json.Marshal(notes)
		if err != nil {
			return err
		}
		v = string(b)
	}
	if err := an.SetDeploymentAnnotation(ctx, serviceDeployments["api"], StandbySizesAnnotation, v); err != nil {
		return fmt.Errorf("region %s: note the standby sizes on %s: %w", r.Name, serviceDeployments["api"], err)
	}
	return nil
}

// readSizes reads the platform Deployments' sizes in region r; a
// Deployment the region does not run is left out.
func readSizes(ctx context.Context, a *Service, r config.RegionConfig) (map[string]regionSize, error) {
	sc, err := capability[Scaler](a, state.SystemKube, r)
	if err != nil {
		return nil, err
	}
	he, _ := capability[HPAEditor](a, state.SystemKube, r)
	out := map[string]regionSize{}
	for _, dep := range serviceDeployments {
		w, err := sc.Workload(ctx, dep)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("region %s: %s: %w", r.Name, dep, err)
		}
		s := regionSize{replicas: w.Replicas}
		if he != nil {
			h, err := he.HPAFor(ctx, dep)
			if err != nil {
				return nil, fmt.Errorf("region %s: HPA of %s: %w", r.Name, dep, err)
			}
			if h != nil {
				s.hpa, s.min, s.max = h.Name, h.Min, h.Max
			}
		}
		out[dep] = s
	}
	return out, nil
}

func describeSizes(m map[string]regionSize) string {
	var parts []string
	for dep, s := range m {
		d := fmt.Sprintf("%s %d", dep, s.replicas)
		if s.hpa != "" {
			d += fmt.Sprintf(" (HPA %d..%d)", s.min, s.max)
		}
		parts = append(parts, d)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "no platform Deployments"
	}
	return fmt.Sprint(parts)
}

// planRegions adds the checks and steps of moving the workloads between
// the regions' own clusters.
func planRegions(ctx context.Context, a *Service, pr promoteRegions, p *Plan) {
	if !pr.ownClusters() {
		return
	}
	old, target := *pr.old, pr.target
	oldSizes, err := readSizes(ctx, a, old)
	if err != nil {
		p.Checks = append(p.Checks, Check{Name: "old region's cluster", Status: CheckFail, Hard: true, Detail: err.Error()})
		return
	}
	targetSizes, err := readSizes(ctx, a, target)
	if err != nil {
		p.Checks = append(p.Checks, Check{Name: "target region's cluster", Status: CheckFail, Hard: true, Detail: err.Error()})
		return
	}
	detail := fmt.Sprintf("%s: context %s, %s; %s: context %s, %s", old.Name, old.Kube.Context, describeSizes(oldSizes), target.Name, target.Kube.Context, describeSizes(targetSizes))
	if noted, err := standbyNote(ctx, a, target); err != nil {
		p.Checks = append(p.Checks, Check{Name: "regions' clusters", Status: CheckFail, Hard: true, Detail: err.Error()})
		return
	} else if noted != nil {
		detail += fmt.Sprintf("; %s's standby sizes noted by an earlier, unfinished promote: %s", target.Name, describeSizes(noted))
	}
	p.Checks = append(p.Checks, Check{Name: "regions' clusters", Status: CheckPass, Detail: detail})
	p.Steps = append(p.Steps, fmt.Sprintf("before the fence, scale %s's Deployments (context %s) to %s's sizes and wait until they are ready", target.Name, target.Kube.Context, old.Name))
	if fs, err := capability[FrontendSwitcher](a, state.SystemHAProxy, target); err == nil {
		active, err := fs.ActiveBackend(ctx)
		if err != nil {
			p.Checks = append(p.Checks, Check{Name: "global frontend", Status: CheckFail, Hard: true, Detail: err.Error()})
			return
		}
		p.Checks = append(p.Checks, Check{Name: "global frontend", Status: CheckPass, Detail: fmt.Sprintf("serves backend %s; %s's is %s", active, target.Name, target.HAProxy.Backend)})
		p.Steps = append(p.Steps, fmt.Sprintf("switch the global frontend to %s's backend %s", target.Name, target.HAProxy.Backend))
	}
	p.Steps = append(p.Steps, fmt.Sprintf("scale %s's Deployments (context %s) to %s's former sizes: it becomes the standby region", old.Name, old.Kube.Context, target.Name))
}

// warmTarget gives the target region the old primary's sizes and waits
// until its Deployments are ready, so the switch waits on nothing.
func (r *promoteRun) warmTarget(ctx context.Context, detail func(string)) error {
	old, target := *r.pr.old, r.pr.target
	oldSizes, err := readSizes(ctx, r.a, old)
	if err != nil {
		return err
	}
	// An earlier run may have warmed the target already: its sizes from
	// before that run are in the note.
	if r.standbySizes, err = standbyNote(ctx, r.a, target); err != nil {
		return err
	}
	if r.standbySizes == nil {
		if r.standbySizes, err = readSizes(ctx, r.a, target); err != nil {
			return err
		}
		if err := noteStandby(ctx, r.a, target, r.standbySizes); err != nil {
			return err
		}
	} else {
		detail(fmt.Sprintf("%s's standby sizes from an earlier run: %s", target.Name, describeSizes(r.standbySizes)))
	}
	if err := applySizes(ctx, r.a, target, oldSizes); err != nil {
		return err
	}
	detail(fmt.Sprintf("%s: %s", target.Name, describeSizes(oldSizes)))
	return r.waitSizes(ctx, target, oldSizes)
}

// applySizes sets each Deployment's replicas and HPA bounds. The floor is
// lowered before the replicas and raised after them: otherwise the
// autoscaler, seeing replicas below its floor, scales back to the floor and
// overwrites the replicas just set.
func applySizes(ctx context.Context, a *Service, reg config.RegionConfig, sizes map[string]regionSize) error {
	sc, err := capability[Scaler](a, state.SystemKube, reg)
	if err != nil {
		return err
	}
	he, _ := capability[HPAEditor](a, state.SystemKube, reg)
	for dep, s := range sizes {
		cur, err := sc.Workload(ctx, dep)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("region %s: %s: %w", reg.Name, dep, err)
		}
		scale := func() error {
			if err := sc.SetReplicas(ctx, dep, s.replicas, false); err != nil {
				return fmt.Errorf("region %s: scale %s to %d: %w", reg.Name, dep, s.replicas, err)
			}
			return nil
		}
		bounds := func() error {
			if he == nil || s.hpa == "" {
				return nil
			}
			h, err := he.HPAFor(ctx, dep)
			if err != nil || h == nil {
				return err
			}
			if err := he.SetHPABounds(ctx, h.Name, max(s.min, 1), s.max, false); err != nil {
				return fmt.Errorf("region %s: HPA %s: %w", reg.Name, h.Name, err)
			}
			return nil
		}
		first, second := scale, bounds
		if s.replicas < cur.Replicas {
			first, second = bounds, scale
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	return nil
}

// waitSizes polls until every Deployment of sizes is ready at its size.
func (r *promoteRun) waitSizes(ctx context.Context, reg config.RegionConfig, sizes map[string]regionSize) error {
	sc, err := capability[Scaler](r.a, state.SystemKube, reg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(r.a.opts().VerifyTimeout)
	for {
		var short []string
		for dep, s := range sizes {
			w, err := sc.Workload(ctx, dep)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil || w.Ready < s.replicas || w.Replicas != s.replicas {
				short = append(short, fmt.Sprintf("%s %d/%d ready, spec %d (%v)", dep, w.Ready, s.replicas, w.Replicas, err))
			}
		}
		if len(short) == 0 {
			r.verified(Check{Name: reg.Name + " sized", Status: CheckPass, Detail: describeSizes(sizes)})
			return nil
		}
		if time.Now().After(deadline) {
			r.verified(Check{Name: reg.Name + " sized", Status: CheckFail, Detail: fmt.Sprint(short)})
			return fmt.Errorf("region %s not ready at its new sizes within %s: %v", reg.Name, r.a.opts().VerifyTimeout, short)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// switchFrontend sends the global frontend's traffic to the target's
// backend once it has a server up.
func (r *promoteRun) switchFrontend(ctx context.Context, detail func(string)) error {
	target := r.pr.target
	fs, err := capability[FrontendSwitcher](r.a, state.SystemHAProxy, target)
	if err != nil {
		r.verified(Check{Name: "global frontend", Status: CheckWarn, Detail: "not switched: " + err.Error()})
		return nil
	}
	deadline := time.Now().Add(r.a.opts().VerifyTimeout)
	for {
		n, err := fs.ServersUp(ctx)
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("global frontend: %s's backend %s has no server up after %s (%v)", target.Name, target.HAProxy.Backend, r.a.opts().VerifyTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := fs.SwitchFrontend(ctx, false); err != nil {
		return err
	}
	active, err := fs.ActiveBackend(ctx)
	if err != nil || active != target.HAProxy.Backend {
		r.verified(Check{Name: "global frontend switched", Status: CheckFail, Detail: fmt.Sprintf("serves %q after the switch (%v)", active, err)})
		return fmt.Errorf("global frontend serves %q, not %s", active, target.HAProxy.Backend)
	}
	r.res.Measurements["frontend_switched_s"] = r.a.now().Sub(r.t0).Seconds()
	detail(active)
	r.verified(Check{Name: "global frontend switched", Status: CheckPass, Detail: "serves " + active})
	return nil
}

// standbyOld gives the old region the target's former sizes: it is the
// standby region now. Without known former sizes (a resumed promote) its
// API and consumers stop.
func (r *promoteRun) standbyOld(ctx context.Context, detail func(string)) error {
	old := *r.pr.old
	sizes := r.standbySizes
	if sizes == nil {
		cur, err := readSizes(ctx, r.a, old)
		if err != nil {
			return err
		}
		sizes = map[string]regionSize{}
		for dep, s := range cur {
			s.replicas = 0
			sizes[dep] = s
		}
	}
	if err := applySizes(ctx, r.a, old, sizes); err != nil {
		return err
	}
	detail(fmt.Sprintf("%s: %s", old.Name, describeSizes(sizes)))
	if err := r.waitSizes(ctx, old, sizes); err != nil {
		return err
	}
	// The old region has the sizes: the note has served.
	return noteStandby(ctx, r.a, r.pr.target, nil)
}

// regionPhases are the workload moves of a promote between clusters of
// their own; none when the regions share one, so that promote's progress
// reads as it always did.
func (r *promoteRun) regionPhases() (before, after []phase) {
	if !r.pr.ownClusters() {
		return nil, nil
	}
	old := nameOf(r.pr.old)
	return []phase{{name: "warm " + r.pr.target.Name, detail: "to " + old + "'s sizes", run: r.warmTarget}},
		[]phase{
			{name: "switch frontend", detail: "to " + r.pr.target.Name, run: r.switchFrontend},
			{name: "standby " + old, detail: "to " + r.pr.target.Name + "'s former sizes", run: r.standbyOld},
		}
}
