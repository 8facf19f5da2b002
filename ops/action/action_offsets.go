package action

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// Offset reset parameters.
const (
	ParamTopic         = "topic"
	ParamStopConsumers = "stop-consumers"
)

type offsetResetAction struct{}

func (offsetResetAction) params() []ParamSpec {
	return []ParamSpec{
		{Name: ParamTopic, Type: ParamString, Help: "the topic whose offsets move (required)"},
		{Name: string(ResetEarliest), Type: ParamBool, Help: "move to the log start: replay everything retained"},
		{Name: string(ResetLatest), Type: ParamBool, Help: "move to the log end: skip everything not yet consumed"},
		{Name: string(ResetDatetime), Type: ParamString, Help: "move to the first record at or after this RFC 3339 time"},
		{Name: string(ResetShift), Type: ParamInt, Help: "move by N from the committed offset (negative replays); past the log start is refused"},
		{Name: string(ResetBackup), Type: ParamString, Help: "move to the offsets recorded with this backup set ID"},
		{Name: string(ResetOffsets), Type: ParamString, Help: "move to explicit offsets, PARTITION=OFFSET,... (what undo uses)"},
		{Name: ParamStopConsumers, Type: ParamBool, Help: "scale the consumer Deployment to 0 first and back after (needed while the group has members)"},
	}
}

// resetRequest is a parsed offset reset.
type resetRequest struct {
	group, topic string
	mode         ResetMode
	shift        int64
	at           time.Time
	target       map[int32]int64 // backup and explicit modes
	backupID     string
	stop         bool
	region       config.RegionConfig
}

func parseReset(a *Service, req Request) (*resetRequest, error) {
	rr := &resetRequest{group: strings.TrimSpace(req.Target)}
	if rr.group == "" {
		return nil, Invalidf("offset reset needs a consumer GROUP")
	}
	ps, err := paramsOf(req)
	if err != nil {
		return nil, err
	}
	rr.topic, _ = ps[ParamTopic].(string)
	if strings.TrimSpace(rr.topic) == "" {
		return nil, Invalidf("offset reset of %s needs --topic: a reset moves one topic's offsets", rr.group)
	}
	var modes []string
	for _, m := range ResetModes {
		v, given := ps[string(m)]
		if b, isBool := v.(bool); given && (!isBool || b) {
			modes = append(modes, "--"+string(m))
			rr.mode = m
		}
	}
	if len(modes) != 1 {
		got := "none"
		if len(modes) > 0 {
			got = strings.Join(modes, " and ")
		}
		return nil, Invalidf("offset reset needs exactly one of %s (got %s)", joinModes(), got)
	}
	switch rr.mode {
	case ResetShift:
		n, _ := ps.int(string(ResetShift))
		rr.shift = int64(n)
	case ResetDatetime:
		s := ps[string(ResetDatetime)].(string)
		if rr.at, err = time.Parse(time.RFC3339, s); err != nil {
			return nil, Invalidf("to-datetime %q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", s)
		}
		if now := a.now(); rr.at.After(now) {
			return nil, Invalidf("to-datetime %s is in the future (now %s): a reset moves to records that exist", rr.at.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	case ResetOffsets:
		if rr.target, err = ParseOffsets(ps[string(ResetOffsets)].(string)); err != nil {
			return nil, err
		}
	}
	rr.stop = ps.bool(ParamStopConsumers)
	if rr.region, err = a.primaryWith(state.SystemKafka, req.Params[ParamRegion]); err != nil {
		return nil, err
	}
	if rr.mode == ResetBackup {
		rr.backupID = ps[string(ResetBackup)].(string)
		if rr.target, err = backupOffsets(a, rr.backupID, rr.group, rr.topic, rr.region); err != nil {
			return nil, err
		}
	}
	return rr, nil
}

// backupOffsets are the offsets a backup set recorded for topic.
func backupOffsets(a *Service, id, group, topic string, r config.RegionConfig) (map[int32]int64, error) {
	dir := backup.Dir(a.Config)
	entries, err := backup.ListEntries(dir)
	if err != nil {
		return nil, err
	}
	var sets []string
	seen := map[string]bool{}
	var recorded map[string]int64
	found := false
	for _, e := range entries {
		if !seen[e.ID] {
			seen[e.ID] = true
			sets = append(sets, e.ID)
		}
		if e.ID == id {
			found = true
			if len(e.KafkaOffsets) > 0 {
				recorded = e.KafkaOffsets
			}
		}
	}
	if !found {
		list := "none"
		if len(sets) > 0 {
			list = strings.Join(sets, ", ")
		}
		return nil, Invalidf("to-backup %q is not a backup set in the catalog %s (sets: %s)", id, dir, list)
	}
	if recorded == nil {
		return nil, Invalidf("to-backup %q: the set recorded no Kafka offsets (no Kafka endpoint when it was taken)", id)
	}
	// A set records the offsets of the region's group only.
	if g := groupOf(r); g != group {
		return nil, Invalidf("to-backup %q recorded the offsets of group %q, not %q", id, g, group)
	}
	out := TopicOffsets(recorded, topic)
	if len(out) == 0 {
		return nil, Invalidf("to-backup %q recorded no offsets of topic %q", id, topic)
	}
	return out, nil
}

// resolve reads the group's offsets and computes the reset from them.
func (rr *resetRequest) resolve(ctx context.Context, or OffsetResetter) (GroupOffsets, OffsetReset, error) {
	g, err := or.GroupOffsets(ctx, rr.group, rr.topic)
	if errors.Is(err, ErrNotFound) {
		return g, OffsetReset{}, Invalidf("topic %q does not exist in region %s", rr.topic, rr.region.Name)
	}
	if err != nil {
		return g, OffsetReset{}, err
	}
	if !g.Known {
		return g, OffsetReset{}, Invalidf("consumer group %q does not exist in region %s: it has no members and no committed offsets", rr.group, rr.region.Name)
	}
	target := rr.target
	if rr.mode == ResetDatetime {
		if target, err = or.OffsetsAfter(ctx, rr.topic, rr.at); err != nil {
			return g, OffsetReset{}, err
		}
	}
	r, err := PlanReset(g, rr.mode, rr.shift, target)
	return g, r, err
}

// consumerDeployment is the Deployment that runs the region's group.
func consumerDeployment(rr *resetRequest) (string, error) {
	if g := groupOf(rr.region); g != rr.group {
		return "", fmt.Errorf("group %q is not run by %s (it runs %q): stop its consumers yourself", rr.group, serviceDeployments["consumer"], g)
	}
	return serviceDeployments["consumer"], nil
}

func (offsetResetAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	rr, err := parseReset(a, req)
	if err != nil {
		return err
	}
	or, err := capability[OffsetResetter](a, state.SystemKafka, rr.region)
	if err != nil {
		return err
	}
	g, reset, err := rr.resolve(ctx, or)
	if err != nil {
		return err
	}
	p.OffsetReset = &reset
	p.Destructive = true
	p.Summary = fmt.Sprintf("reset %s on %s %s: %d events replayed, %d skipped", rr.group, rr.topic, resetHow(rr), reset.Replayed, reset.Skipped)
	for _, pr := range reset.Partitions {
		p.Effects = append(p.Effects, describePartition(rr.topic, pr))
		if pr.Clamped != "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s/%d: %s; clamped to %d", rr.topic, pr.Partition, pr.Clamped, pr.New))
		}
	}
	if reset.Skipped > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d events will be skipped: the group never processes them", reset.Skipped))
	}
	members := Check{Name: "group members", Status: CheckPass, Detail: fmt.Sprintf("%s is %s with no members", rr.group, stateOr(g.State))}
	var stopSteps, startSteps []string
	if rr.stop || g.Members > 0 {
		dep, derr := consumerDeployment(rr)
		w, replicas, kerr := a.consumerReplicas(ctx, rr, dep, derr)
		switch {
		case !rr.stop:
			members = Check{Name: "group members", Status: CheckFail, Hard: true,
				Detail: fmt.Sprintf("%s has %d live member(s), which would overwrite the reset; pass --stop-consumers to scale %s to 0, reset, and scale back", rr.group, g.Members, serviceDeployments["consumer"])}
		case kerr != nil:
			members = Check{Name: "stop consumers", Status: CheckFail, Hard: true, Detail: kerr.Error()}
		default:
			members = Check{Name: "stop consumers", Status: CheckPass,
				Detail: fmt.Sprintf("%s has %d member(s); %s (%d replicas) is scaled to 0 first and back to %d after", rr.group, g.Members, dep, replicas, replicas)}
			stopSteps = []string{fmt.Sprintf("scale %s/%s to 0 and wait until group %s has no members", w.Namespace, dep, rr.group)}
			if note := a.hpaNote(ctx, rr, dep); note != "" {
				p.Warnings = append(p.Warnings, note)
			}
			startSteps = []string{fmt.Sprintf("scale %s back to %d and wait until the group has members again", dep, replicas)}
		}
	}
	p.Checks = append(p.Checks, Check{Name: "topic", Status: CheckPass, Detail: fmt.Sprintf("%s: %d partitions", rr.topic, len(g.Partitions))}, members)
	p.Steps = append(p.Steps, stopSteps...)
	p.Steps = append(p.Steps, fmt.Sprintf("commit the new offsets of %s on %s (%d partitions)", rr.group, rr.topic, len(reset.NewOffsets())),
		"verify: committed offsets equal the plan")
	p.Steps = append(p.Steps, startSteps...)
	return nil
}

// consumerReplicas reads the consumer Deployment for a stop-and-restart.
func (a *Service) consumerReplicas(ctx context.Context, rr *resetRequest, dep string, depErr error) (WorkloadStatus, int32, error) {
	if depErr != nil {
		return WorkloadStatus{}, 0, depErr
	}
	kr, err := a.primaryWith(state.SystemKube, rr.region.Name)
	if err != nil {
		return WorkloadStatus{}, 0, err
	}
	sc, err := capability[Scaler](a, state.SystemKube, kr)
	if err != nil {
		return WorkloadStatus{}, 0, err
	}
	w, err := sc.Workload(ctx, dep)
	if errors.Is(err, ErrNotFound) {
		return w, 0, fmt.Errorf("deployment %q not found in region %s: cannot stop the consumers", dep, kr.Name)
	}
	if err != nil {
		return w, 0, err
	}
	return w, w.Replicas, nil
}

// hpaNote: an HPA does not undo the stop, since Kubernetes disables
// autoscaling of a target at 0 replicas until it is scaled up again.
func (a *Service) hpaNote(ctx context.Context, rr *resetRequest, dep string) string {
	kr, err := a.primaryWith(state.SystemKube, rr.region.Name)
	if err != nil {
		return ""
	}
	he, err := capability[HPAEditor](a, state.SystemKube, kr)
	if err != nil {
		return ""
	}
	if h, _ := he.HPAFor(ctx, dep); h != nil {
		return fmt.Sprintf("HPA %s owns %s: it is inactive while %s is at 0 replicas and resumes (bounds %d..%d) when it is scaled back", h.Name, dep, dep, h.Min, h.Max)
	}
	return ""
}

func resetHow(rr *resetRequest) string {
	switch rr.mode {
	case ResetShift:
		return fmt.Sprintf("by %+d", rr.shift)
	case ResetDatetime:
		return "to " + rr.at.UTC().Format(time.RFC3339)
	case ResetBackup:
		return "to the offsets of backup set " + strconv.Quote(rr.backupID)
	case ResetOffsets:
		return "to " + FormatOffsets(rr.target)
	}
	return string(rr.mode)
}

func stateOr(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func describePartition(topic string, pr PartitionReset) string {
	cur := "none"
	if pr.Current != NoCommit {
		cur = strconv.FormatInt(pr.Current, 10)
	}
	if pr.New == NoCommit {
		return fmt.Sprintf("%s/%d: no commit, left as is (log %d..%d)", topic, pr.Partition, pr.LogStart, pr.LogEnd)
	}
	d := fmt.Sprintf("%s/%d: %s -> %d (log %d..%d)", topic, pr.Partition, cur, pr.New, pr.LogStart, pr.LogEnd)
	switch {
	case pr.Replayed > 0:
		d += fmt.Sprintf(", replays %d", pr.Replayed)
	case pr.Skipped > 0:
		d += fmt.Sprintf(", skips %d", pr.Skipped)
	}
	return d
}

func (offsetResetAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	rr, err := parseReset(a, p.Request)
	if err != nil {
		return err
	}
	or, err := capability[OffsetResetter](a, state.SystemKafka, rr.region)
	if err != nil {
		return err
	}
	dry := p.Request.DryRun
	var sc Scaler
	var dep string
	var previous int32
	stopped := false
	if rr.stop {
		if dep, err = consumerDeployment(rr); err != nil {
			return Refusedf("%v", err)
		}
		if _, previous, err = a.consumerReplicas(ctx, rr, dep, nil); err != nil {
			return Refusedf("%v", err)
		}
		kr, _ := a.primaryWith(state.SystemKube, rr.region.Name)
		if sc, err = capability[Scaler](a, state.SystemKube, kr); err != nil {
			return err
		}
	}
	var done OffsetReset
	phases := stopConsumerPhases(a, sc, dep, previous, or, rr, dry, &stopped)
	phases = append(phases, []phase{
		{name: "commit offsets", detail: rr.group + " on " + rr.topic,
			run: func(ctx context.Context, detail func(string)) error {
				// Computed again now that nothing consumes: the previous
				// offsets recorded are the ones this commit replaces.
				g, reset, err := rr.resolve(ctx, or)
				if err != nil {
					return err
				}
				if g.Members > 0 && !dry {
					return Refusedf("group %s has %d live members; nothing was committed", rr.group, g.Members)
				}
				done = reset
				res.OffsetReset = &done
				if dry {
					return nil
				}
				if err := or.CommitGroupOffsets(ctx, rr.group, rr.topic, reset.NewOffsets()); err != nil {
					return err
				}
				undo := Request{Kind: KindOffsetReset, Target: rr.group, Params: map[string]string{
					ParamTopic: rr.topic, string(ResetOffsets): FormatOffsets(reset.Previous())}}
				if rr.stop {
					undo.Params[ParamStopConsumers] = "true"
				}
				if r := p.Request.Params[ParamRegion]; r != "" {
					undo.Params[ParamRegion] = r
				}
				if len(reset.Previous()) > 0 {
					res.Undo = &undo
				}
				return nil
			}},
		{name: "verify offsets", uncounted: true, skip: dry,
			run: func(ctx context.Context, detail func(string)) error {
				g, err := or.GroupOffsets(ctx, rr.group, rr.topic)
				if err != nil {
					return err
				}
				res.Verified = append(res.Verified, compareOffsets(g, done.NewOffsets()))
				return nil
			}},
		{name: "start consumers", detail: fmt.Sprintf("scale %s back to %d", dep, previous), skip: !rr.stop || previous == 0 || dry,
			run: func(ctx context.Context, detail func(string)) error {
				stopped = false
				return restartConsumers(ctx, a, sc, dep, previous, or, rr, res)
			}},
	}...)
	err = runPhases(ctx, phases, res, progress)
	if err != nil && stopped {
		// Never leave the consumers stopped because the reset failed.
		rerr := sc.SetReplicas(context.WithoutCancel(ctx), dep, previous, false)
		if rerr != nil {
			return errors.Join(err, fmt.Errorf("%s left at 0 replicas: scale back to %d failed: %w", dep, previous, rerr))
		}
		return fmt.Errorf("%w (%s scaled back to %d)", err, dep, previous)
	}
	if err != nil {
		return err
	}
	res.Summary = fmt.Sprintf("%s on %s reset %s: %d events replayed, %d skipped", rr.group, rr.topic, resetHow(rr), done.Replayed, done.Skipped)
	if dry {
		res.Summary = "dry run (nothing committed): " + res.Summary
	}
	return nil
}

// compareOffsets checks that the group's committed offsets are want.
func compareOffsets(g GroupOffsets, want map[int32]int64) Check {
	c := Check{Name: "offsets committed"}
	var wrong []string
	for _, po := range g.Partitions {
		if w, ok := want[po.Partition]; ok && po.Committed != w {
			wrong = append(wrong, fmt.Sprintf("%d: %d (want %d)", po.Partition, po.Committed, w))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		c.Status, c.Detail = CheckFail, "partitions "+strings.Join(wrong, ", ")
		return c
	}
	c.Status, c.Detail = CheckPass, fmt.Sprintf("%d partitions of %s at %s", len(want), g.Topic, FormatOffsets(want))
	return c
}

// restartConsumers scales dep back and waits for ready pods and group members.
func restartConsumers(ctx context.Context, a *Service, sc Scaler, dep string, replicas int32, or OffsetResetter, rr *resetRequest, res *Result) error {
	if err := sc.SetReplicas(ctx, dep, replicas, false); err != nil {
		return fmt.Errorf("scale %s back to %d: %w", dep, replicas, err)
	}
	o := a.opts()
	detail, err := waitFor(ctx, o.VerifyTimeout, o.PollInterval, func(ctx context.Context) (bool, string, error) {
		w, err := sc.Workload(ctx, dep)
		return err == nil && w.Replicas == replicas && w.Ready == replicas, fmt.Sprintf("%d/%d ready", w.Ready, w.Replicas), err
	})
	st := CheckPass
	if err != nil {
		st, detail = CheckFail, err.Error()
	}
	res.Verified = append(res.Verified, Check{Name: "consumers restarted", Status: st, Detail: detail})
	c := Check{Name: "group has members"}
	detail, err = waitFor(ctx, o.VerifyTimeout/2, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		g, err := or.GroupOffsets(ctx, rr.group, rr.topic)
		return err == nil && g.Members > 0, fmt.Sprintf("%d members, state %s", g.Members, g.State), err
	})
	if err != nil {
		// Pods without a consumer process connected to this Kafka (simulated nodes) never join.
		c.Status, c.Detail = CheckWarn, "no member joined: "+err.Error()
	} else {
		c.Status, c.Detail = CheckPass, detail
	}
	res.Verified = append(res.Verified, c)
	return nil
}

// stopConsumerPhases scale dep to 0 and wait until the group has no members,
// so no member commits over what follows. stopped is set once the scale-down is applied.
func stopConsumerPhases(a *Service, sc Scaler, dep string, previous int32, or OffsetResetter, rr *resetRequest, dry bool, stopped *bool) []phase {
	o := a.opts()
	return []phase{
		{name: "stop consumers", detail: fmt.Sprintf("scale %s from %d to 0", dep, previous), skip: !rr.stop || previous == 0,
			run: func(ctx context.Context, detail func(string)) error {
				if err := sc.SetReplicas(ctx, dep, 0, dry); err != nil {
					return fmt.Errorf("scale %s to 0: %w", dep, err)
				}
				if dry {
					return nil
				}
				*stopped = true
				_, err := waitFor(ctx, o.VerifyTimeout, o.PollInterval, func(ctx context.Context) (bool, string, error) {
					w, err := sc.Workload(ctx, dep)
					return err == nil && w.Replicas == 0 && w.Ready == 0, fmt.Sprintf("%d replicas, %d ready", w.Replicas, w.Ready), err
				})
				return err
			}},
		{name: "group empty", detail: "waiting for " + rr.group + " to have no members", skip: !rr.stop || dry,
			run: func(ctx context.Context, detail func(string)) error {
				_, err := waitFor(ctx, o.VerifyTimeout, o.PollInterval, func(ctx context.Context) (bool, string, error) {
					g, err := or.GroupOffsets(ctx, rr.group, rr.topic)
					return err == nil && g.Members == 0, fmt.Sprintf("%d members, state %s", g.Members, g.State), err
				})
				return err
			}},
	}
}
