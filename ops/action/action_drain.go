package action

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// DrainOptions are kubectl drain's options.
type DrainOptions struct {
	// GracePeriodSeconds for each pod; negative uses the pod's own.
	GracePeriodSeconds int
	// Timeout bounds the whole drain; zero means no limit.
	Timeout time.Duration
	// IgnoreDaemonSets leaves DaemonSet pods (they would come straight back).
	IgnoreDaemonSets bool
	// DeleteEmptyDirData allows evicting pods with emptyDir volumes (their data is lost).
	DeleteEmptyDirData bool
	// ForceUnmanaged deletes pods no controller will recreate.
	ForceUnmanaged bool
	// DisableEviction deletes instead of evicting: PDBs are bypassed.
	DisableEviction bool
	// DryRun asks the API server to validate cordon and evictions without persisting them.
	DryRun bool
	// PDBBlockWait is how long an eviction a PDB refuses is retried before the
	// drain stops and reports the block.
	PDBBlockWait time.Duration
}

// DrainPod is one pod a drain moves or leaves.
type DrainPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Owner     string `json:"owner,omitempty"` // Kind/name of the controller
	Reason    string `json:"reason,omitempty"`
}

// PDBBlock is a PodDisruptionBudget that refuses (some of) the evictions.
type PDBBlock struct {
	Namespace          string   `json:"namespace"`
	Name               string   `json:"name"`
	DisruptionsAllowed int32    `json:"disruptionsAllowed"`
	Pods               []string `json:"pods"` // pods on the node it covers
}

// DrainPreview is what a drain of a node would do.
type DrainPreview struct {
	Node     string     `json:"node"`
	Cordoned bool       `json:"cordoned"`
	Move     []DrainPod `json:"move"`
	Skip     []DrainPod `json:"skip,omitempty"`
	// Errors that stop the drain with these options (emptyDir, unmanaged pods).
	Errors []string `json:"errors,omitempty"`
	// BlockingPDBs allow fewer disruptions than the drain needs.
	BlockingPDBs []PDBBlock `json:"blockingPDBs,omitempty"`
	// SoleHolders are controllers whose every replica runs on this node.
	SoleHolders []string `json:"soleHolders,omitempty"`
}

// DrainEvent is progress of one pod.
type DrainEvent struct {
	Pod    string // namespace/name
	Phase  string // evicting, blocked, evicted, gone, failed
	Detail string
	Done   int
	Total  int
}

// Drainer previews and drains nodes.
type Drainer interface {
	PreviewDrain(ctx context.Context, node string, o DrainOptions) (*DrainPreview, error) // ErrNotFound
	// Drain cordons the node and evicts its pods. A PDB that keeps refusing an
	// eviction for PDBBlockWait ends the drain with an error wrapping ErrBlocked.
	Drain(ctx context.Context, node string, o DrainOptions, progress func(DrainEvent)) error
}

// Cordoner marks nodes (un)schedulable.
type Cordoner interface {
	SetUnschedulable(ctx context.Context, node string, unschedulable, dryRun bool) (changed bool, err error) // ErrNotFound
}

var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func parseNode(a *Service, req Request) (string, config.RegionConfig, error) {
	node := req.Target
	if node == "" {
		return "", config.RegionConfig{}, Invalidf("%s needs a NODE", req.Kind)
	}
	if len(node) > 253 || !nodeNameRE.MatchString(node) {
		return "", config.RegionConfig{}, Invalidf("node name %q is not a valid Kubernetes name (lowercase letters, digits, '-', '.')", node)
	}
	r, err := a.primaryWith(state.SystemKube, req.Params["region"])
	return node, r, err
}

func drainOptions(a *Service, req Request) (DrainOptions, error) {
	o := DrainOptions{GracePeriodSeconds: -1, IgnoreDaemonSets: true, DryRun: req.DryRun, PDBBlockWait: a.opts().PDBBlockWait, Timeout: a.opts().DrainTimeout}
	ps, err := paramsOf(req)
	if err != nil {
		return o, err
	}
	if n, has := ps.int("grace-period"); has {
		o.GracePeriodSeconds = n
	}
	if d, has := ps.duration("timeout"); has {
		if d < 0 {
			return o, Invalidf("drain parameter timeout %s is negative", d)
		}
		o.Timeout = d
	}
	if d, has := ps.duration("pdb-wait"); has {
		if d <= 0 {
			return o, Invalidf("drain parameter pdb-wait %s must be positive", d)
		}
		o.PDBBlockWait = d
	}
	o.IgnoreDaemonSets = ps.bool("ignore-daemonsets")
	o.DeleteEmptyDirData = ps.bool("delete-emptydir-data")
	o.ForceUnmanaged = ps.bool("force-unmanaged")
	o.DisableEviction = ps.bool("disable-eviction")
	return o, nil
}

type drainAction struct{}

func (drainAction) params() []ParamSpec {
	return []ParamSpec{
		{Name: "grace-period", Type: ParamInt, Default: "-1", Help: "seconds each pod gets to terminate (-1: the pod's own)"},
		{Name: "timeout", Type: ParamDuration, Help: "give up after this long (default 5m)"},
		{Name: "pdb-wait", Type: ParamDuration, Default: "10s", Help: "how long an eviction a PodDisruptionBudget refuses is retried before the drain reports the block"},
		{Name: "ignore-daemonsets", Type: ParamBool, Default: "true", Help: "leave DaemonSet pods in place"},
		{Name: "delete-emptydir-data", Type: ParamBool, Default: "false", Help: "evict pods with emptyDir volumes (their data is lost)", OperatorOnly: true},
		{Name: "force-unmanaged", Type: ParamBool, Default: "false", Help: "delete pods that no controller recreates", OperatorOnly: true},
		{Name: "disable-eviction", Type: ParamBool, Default: "false", Help: "delete instead of evict (bypasses PodDisruptionBudgets)", OperatorOnly: true},
	}
}

func (drainAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	node, r, err := parseNode(a, req)
	if err != nil {
		return err
	}
	o, err := drainOptions(a, req)
	if err != nil {
		return err
	}
	d, err := capability[Drainer](a, state.SystemKube, r)
	if err != nil {
		return err
	}
	pv, err := d.PreviewDrain(ctx, node, o)
	if errors.Is(err, ErrNotFound) {
		return Invalidf("node %q not found in region %s: %v", node, r.Name, err)
	}
	if err != nil {
		return err
	}
	p.Destructive = true
	p.Summary = fmt.Sprintf("drain %s: cordon it and evict %d pods (%d left in place)", node, len(pv.Move), len(pv.Skip))
	if pv.Cordoned {
		p.Summary += "; the node is already cordoned"
	}
	p.Steps = append(p.Steps, "cordon "+node)
	for _, pod := range pv.Move {
		line := "evict " + pod.Namespace + "/" + pod.Name
		if pod.Owner != "" {
			line += " (" + pod.Owner + ")"
		}
		p.Steps = append(p.Steps, line)
	}
	for _, pod := range pv.Skip {
		p.Effects = append(p.Effects, fmt.Sprintf("stays: %s/%s (%s)", pod.Namespace, pod.Name, pod.Reason))
	}
	p.Effects = append(p.Effects, fmt.Sprintf("%d pods move to other nodes; %s stays unschedulable until uncordon", len(pv.Move), node))
	p.Checks = append(p.Checks, Check{Name: "pods to move", Status: CheckPass, Detail: fmt.Sprintf("%d pods", len(pv.Move))})
	for _, e := range pv.Errors {
		p.Checks = append(p.Checks, Check{Name: "drainable", Status: CheckFail, Hard: true, Detail: e})
	}
	if o.DisableEviction {
		p.Warnings = append(p.Warnings, "disable-eviction deletes pods directly: PodDisruptionBudgets are not honoured")
	}
	for _, b := range pv.BlockingPDBs {
		st := CheckFail
		detail := fmt.Sprintf("PodDisruptionBudget %s/%s allows %d disruptions and covers %d pods on %s (%s): evictions would be refused",
			b.Namespace, b.Name, b.DisruptionsAllowed, len(b.Pods), node, strings.Join(b.Pods, ", "))
		if b.DisruptionsAllowed > 0 {
			st = CheckWarn
			detail = fmt.Sprintf("PodDisruptionBudget %s/%s allows %d disruptions at a time for %d pods on %s: the drain waits for replacements between evictions",
				b.Namespace, b.Name, b.DisruptionsAllowed, len(b.Pods), node)
		}
		if o.DisableEviction {
			st = CheckWarn
		}
		p.Checks = append(p.Checks, Check{Name: "pod disruption budget", Status: st, Detail: detail})
	}
	if len(pv.BlockingPDBs) == 0 {
		p.Checks = append(p.Checks, Check{Name: "pod disruption budget", Status: CheckPass, Detail: "no PDB blocks these evictions"})
	}
	for _, s := range pv.SoleHolders {
		p.Checks = append(p.Checks, Check{Name: "replicas on one node", Status: CheckWarn,
			Detail: s + ": every replica runs on " + node + "; it is unavailable until its replacements are ready"})
	}
	return nil
}

func (drainAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	node, r, err := parseNode(a, p.Request)
	if err != nil {
		return err
	}
	o, err := drainOptions(a, p.Request)
	if err != nil {
		return err
	}
	d, err := capability[Drainer](a, state.SystemKube, r)
	if err != nil {
		return err
	}
	// Only a drain that cordoned the node is undone by uncordoning it.
	before, err := d.PreviewDrain(ctx, node, DrainOptions{IgnoreDaemonSets: true, GracePeriodSeconds: -1})
	if err != nil {
		return err
	}
	moved := 0
	var blocked []string
	err = d.Drain(ctx, node, o, func(ev DrainEvent) {
		if ev.Phase == "gone" || (ev.Phase == "evicted" && o.DryRun) {
			moved++
		}
		if ev.Phase == "blocked" {
			blocked = append(blocked, ev.Pod+": "+ev.Detail)
		}
		progress(Progress{Step: ev.Phase, Detail: ev.Pod + ifDetail(ev.Detail), Done: ev.Done, Total: ev.Total})
	})
	if err != nil {
		return err
	}
	if o.DryRun {
		res.Summary = fmt.Sprintf("dry run (server side): %s would be cordoned and %d pods evicted", node, moved)
		return nil
	}
	res.Summary = fmt.Sprintf("%s drained: %d pods moved", node, moved)
	if !before.Cordoned {
		res.Undo = nodeUndo(p.Request, false)
	}
	// Verify: the node is cordoned and holds no evictable pod.
	pv, err := d.PreviewDrain(ctx, node, o)
	if err != nil {
		res.Verified = append(res.Verified, Check{Name: "node empty", Status: CheckFail, Detail: err.Error()})
		return nil
	}
	if !pv.Cordoned {
		res.Verified = append(res.Verified, Check{Name: "cordoned", Status: CheckFail, Detail: node + " is schedulable"})
	} else {
		res.Verified = append(res.Verified, Check{Name: "cordoned", Status: CheckPass, Detail: node + " is unschedulable"})
	}
	if len(pv.Move) > 0 {
		var names []string
		for _, pod := range pv.Move {
			names = append(names, pod.Namespace+"/"+pod.Name)
		}
		res.Verified = append(res.Verified, Check{Name: "node empty", Status: CheckFail, Detail: "still on the node: " + strings.Join(names, ", ")})
	} else {
		res.Verified = append(res.Verified, Check{Name: "node empty", Status: CheckPass, Detail: fmt.Sprintf("no evictable pods left (%d stay: DaemonSet/mirror)", len(pv.Skip))})
	}
	return nil
}

func ifDetail(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

type cordonAction struct{ cordon bool }

func (cordonAction) params() []ParamSpec { return nil }

func (c cordonAction) verb() string {
	if c.cordon {
		return "cordon"
	}
	return "uncordon"
}

func (c cordonAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	node, r, err := parseNode(a, req)
	if err != nil {
		return err
	}
	d, err := capability[Drainer](a, state.SystemKube, r)
	if err != nil {
		return err
	}
	pv, err := d.PreviewDrain(ctx, node, DrainOptions{IgnoreDaemonSets: true, GracePeriodSeconds: -1})
	if errors.Is(err, ErrNotFound) {
		return Invalidf("node %q not found in region %s: %v", node, r.Name, err)
	}
	if err != nil {
		return err
	}
	p.Steps = append(p.Steps, fmt.Sprintf("set spec.unschedulable=%v on %s", c.cordon, node))
	switch {
	case c.cordon && pv.Cordoned:
		p.Summary = node + " is already cordoned: nothing to change"
	case !c.cordon && !pv.Cordoned:
		p.Summary = node + " is already schedulable: nothing to change"
	case c.cordon:
		p.Summary = fmt.Sprintf("cordon %s: no new pods are scheduled there; its %d pods keep running", node, len(pv.Move)+len(pv.Skip))
	default:
		p.Summary = fmt.Sprintf("uncordon %s: the scheduler may place pods there again", node)
	}
	p.Checks = append(p.Checks, Check{Name: "node exists", Status: CheckPass, Detail: node})
	return nil
}

func (c cordonAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	node, r, err := parseNode(a, p.Request)
	if err != nil {
		return err
	}
	cd, err := capability[Cordoner](a, state.SystemKube, r)
	if err != nil {
		return err
	}
	progress(Progress{Step: c.verb(), Detail: node, Total: 1})
	changed, err := cd.SetUnschedulable(ctx, node, c.cordon, p.Request.DryRun)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.verb(), node, err)
	}
	schedulable := "schedulable"
	if c.cordon {
		schedulable = "unschedulable"
	}
	switch {
	case p.Request.DryRun:
		res.Summary = fmt.Sprintf("dry run (server side): %s would be %s", node, schedulable)
		return nil
	case changed:
		res.Summary = fmt.Sprintf("%s is now %s", node, schedulable)
		res.Undo = nodeUndo(p.Request, !c.cordon)
	default:
		res.Summary = fmt.Sprintf("%s was already %s", node, schedulable)
	}
	d, err := capability[Drainer](a, state.SystemKube, r)
	if err == nil {
		pv, perr := d.PreviewDrain(ctx, node, DrainOptions{IgnoreDaemonSets: true, GracePeriodSeconds: -1})
		switch {
		case perr != nil:
			res.Verified = append(res.Verified, Check{Name: schedulable, Status: CheckFail, Detail: perr.Error()})
		case pv.Cordoned == c.cordon:
			res.Verified = append(res.Verified, Check{Name: schedulable, Status: CheckPass, Detail: node + " is " + schedulable})
		default:
			res.Verified = append(res.Verified, Check{Name: schedulable, Status: CheckFail, Detail: node + " is not " + schedulable})
		}
	}
	progress(Progress{Step: c.verb(), Detail: "done", Done: 1, Total: 1})
	return nil
}

// nodeUndo sets the node's schedulability back: cordon or uncordon.
func nodeUndo(req Request, cordon bool) *Request {
	u := &Request{Kind: KindUncordon, Target: req.Target}
	if cordon {
		u.Kind = KindCordon
	}
	if r := req.Params[ParamRegion]; r != "" {
		u.Params = map[string]string{ParamRegion: r}
	}
	return u
}
