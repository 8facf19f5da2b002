package action

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// appendAction writes an intent and, unless outcome is "", its result.
func appendAction(t *testing.T, log *audit.Log, kind Kind, target, outcome string, dryRun bool, res *Result) string {
	t.Helper()
	id := audit.NewID()
	base := audit.Record{Time: time.Now().UTC(), Who: "op", Context: "c", Action: string(kind), Target: target, DryRun: dryRun}
	in := base
	in.Kind, in.ID, in.Plan = audit.KindIntent, id, json.RawMessage(`{}`)
	if err := log.Append(in); err != nil {
		t.Fatal(err)
	}
	if outcome == "" {
		return id
	}
	out := base
	out.Kind, out.Intent, out.Outcome = audit.KindResult, id, outcome
	raw, _ := json.Marshal(res)
	out.Result = raw
	if err := log.Append(out); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUndoRefusesWhatCannotBeUndone(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	s, _ := cordonService(t, logPath)
	s.Config.Regions = append(s.Config.Regions, config.RegionConfig{Name: "secondary", Role: state.RoleSecondary})
	ctx := context.Background()
	way := &Result{Undo: &Request{Kind: KindUncordon, Target: "node-1"}}
	cases := []struct {
		name string
		id   string
		want string
	}{
		{"partitions", appendAction(t, s.Audit, KindPartitions, "ingest-events", audit.OutcomeOK, false, &Result{}), "Kafka cannot remove partitions"},
		{"promote", appendAction(t, s.Audit, KindPromote, "secondary", audit.OutcomeOK, false, &Result{}), "`wotr-tui promote primary --rebuild-old-primary`"},
		{"backup", appendAction(t, s.Audit, KindBackup, "all", audit.OutcomeOK, false, &Result{}), "a backup changes no data"},
		{"restore", appendAction(t, s.Audit, Kind("restore-postgres"), "postgres", audit.OutcomeOK, false, &Result{}), "another restore"},
		{"restore set", appendAction(t, s.Audit, KindRestoreSet, "20261201T000000.000Z-1", audit.OutcomeOK, false, &Result{}), "another restore"},
		{"failed", appendAction(t, s.Audit, KindCordon, "node-1", audit.OutcomeFailed, false, way), "ended failed"},
		// An intent without a result, from a process that is gone.
		{"interrupted", appendAction(t, s.Audit, KindCordon, "node-1", "", false, nil), "ended interrupted"},
		{"dry run", appendAction(t, s.Audit, KindCordon, "node-1", audit.OutcomeOK, true, way), "was a dry run"},
		{"no way back", appendAction(t, s.Audit, KindCordon, "node-1", audit.OutcomeOK, false, &Result{}), "recorded no previous state"},
	}
	for _, c := range cases {
		p, err := s.Plan(ctx, Request{Kind: KindUndo, Target: c.id})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fails := p.FailedChecks()
		if !p.Blocked || len(fails) != 1 || !fails[0].Hard || !strings.Contains(fails[0].Detail, c.want) {
			t.Errorf("%s: blocked %v, failed checks %+v, want one hard failure saying %q", c.name, p.Blocked, fails, c.want)
			continue
		}
		// Forced, it is still refused, and the refusal is audited with its link.
		p, _ = s.Plan(ctx, Request{Kind: KindUndo, Target: c.id, Force: true, Reason: "test"})
		if _, err := s.Execute(ctx, p, "yes", nil); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: forced undo: %v, want refused", c.name, err)
		}
	}
	recs, _ := s.Audit.Records(ctx, 1)
	if recs[0].Kind != audit.KindRefusal || recs[0].Undoes != cases[len(cases)-1].id {
		t.Errorf("last refusal %+v does not link to %s", recs[0], cases[len(cases)-1].id)
	}
	if _, err := s.Plan(ctx, Request{Kind: KindUndo, Target: "feedfacefeedface"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"feedfacefeedface" is not in`) {
		t.Errorf("unknown id: %v", err)
	}
}

// Two undos planned before either runs: the second is refused when it
// executes, and the node's state is the first undo's.
func TestUndoTwiceIsRefusedEvenWhenPlannedTogether(t *testing.T) {
	s, k := cordonService(t, filepath.Join(t.TempDir(), "audit.jsonl"))
	ctx := context.Background()
	p, err := s.Plan(ctx, Request{Kind: KindCordon, Target: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Execute(ctx, p, "yes", nil)
	if err != nil || res.Undo == nil || res.Undo.Kind != KindUncordon {
		t.Fatalf("cordon: %+v %v, want an uncordon as its way back", res, err)
	}
	recs, _ := s.Audit.Records(ctx, 1)
	id := recs[0].ActionID()
	first, err := s.Plan(ctx, Request{Kind: KindUndo, Target: id})
	if err != nil || first.Blocked {
		t.Fatalf("first undo plan: %+v %v", first, err)
	}
	second, err := s.Plan(ctx, Request{Kind: KindUndo, Target: id})
	if err != nil || second.Blocked {
		t.Fatalf("second undo plan: %+v %v", second, err)
	}
	if _, err := s.Execute(ctx, first, "yes", nil); err != nil {
		t.Fatalf("first undo: %v", err)
	}
	if k.cordoned["node-1"] {
		t.Fatal("node still cordoned after the undo")
	}
	k.cordoned["node-1"] = true // someone cordons it again
	if _, err := s.Execute(ctx, second, "yes", nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already undone") {
		t.Fatalf("second undo: %v, want refused as already undone", err)
	}
	if !k.cordoned["node-1"] {
		t.Fatal("the refused undo uncordoned the node")
	}
	recs, _ = s.Audit.Records(ctx, 1)
	if recs[0].Undoes != id || recs[0].Outcome != audit.OutcomeRefused {
		t.Fatalf("second undo's record %+v: want refused, linked to %s", recs[0], id)
	}
}
