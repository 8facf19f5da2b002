package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/capacity"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// WorkloadStatus is a Deployment as the scale action needs it.
type WorkloadStatus struct {
	Namespace string
	Name      string
	Replicas  int32 // spec (the scale subresource)
	Ready     int32
	Updated   int32
	Available int32
	// MaxSurge as written in the rolling-update strategy ("25%", "1"); empty means 25%.
	MaxSurge string
	// CPURequestMilli per pod (sum over containers).
	CPURequestMilli int64
	// Env of the first container: pool sizes and store hosts.
	Env map[string]string
	// Current is true when the controller has observed the latest spec.
	Current bool
}

// Scaler reads and scales Deployments through the scale subresource.
type Scaler interface {
	Workload(ctx context.Context, name string) (WorkloadStatus, error) // ErrNotFound when missing
	SetReplicas(ctx context.Context, name string, replicas int32, dryRun bool) error
}

// HPAEditor finds the HPA that owns a Deployment and changes its bounds.
type HPAEditor interface {
	HPAFor(ctx context.Context, deployment string) (*state.HPA, error) // nil, nil when none
	SetHPABounds(ctx context.Context, hpa string, min, max int32, dryRun bool) error
}

// NodeCapacity of the schedulable (ready, uncordoned) nodes.
type NodeCapacity struct {
	Nodes             int
	CPUAllocMilli     int64
	CPURequestedMilli int64
	PodsAlloc         int
	Pods              int
}

// CapacityReader sums what schedulable nodes can still take.
type CapacityReader interface {
	SchedulableCapacity(ctx context.Context) (NodeCapacity, error)
}

// ConnectionLimiter reports a store's connection limit (max_connections,
// maxclients) and the connections open now.
type ConnectionLimiter interface {
	ConnectionLimit(ctx context.Context) (limit, open int, err error)
}

// GroupInfo is a consumer group's membership.
type GroupInfo struct {
	Group   string
	State   string
	Members int
	// Topics the group consumes, with their partition counts.
	Topics map[string]int32
	// Assigned partitions per member ID.
	Assigned map[string]int
}

// GroupReader describes consumer groups.
type GroupReader interface {
	GroupInfo(ctx context.Context, group string) (GroupInfo, error)
}

// Deployment names of the platform's services (the scaling guide's manifests).
var serviceDeployments = map[string]string{"api": "wotr-api", "consumer": "wotr-consumer"}

// MaxReplicas is the largest replica count the scale action accepts.
const MaxReplicas = 1000

type scaleAction struct{}

func (scaleAction) params() []ParamSpec {
	return []ParamSpec{
		{Name: "replicas", Type: ParamInt, Help: "desired replicas (with an HPA: its new minimum)"},
		{Name: "min", Type: ParamInt, Help: "HPA minReplicas"},
		{Name: "max", Type: ParamInt, Help: "HPA maxReplicas"},
	}
}

type scaleParams struct {
	deployment       string
	replicas         int32
	hasReplicas      bool
	min, max         int32
	hasMin, hasMax   bool
	region           config.RegionConfig
	hpaName          string
	newMin, newMax   int32
	expectedReplicas int32 // what the Deployment should settle at
}

func parseScale(a *Service, req Request) (*scaleParams, error) {
	sp := &scaleParams{}
	dep, ok := serviceDeployments[req.Target]
	if !ok {
		for _, d := range serviceDeployments {
			if d == req.Target {
				dep, ok = d, true
			}
		}
	}
	if !ok {
		return nil, Invalidf("scale target %q is not api or consumer", req.Target)
	}
	sp.deployment = dep
	ps, err := paramsOf(req)
	if err != nil {
		return nil, err
	}
	check := func(name string) (int32, bool, error) {
		n, has := ps.int(name)
		if !has {
			return 0, false, nil
		}
		if n < 0 {
			return 0, true, Invalidf("scale parameter %s %d is negative; replica counts are 0 or more", name, n)
		}
		if n > MaxReplicas {
			return 0, true, Invalidf("scale parameter %s %d is above %d, the most this console scales to", name, n, MaxReplicas)
		}
		return int32(n), true, nil
	}
	if sp.replicas, sp.hasReplicas, err = check("replicas"); err != nil {
		return nil, err
	}
	if sp.min, sp.hasMin, err = check("min"); err != nil {
		return nil, err
	}
	if sp.max, sp.hasMax, err = check("max"); err != nil {
		return nil, err
	}
	if !sp.hasReplicas && !sp.hasMin && !sp.hasMax {
		return nil, Invalidf("scale %s needs the parameter replicas, or min/max for its HPA", req.Target)
	}
	if sp.hasMin && sp.min < 1 {
		return nil, Invalidf("scale parameter min %d: an HPA's minimum is at least 1", sp.min)
	}
	if sp.hasMin && sp.hasMax && sp.min > sp.max {
		return nil, Invalidf("scale parameter min %d is above max %d", sp.min, sp.max)
	}
	if sp.region, err = a.primaryWith(state.SystemKube, req.Params["region"]); err != nil {
		return nil, err
	}
	return sp, nil
}

func (scaleAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	sp, err := parseScale(a, req)
	if err != nil {
		return err
	}
	sc, err := capability[Scaler](a, state.SystemKube, sp.region)
	if err != nil {
		return err
	}
	w, err := sc.Workload(ctx, sp.deployment)
	if errors.Is(err, ErrNotFound) {
		return Invalidf("deployment %q not found in region %s", sp.deployment, sp.region.Name)
	}
	if err != nil {
		return err
	}
	var hpa *state.HPA
	if he, herr := capability[HPAEditor](a, state.SystemKube, sp.region); herr == nil {
		if hpa, err = he.HPAFor(ctx, sp.deployment); err != nil {
			return err
		}
	}
	// peak is the most replicas this change allows; the budget is checked against it.
	var peak int32
	if hpa != nil {
		sp.hpaName = hpa.Name
		sp.newMin, sp.newMax = hpa.Min, hpa.Max
		if sp.hasReplicas {
			sp.newMin = sp.replicas
			if sp.newMax < sp.replicas {
				sp.newMax = sp.replicas
			}
		}
		if sp.hasMin {
			sp.newMin = sp.min
		}
		if sp.hasMax {
			sp.newMax = sp.max
		}
		if sp.newMin < 1 {
			return Invalidf("scale parameter replicas %d: HPA %s owns %s and its minimum is at least 1", sp.replicas, hpa.Name, sp.deployment)
		}
		if sp.newMin > sp.newMax {
			return Invalidf("HPA bounds min %d > max %d", sp.newMin, sp.newMax)
		}
		sp.expectedReplicas = clamp(w.Replicas, sp.newMin, sp.newMax)
		peak = sp.newMax
		p.Summary = fmt.Sprintf("HPA %s owns %s: set its bounds to min %d, max %d (was %d..%d) instead of the replica count; the HPA then keeps %s within them",
			hpa.Name, sp.deployment, sp.newMin, sp.newMax, hpa.Min, hpa.Max, sp.deployment)
		p.Steps = append(p.Steps, fmt.Sprintf("patch HorizontalPodAutoscaler %s/%s: minReplicas %d, maxReplicas %d", w.Namespace, hpa.Name, sp.newMin, sp.newMax))
		p.Checks = append(p.Checks, Check{Name: "HPA bounds", Status: CheckPass, Detail: fmt.Sprintf("%d..%d, currently %d replicas", sp.newMin, sp.newMax, w.Replicas)})
		if sp.hasReplicas {
			p.Warnings = append(p.Warnings, fmt.Sprintf("an HPA owns %s: --replicas %d becomes the HPA minimum; scaling the Deployment directly would be undone by the HPA", sp.deployment, sp.replicas))
		}
	} else {
		if sp.hasMin || sp.hasMax {
			return Invalidf("scale parameters min and max need an HPA, and no HorizontalPodAutoscaler targets %s", sp.deployment)
		}
		sp.expectedReplicas = sp.replicas
		peak = sp.replicas
		p.Summary = fmt.Sprintf("scale %s from %d to %d replicas", sp.deployment, w.Replicas, sp.replicas)
		p.Steps = append(p.Steps, fmt.Sprintf("update deployments/%s/scale in %s: replicas %d", sp.deployment, w.Namespace, sp.replicas))
		if sp.replicas == 0 {
			p.Checks = append(p.Checks, Check{Name: "replicas", Status: CheckFail, Detail: fmt.Sprintf("0 replicas stops %s entirely; use --force --reason to do it", sp.deployment)})
		} else {
			p.Checks = append(p.Checks, Check{Name: "replicas", Status: CheckPass, Detail: fmt.Sprintf("%d -> %d", w.Replicas, sp.replicas)})
		}
	}
	p.Steps = append(p.Steps, fmt.Sprintf("verify: %d replicas ready and updated", sp.expectedReplicas))
	surge := int32(capacity.Surge(w.MaxSurge, int(peak)))

	// Consumers above partitions sit idle.
	if req.Target == "consumer" || sp.deployment == serviceDeployments["consumer"] {
		p.Checks = append(p.Checks, consumerPartitionCheck(ctx, a, peak))
		p.Steps = append(p.Steps, "verify: consumer group members == replicas (rebalanced)")
	}
	// The connection budget: pool max x (replicas + surge) against the store limit.
	if req.Target == "api" || sp.deployment == serviceDeployments["api"] {
		// ClickHouse has no connection limit of that kind to check against.
		for _, store := range []state.System{state.SystemPostgres, state.SystemRedis} {
			p.Checks = append(p.Checks, budgetCheck(ctx, a, store, w.Env, peak, surge))
		}
	}
	p.Checks = append(p.Checks, capacityCheck(ctx, a, sp.region, w, peak))
	p.Effects = append(p.Effects, fmt.Sprintf("%s: %d -> %d replicas (peak %d during a rollout with surge %d)", sp.deployment, w.Replicas, sp.expectedReplicas, peak+surge, surge))
	return nil
}

func clamp(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func consumerPartitionCheck(ctx context.Context, a *Service, replicas int32) Check {
	c := Check{Name: "consumers vs partitions"}
	gr, r, err := primaryCapability[GroupReader](a, state.SystemKafka)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot check: "+err.Error()
		return c
	}
	gi, err := gr.GroupInfo(ctx, groupOf(r))
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot read group "+groupOf(r)+": "+err.Error()
		return c
	}
	var topic string
	var parts int32 = -1
	for t, n := range gi.Topics {
		if n > parts || (n == parts && t < topic) {
			topic, parts = t, n
		}
	}
	if parts < 0 {
		c.Status, c.Detail = CheckWarn, "group "+gi.Group+" consumes no known topic"
		return c
	}
	if replicas > parts {
		c.Status = CheckFail
		c.Detail = fmt.Sprintf("%d consumers for %d partitions of %s: %d would sit idle (add partitions first, or --force)", replicas, parts, topic, replicas-parts)
		return c
	}
	c.Status, c.Detail = CheckPass, fmt.Sprintf("%d consumers for %d partitions of %s", replicas, parts, topic)
	return c
}

func budgetCheck(ctx context.Context, a *Service, store state.System, env map[string]string, replicas, surge int32) Check {
	c := Check{Name: string(store + " connection budget")}
	cl, _, err := primaryCapability[ConnectionLimiter](a, store)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot check: "+err.Error()
		return c
	}
	limit, open, err := cl.ConnectionLimit(ctx)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot read the limit: "+err.Error()
		return c
	}
	per, src := capacity.PoolMax(store, env)
	total := capacity.Connections{PerInstance: per, Instances: int(replicas), Surge: int(surge)}.Total()
	c.Detail = fmt.Sprintf("pool max %d (%s) x %d instances (%d + surge %d) = %d of limit %d (open now %d)",
		per, src, replicas+surge, replicas, surge, total, limit, open)
	switch capacity.Judge(total, limit, 0) {
	case capacity.Over:
		c.Status = CheckFail
	case capacity.Near:
		c.Status = CheckWarn
	default:
		c.Status = CheckPass
	}
	return c
}

func capacityCheck(ctx context.Context, a *Service, r config.RegionConfig, w WorkloadStatus, target int32) Check {
	c := Check{Name: "node capacity"}
	cr, err := capability[CapacityReader](a, state.SystemKube, r)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot check: "+err.Error()
		return c
	}
	nc, err := cr.SchedulableCapacity(ctx)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "cannot read nodes: "+err.Error()
		return c
	}
	add := int64(target - w.Replicas)
	if add <= 0 {
		c.Status, c.Detail = CheckPass, fmt.Sprintf("no new pods; %d schedulable nodes", nc.Nodes)
		return c
	}
	freeCPU := nc.CPUAllocMilli - nc.CPURequestedMilli
	freePods := nc.PodsAlloc - nc.Pods
	needCPU := add * w.CPURequestMilli
	c.Detail = fmt.Sprintf("%d new pods need %dm CPU and %d pod slots; %d schedulable nodes have %dm and %d free",
		add, needCPU, add, nc.Nodes, freeCPU, freePods)
	if nc.Nodes == 0 || needCPU > freeCPU || int(add) > freePods {
		c.Status = CheckFail
	} else {
		c.Status = CheckPass
	}
	return c
}

func (scaleAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	req := p.Request
	sp, err := parseScale(a, req)
	if err != nil {
		return err
	}
	sc, err := capability[Scaler](a, state.SystemKube, sp.region)
	if err != nil {
		return err
	}
	w, err := sc.Workload(ctx, sp.deployment)
	if err != nil {
		return err
	}
	var hpa *state.HPA
	he, herr := capability[HPAEditor](a, state.SystemKube, sp.region)
	if herr == nil {
		if hpa, err = he.HPAFor(ctx, sp.deployment); err != nil {
			return err
		}
	}
	// lo..hi is where the Deployment must settle: one value without an HPA.
	var lo, hi int32
	if hpa != nil {
		newMin, newMax := hpa.Min, hpa.Max
		if sp.hasReplicas {
			newMin = sp.replicas
			if newMax < sp.replicas {
				newMax = sp.replicas
			}
		}
		if sp.hasMin {
			newMin = sp.min
		}
		if sp.hasMax {
			newMax = sp.max
		}
		if newMin < 1 || newMin > newMax {
			return Invalidf("HPA bounds min %d, max %d are not valid", newMin, newMax)
		}
		progress(Progress{Step: "hpa", Detail: fmt.Sprintf("set %s bounds %d..%d", hpa.Name, newMin, newMax), Total: 2})
		if err := he.SetHPABounds(ctx, hpa.Name, newMin, newMax, req.DryRun); err != nil {
			return fmt.Errorf("set HPA %s bounds: %w", hpa.Name, err)
		}
		lo, hi = newMin, newMax
		res.Summary = fmt.Sprintf("HPA %s owns %s: bounds set to %d..%d (replicas were not set directly)", hpa.Name, sp.deployment, newMin, newMax)
	} else {
		if !sp.hasReplicas {
			return Invalidf("scale parameters min and max need an HPA, and no HorizontalPodAutoscaler targets %s", sp.deployment)
		}
		progress(Progress{Step: "scale", Detail: fmt.Sprintf("%s: %d -> %d", sp.deployment, w.Replicas, sp.replicas), Total: 2})
		if err := sc.SetReplicas(ctx, sp.deployment, sp.replicas, req.DryRun); err != nil {
			return fmt.Errorf("scale %s: %w", sp.deployment, err)
		}
		lo, hi = sp.replicas, sp.replicas
		res.Summary = fmt.Sprintf("%s scaled from %d to %d replicas", sp.deployment, w.Replicas, sp.replicas)
	}
	if req.DryRun {
		res.Summary = "dry run (server side): " + res.Summary
		return nil
	}
	res.Undo = scaleUndo(req, w, hpa)
	o := a.opts()
	progress(Progress{Step: "verify", Detail: fmt.Sprintf("waiting for %d..%d replicas ready", lo, hi), Done: 1, Total: 2})
	var settled int32
	detail, err := waitFor(ctx, o.VerifyTimeout, o.PollInterval, func(ctx context.Context) (bool, string, error) {
		w, err := sc.Workload(ctx, sp.deployment)
		if err != nil {
			return false, "", err
		}
		settled = w.Replicas
		d := fmt.Sprintf("%d/%d ready, %d updated, %d available", w.Ready, w.Replicas, w.Updated, w.Available)
		if w.Replicas < lo || w.Replicas > hi {
			return false, fmt.Sprintf("%d replicas, want %d..%d", w.Replicas, lo, hi), nil
		}
		return w.Current && w.Ready == w.Replicas && w.Updated == w.Replicas && w.Available == w.Replicas, d, nil
	})
	st := CheckPass
	if err != nil {
		st, detail = CheckFail, err.Error()
	}
	res.Verified = append(res.Verified, Check{Name: "replicas ready", Status: st, Detail: detail})
	if st == CheckPass && (req.Target == "consumer" || sp.deployment == serviceDeployments["consumer"]) {
		progress(Progress{Step: "verify", Detail: "waiting for the consumer group to rebalance", Done: 1, Total: 2})
		res.Verified = append(res.Verified, verifyGroup(ctx, a, settled))
	}
	if st == CheckPass && sp.deployment == serviceDeployments["api"] {
		progress(Progress{Step: "verify", Detail: "waiting for load to spread over the instances", Done: 1, Total: 2})
		res.Verified = append(res.Verified, verifyLoadSpread(ctx, a, sp.deployment, settled))
	}
	progress(Progress{Step: "verify", Detail: "done", Done: 2, Total: 2})
	return nil
}

// verifyGroup waits for members == replicas. A group with no members at all
// has no consumers connected to this Kafka: that is reported, not waited on.
func verifyGroup(ctx context.Context, a *Service, replicas int32) Check {
	c := Check{Name: "group rebalanced"}
	gr, r, err := primaryCapability[GroupReader](a, state.SystemKafka)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "not checked: "+err.Error()
		return c
	}
	o := a.opts()
	timeout := o.VerifyTimeout / 2
	detail, err := waitFor(ctx, timeout, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		gi, err := gr.GroupInfo(ctx, groupOf(r))
		if err != nil {
			return false, "", err
		}
		if gi.Members == 0 {
			return true, "no members: no consumer is connected to this Kafka", nil
		}
		return gi.Members == int(replicas) && gi.State == "Stable",
			fmt.Sprintf("%d members (want %d), state %s", gi.Members, replicas, gi.State), nil
	})
	switch {
	case err != nil:
		c.Status, c.Detail = CheckFail, err.Error()
	case strings.HasPrefix(detail, "no members"):
		c.Status, c.Detail = CheckWarn, detail
	default:
		c.Status, c.Detail = CheckPass, detail
	}
	return c
}

// scaleUndo is the scale back to what execute found: the HPA's bounds, or
// the Deployment's replicas.
func scaleUndo(req Request, w WorkloadStatus, hpa *state.HPA) *Request {
	u := &Request{Kind: KindScale, Target: req.Target, Params: map[string]string{}}
	if hpa != nil {
		u.Params["min"], u.Params["max"] = fmt.Sprint(hpa.Min), fmt.Sprint(hpa.Max)
	} else {
		u.Params["replicas"] = fmt.Sprint(w.Replicas)
	}
	if r := req.Params[ParamRegion]; r != "" {
		u.Params[ParamRegion] = r
	}
	return u
}
