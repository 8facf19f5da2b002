package action

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// KindRestoreSet restores a backup set as one consistent point: PostgreSQL to
// the set's end LSN, ClickHouse to its parts, and the consumer group rewound
// to the set's Kafka offsets so the events after the backup are replayed.
const KindRestoreSet Kind = "restore-set"

type restoreSetAction struct{}

func (restoreSetAction) params() []ParamSpec { return nil }

// setStores are the stores a consistent restore point needs; Redis holds
// caches the platform rebuilds, so it is restored on its own (restore redis).
var setStores = []state.System{state.SystemPostgres, state.SystemClickHouse}

// setRestore is a parsed restore set: one restore per store and one offset
// reset per topic the set recorded.
type setRestore struct {
	id     string
	stores []StoreRestore
	resets []*resetRequest
}

func parseRestoreSet(a *Service, req Request) (*setRestore, error) {
	id := strings.TrimSpace(req.Target)
	if id == "" {
		return nil, Invalidf("restore set needs a backup set ID (see wotr-tui backups)")
	}
	set, err := backup.Set(backup.Dir(a.Config), id)
	if err != nil {
		return nil, Invalidf("restore set: %v", err)
	}
	sr := &setRestore{id: id}
	var recorded map[string]int64
	for _, store := range setStores {
		found := false
		for _, e := range set {
			if e.Store != store {
				continue
			}
			if e.State != "done" {
				return nil, Invalidf("restore set %s: the %s backup is %s, not done", id, store, e.State)
			}
			sr.stores = append(sr.stores, StoreRestore{Entry: e})
			found = true
		}
		if !found {
			return nil, Invalidf("restore set %s: the set has no %s backup (it holds %s); a consistent restore needs %s", id, store, entryStores(set), storeNames(setStores))
		}
	}
	for _, e := range set {
		if len(e.KafkaOffsets) > 0 {
			recorded = e.KafkaOffsets
		}
	}
	if len(recorded) == 0 {
		return nil, Invalidf("restore set %s: the set recorded no Kafka offsets (no Kafka endpoint when it was taken), so the events after it cannot be replayed", id)
	}
	region, err := a.primaryWith(state.SystemKafka, req.Params[ParamRegion])
	if err != nil {
		return nil, err
	}
	group := groupOf(region)
	for _, topic := range recordedTopics(recorded) {
		sr.resets = append(sr.resets, &resetRequest{group: group, topic: topic, mode: ResetBackup, backupID: id,
			target: TopicOffsets(recorded, topic), stop: true, region: region})
	}
	return sr, nil
}

func recordedTopics(recorded map[string]int64) []string {
	seen := map[string]bool{}
	var out []string
	for k := range recorded {
		if i := strings.LastIndex(k, "/"); i > 0 && !seen[k[:i]] {
			seen[k[:i]] = true
			out = append(out, k[:i])
		}
	}
	sort.Strings(out)
	return out
}

func storeNames(ss []state.System) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, " and ")
}

// restorerFor opens the store's restorer in its primary region and fills in the live data dir.
func restorerFor(a *Service, sr *StoreRestore, regionName string) (StoreRestorer, config.RegionConfig, error) {
	r, err := a.primaryWith(sr.Entry.Store, regionName)
	if err != nil {
		return nil, r, err
	}
	sr.DataDir = dataDirOf(r, sr.Entry.Store)
	rs, err := capability[StoreRestorer](a, sr.Entry.Store, r)
	return rs, r, err
}

func (restoreSetAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	sr, err := parseRestoreSet(a, req)
	if err != nil {
		return err
	}
	rr0 := sr.resets[0]
	p.Summary = fmt.Sprintf("restore backup set %s: %s, and rewind %s to the set's offsets", sr.id, storeNames(setStores), rr0.group)
	p.Destructive = true
	p.ConfirmPhrase = "set@" + rr0.region.Name
	dep, derr := consumerDeployment(rr0)
	w, replicas, kerr := a.consumerReplicas(ctx, rr0, dep, derr)
	if kerr != nil {
		p.Checks = append(p.Checks, Check{Name: "stop consumers", Status: CheckFail, Hard: true, Detail: kerr.Error()})
	} else {
		p.Checks = append(p.Checks, Check{Name: "stop consumers", Status: CheckPass,
			Detail: fmt.Sprintf("%s (%d replicas) is scaled to 0 for the restore and back to %d after", dep, replicas, replicas)})
		p.Steps = append(p.Steps, fmt.Sprintf("scale %s/%s to 0 and wait until group %s has no members", w.Namespace, dep, rr0.group))
		if note := a.hpaNote(ctx, rr0, dep); note != "" {
			p.Warnings = append(p.Warnings, note)
		}
	}
	for i := range sr.stores {
		s := &sr.stores[i]
		rs, _, err := restorerFor(a, s, req.Params[ParamRegion])
		name := string(s.Entry.Store) + " restorable"
		if err != nil {
			p.Checks = append(p.Checks, Check{Name: name, Status: CheckFail, Detail: err.Error()})
			continue
		}
		facts, err := rs.RestoreFacts(ctx, *s)
		if err != nil {
			p.Checks = append(p.Checks, Check{Name: name, Status: CheckFail, Detail: err.Error()})
			continue
		}
		p.Checks = append(p.Checks, Check{Name: name, Status: CheckPass, Detail: strings.Join(facts.Notes, "; ")})
		p.Steps = append(p.Steps, fmt.Sprintf("%s: restore backup %s (%s, %s) beside the live data, recover it to %s, check it, swap it in (the old data kept)",
			s.Entry.Store, s.Entry.ID, s.Entry.Method, present.Bytes(s.Entry.SizeBytes), s.targetText()))
		lost := fmt.Sprintf("%s: everything written after %s is replaced", s.Entry.Store, s.targetText())
		if facts.CurrentLSN != "" {
			lost += " (the server is at WAL " + facts.CurrentLSN + ")"
		}
		if s.Entry.Store == state.SystemClickHouse {
			lost += "; the events after it come back from Kafka"
		}
		p.Warnings = append(p.Warnings, lost)
	}
	or, err := capability[OffsetResetter](a, state.SystemKafka, rr0.region)
	if err != nil {
		return err
	}
	var replayed, skipped int64
	for _, rr := range sr.resets {
		_, reset, err := rr.resolve(ctx, or)
		if err != nil {
			return err
		}
		if p.OffsetReset == nil {
			p.OffsetReset = &reset
		}
		replayed += reset.Replayed
		skipped += reset.Skipped
		for _, pr := range reset.Partitions {
			p.Effects = append(p.Effects, describePartition(rr.topic, pr))
			if pr.Clamped != "" {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s/%d: %s; clamped to %d: events before it are gone from Kafka and are not replayed", rr.topic, pr.Partition, pr.Clamped, pr.New))
			}
		}
		p.Steps = append(p.Steps, fmt.Sprintf("commit the set's offsets of %s on %s (%d partitions) and verify them", rr.group, rr.topic, len(reset.NewOffsets())))
	}
	if kerr == nil {
		p.Steps = append(p.Steps, fmt.Sprintf("scale %s back to %d: the group replays %d events into ClickHouse (deduplicated by id)", dep, replicas, replayed))
	}
	if skipped > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the set's offsets are ahead of the group by %d events: they are skipped, not replayed", skipped))
	}
	p.Effects = append(p.Effects, "each replaced data dir is kept beside the new one until the operator removes it")
	return nil
}

func (restoreSetAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	sr, err := parseRestoreSet(a, p.Request)
	if err != nil {
		return err
	}
	if p.Request.DryRun {
		res.Summary = "dry run: would " + p.Summary
		return nil
	}
	rr0 := sr.resets[0]
	or, err := capability[OffsetResetter](a, state.SystemKafka, rr0.region)
	if err != nil {
		return err
	}
	dep, err := consumerDeployment(rr0)
	if err != nil {
		return Refusedf("%v", err)
	}
	_, previous, err := a.consumerReplicas(ctx, rr0, dep, nil)
	if err != nil {
		return Refusedf("%v", err)
	}
	kr, _ := a.primaryWith(state.SystemKube, rr0.region.Name)
	sc, err := capability[Scaler](a, state.SystemKube, kr)
	if err != nil {
		return err
	}
	restorers := make([]StoreRestorer, len(sr.stores))
	for i := range sr.stores {
		if restorers[i], _, err = restorerFor(a, &sr.stores[i], p.Request.Params[ParamRegion]); err != nil {
			return err
		}
	}
	res.Measurements = map[string]float64{}
	stopped, committed := false, false
	phases := stopConsumerPhases(a, sc, dep, previous, or, rr0, false, &stopped)
	// Every store's copy is restored and checked before any is swapped in, so
	// a backup that fails its checks leaves all live data untouched.
	sps := make([]*storeRestorePhases, len(sr.stores))
	var swaps []phase
	for i, s := range sr.stores {
		sps[i] = &storeRestorePhases{}
		ph := sps[i].phases(restorers[i], s, res, string(s.Entry.Store)+" ")
		phases = append(phases, ph[:len(ph)-1]...)
		swaps = append(swaps, ph[len(ph)-1])
	}
	phases = append(phases, swaps...)
	var resets []OffsetReset
	phases = append(phases, phase{name: "commit offsets", detail: rr0.group + " to the offsets of set " + sr.id,
		run: func(ctx context.Context, detail func(string)) error {
			for _, rr := range sr.resets {
				g, reset, err := rr.resolve(ctx, or)
				if err != nil {
					return err
				}
				if g.Members > 0 {
					return Refusedf("group %s has %d live members; its offsets were not rewound", rr.group, g.Members)
				}
				if err := or.CommitGroupOffsets(ctx, rr.group, rr.topic, reset.NewOffsets()); err != nil {
					return fmt.Errorf("commit %s offsets on %s: %w", rr.group, rr.topic, err)
				}
				resets = append(resets, reset)
				detail(fmt.Sprintf("%s: %d events to replay", rr.topic, reset.Replayed))
			}
			committed = true
			if len(resets) > 0 {
				res.OffsetReset = &resets[0]
			}
			return nil
		}},
		phase{name: "verify offsets", uncounted: true, run: func(ctx context.Context, detail func(string)) error {
			for i, rr := range sr.resets {
				g, err := or.GroupOffsets(ctx, rr.group, rr.topic)
				if err != nil {
					return err
				}
				res.Verified = append(res.Verified, compareOffsets(g, resets[i].NewOffsets()))
			}
			return nil
		}},
		phase{name: "start consumers", detail: fmt.Sprintf("scale %s back to %d", dep, previous), skip: previous == 0,
			run: func(ctx context.Context, detail func(string)) error {
				stopped = false
				return restartConsumers(ctx, a, sc, dep, previous, or, rr0, res)
			}})
	start := a.now()
	err = runPhases(ctx, phases, res, progress)
	res.Measurements["restore seconds"] = a.now().Sub(start).Seconds()
	if err != nil {
		var errs []error
		swapped := false
		for _, sp := range sps {
			errs = append(errs, sp.fail(nil))
			swapped = swapped || sp.swap.OldDataDir != ""
		}
		err = errors.Join(append([]error{err}, errs...)...)
		switch {
		case !stopped:
		case swapped && !committed:
			// Started now, the group would go on from its old offsets and
			// never replay the events the restored ClickHouse lacks.
			return errors.Join(err, fmt.Errorf("%s left at 0 replicas: a store was restored but the group was not rewound; run `wotr-tui offsets reset %s --topic %s --to-backup %s --stop-consumers` and scale %s back to %d",
				dep, rr0.group, rr0.topic, sr.id, dep, previous))
		default:
			if rerr := sc.SetReplicas(context.WithoutCancel(ctx), dep, previous, false); rerr != nil {
				return errors.Join(err, fmt.Errorf("%s left at 0 replicas: scale back to %d failed: %w", dep, previous, rerr))
			}
			return fmt.Errorf("%w (%s scaled back to %d)", err, dep, previous)
		}
		return err
	}
	var kept []string
	var replayed int64
	for i, s := range sr.stores {
		kept = append(kept, fmt.Sprintf("%s %s", s.Entry.Store, sps[i].swap.OldDataDir))
	}
	for _, r := range resets {
		replayed += r.Replayed
	}
	res.Measurements["events to replay"] = float64(replayed)
	res.Summary = fmt.Sprintf("set %s restored (%s); %s rewound, %d events to replay into ClickHouse; the replaced data is kept at %s (remove it when done)",
		sr.id, storeNames(setStores), rr0.group, replayed, strings.Join(kept, ", "))
	return nil
}
