package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/audit"
)

// undoAction reverses an audited action by running the way back its result
// recorded (Result.Undo), planned and checked like any action.
type undoAction struct{}

func (undoAction) params() []ParamSpec { return nil }

// irreversible says why a kind cannot be undone and what the way back is.
func (a *Service) irreversible(kind Kind, target string) (string, bool) {
	switch kind {
	case KindPartitions:
		return "Kafka cannot remove partitions, and keys already map to the new ones; the way back is a new topic with the old count and moving producers and the consumer group to it", true
	case KindPromote:
		back := "the previous primary region"
		for _, r := range a.Config.Regions {
			if r.Name != target {
				back = r.Name
				break
			}
		}
		return fmt.Sprintf("a promote cannot be rolled back in place: the old primary was fenced and the new one took writes. The way back is a switchover: `wotr-tui promote %s --rebuild-old-primary` rebuilds %s's PostgreSQL as a standby of %s and promotes it back", back, back, target), true
	case KindBackup:
		return "a backup changes no data; to drop the set, delete its directory under the backup dir (it stays listed in the catalog as taken)", true
	case KindUndo:
		return "an undo is not undone; run the original action again instead", true
	}
	if strings.HasPrefix(string(kind), "restore") {
		return "a restore replaces the data; the way back is another restore from a later backup set (`wotr-tui backups` lists them)", true
	}
	return "", false
}

// intentKey carries the running action's intent id, so an undo does not
// count its own record as an earlier undo.
type intentKey struct{}

// undoTarget finds the record of action id and whether an undo of it has
// already run (or is running).
func (a *Service) undoTarget(ctx context.Context, id string) (*audit.Record, *audit.Record, error) {
	self, _ := ctx.Value(intentKey{}).(string)
	recs, err := a.Audit.Records(ctx, 0)
	var dmg *audit.DamageError
	if err != nil && !errors.As(err, &dmg) {
		return nil, nil, err
	}
	var target, undone *audit.Record
	for i := range recs {
		r := &recs[i]
		if r.Kind != audit.KindRefusal && r.ActionID() == id && target == nil {
			target = r
		}
		if r.Undoes == id && r.Kind != audit.KindRefusal && undone == nil && (self == "" || r.ActionID() != self) &&
			(r.Outcome == audit.OutcomeOK || r.Outcome == audit.OutcomeRunning) && !r.DryRun {
			undone = r
		}
	}
	if target == nil {
		return nil, nil, Invalidf("audit record %q is not in %s (wotr-tui audit lists the IDs)", id, a.Audit.Path)
	}
	return target, undone, nil
}

func (undoAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	id := strings.TrimSpace(req.Target)
	if id == "" {
		return Invalidf("undo needs an AUDIT_ID")
	}
	rec, undone, err := a.undoTarget(ctx, id)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s %s (%s, %s)", rec.Action, rec.Target, id, rec.Time.Local().Format(time.RFC3339))
	p.Summary = "undo " + what
	refuse := func(name, detail string) error {
		p.Checks = append(p.Checks, Check{Name: name, Status: CheckFail, Hard: true, Detail: detail})
		return nil
	}
	if why, ok := a.irreversible(Kind(rec.Action), rec.Target); ok {
		return refuse("reversible", fmt.Sprintf("%s cannot be undone: %s", rec.Action, why))
	}
	if rec.DryRun {
		return refuse("changed something", what+" was a dry run: it changed nothing")
	}
	if rec.Outcome != audit.OutcomeOK {
		return refuse("completed", fmt.Sprintf("%s ended %s: what it changed is not known, so there is no recorded state to go back to; check the state and act directly", what, rec.Outcome))
	}
	if undone != nil {
		how := "was already undone"
		if undone.Outcome == audit.OutcomeRunning {
			how = "is being undone"
		}
		return refuse("not undone yet", fmt.Sprintf("%s %s by %s at %s", what, how, undone.ActionID(), undone.Time.Local().Format(time.RFC3339)))
	}
	var res Result
	if len(rec.Result) > 0 {
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			return fmt.Errorf("audit record %s: result: %w", id, err)
		}
	}
	if res.Undo == nil {
		return refuse("way back recorded", fmt.Sprintf("%s recorded no previous state: it changed nothing, or ran before undo was recorded", what))
	}
	if rec.Context != a.Config.Name {
		return refuse("same context", fmt.Sprintf("%s ran in context %q, this is %q", what, rec.Context, a.Config.Name))
	}
	inner, err := planInner(ctx, a, *res.Undo, req.DryRun)
	if err != nil {
		return fmt.Errorf("planning the way back (%s %s): %w", res.Undo.Kind, res.Undo.Target, err)
	}
	p.Inner = inner
	p.Summary += ": " + inner.Summary
	p.Steps = append(p.Steps, inner.Steps...)
	p.Checks = append(p.Checks, Check{Name: "way back recorded", Status: CheckPass, Detail: describeRequest(*res.Undo)})
	p.Checks = append(p.Checks, inner.Checks...)
	p.Effects, p.Warnings, p.OffsetReset = inner.Effects, inner.Warnings, inner.OffsetReset
	if r := inner.OffsetReset; r != nil && r.Replayed > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the group has consumed past some of the offsets the reset replaced: going back to them replays %d events", r.Replayed))
	}
	p.Destructive = inner.Destructive
	return nil
}

func planInner(ctx context.Context, a *Service, req Request, dryRun bool) (*Plan, error) {
	req.DryRun = dryRun
	impl, err := implFor(req.Kind)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Request: req, Context: a.Config.Name, ConfirmPhrase: "yes"}
	if err := impl.plan(ctx, a, req, p); err != nil {
		return nil, err
	}
	p.Blocked = blocked(p.Checks, false)
	return p, nil
}

func describeRequest(r Request) string {
	s := string(r.Kind) + " " + r.Target
	names := make([]string, 0, len(r.Params))
	for k := range r.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		s += fmt.Sprintf(" --%s=%s", name, r.Params[name])
	}
	return s
}

func (undoAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	if p.Inner == nil {
		return Invalidf("undo plan has no inner plan")
	}
	// Checked again: another undo of the same record may have run since the plan.
	_, undone, err := a.undoTarget(ctx, p.Request.Target)
	if err != nil {
		return err
	}
	if undone != nil {
		return Refusedf("%s was already undone by %s", p.Request.Target, undone.ActionID())
	}
	impl, err := implFor(p.Inner.Request.Kind)
	if err != nil {
		return err
	}
	inner := *p.Inner
	inner.Request.DryRun = p.Request.DryRun
	if err := impl.execute(ctx, a, &inner, res, progress); err != nil {
		return err
	}
	// The way back of an undo is the original action, run again.
	res.Undo = nil
	res.Summary = "undo " + p.Request.Target + ": " + res.Summary
	return nil
}
