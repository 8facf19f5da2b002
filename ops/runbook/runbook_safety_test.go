package runbook

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// A runbook cannot override a safety check: force, reason and every
// operator-only parameter are refused when the file is read.
func TestRunbookActionCannotOverrideChecks(t *testing.T) {
	cases := map[string]struct{ action, want string }{
		"force":                {`{kind: scale, target: api, force: true, params: {replicas: "3"}}`, "force overrides failed preflight checks"},
		"force with reason":    {`{kind: scale, target: api, force: true, reason: runbook said so, params: {replicas: "3"}}`, "force overrides failed preflight checks"},
		"reason alone":         {`{kind: backup, target: all, reason: because}`, "reason goes with an operator's --force"},
		"disable-eviction":     {`{kind: drain, target: node-1, params: {disable-eviction: "true"}}`, `parameter "disable-eviction" overrides a safety check`},
		"disable-eviction off": {`{kind: drain, target: node-1, params: {disable-eviction: "false"}}`, `parameter "disable-eviction" overrides a safety check`},
		"force-unmanaged":      {`{kind: drain, target: node-1, params: {force-unmanaged: "true"}}`, `parameter "force-unmanaged" overrides a safety check`},
		"delete-emptydir-data": {`{kind: drain, target: node-1, params: {delete-emptydir-data: "true"}}`, `parameter "delete-emptydir-data" overrides a safety check`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			src := "name: x\nsteps:\n- id: override\n  action: " + c.action + "\n"
			rb, err := Parse("evil.yaml", []byte(src))
			if err == nil {
				t.Fatalf("parsed: %+v", rb.Steps[0].Action)
			}
			for _, want := range []string{"evil.yaml", `step "override"`, c.want, "runbook cannot"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	// The same step without the override is a valid runbook.
	if _, err := Parse("ok.yaml", []byte("name: x\nsteps:\n- id: d\n  action: {kind: drain, target: node-1, params: {pdb-wait: 5s}}\n")); err != nil {
		t.Fatalf("plain drain step refused: %v", err)
	}
}

// Every parameter that overrides a check is marked, so the rule above
// cannot miss one added later under a new name.
func TestOperatorOnlyParamsAreMarked(t *testing.T) {
	want := map[string]bool{"drain/disable-eviction": true, "drain/force-unmanaged": true, "drain/delete-emptydir-data": true}
	for _, k := range action.Kinds {
		specs, err := action.Params(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			key := string(k) + "/" + s.Name
			if s.OperatorOnly != want[key] {
				t.Errorf("%s: OperatorOnly = %v, want %v", key, s.OperatorOnly, want[key])
			}
		}
	}
}

// A runbook assembled in code (not parsed) meets the same rule when it runs,
// and the actor is never asked to plan it.
func TestRunRefusesOverridingStepBuiltInCode(t *testing.T) {
	actor := &fakeActor{}
	for _, req := range []action.Request{
		{Kind: action.KindScale, Target: "api", Force: true, Reason: "x", Params: map[string]string{"replicas": "3"}},
		{Kind: action.KindDrain, Target: "node-1", Params: map[string]string{"disable-eviction": "true"}},
	} {
		req := req
		rb := &Runbook{Name: "code", Steps: []Step{{ID: "s", Action: &req}}}
		st, err := Run(context.Background(), Env{Actor: actor, AssumeYes: true}, rb, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if st.Worst != StepRefused || !strings.Contains(st.Steps[0].Summary, "runbook cannot") {
			t.Fatalf("%+v: %+v", req, st.Steps)
		}
	}
	if len(actor.executed) != 0 {
		t.Fatalf("executed %v", actor.executed)
	}
}

// recordingBackends fails the test's expectation if anything is opened.
type recordingBackends struct {
	mu     sync.Mutex
	opened []string
}

func (b *recordingBackends) Client(system state.System, r config.RegionConfig) (any, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened = append(b.opened, string(system)+"/"+r.Name)
	return nil, nil
}

// In a read-only context every action step of a runbook is refused by the
// action service itself, before any backend is opened, and the run's exit
// code is 3.
func TestReadOnlyContextRefusesEveryActionStep(t *testing.T) {
	steps := map[action.Kind]string{
		action.KindScale:        `{kind: scale, target: api, params: {replicas: "3"}}`,
		action.KindPartitions:   `{kind: partitions, target: ingest-events, params: {count: "12"}}`,
		action.KindDrain:        `{kind: drain, target: node-1}`,
		action.KindCordon:       `{kind: cordon, target: node-1}`,
		action.KindUncordon:     `{kind: uncordon, target: node-1}`,
		action.KindPromote:      `{kind: promote, target: secondary}`,
		action.KindBackup:       `{kind: backup, target: all}`,
		action.KindOffsetReset:  `{kind: offset-reset, target: wotr-consumer-group, params: {topic: ingest-events, to-earliest: "true"}}`,
		action.KindUndo:         `{kind: undo, target: 0123456789abcdef}`,
		action.KindBackupVerify: `{kind: backup-verify, target: latest}`,
		action.KindRestore:      `{kind: restore, target: postgres, params: {from: 20261201T000000.000Z-1}}`,
		action.KindRestoreSet:   `{kind: restore-set, target: 20261201T000000.000Z-1}`,
	}
	if len(steps) != len(action.Kinds) {
		t.Fatalf("cases cover %d kinds, the service has %d", len(steps), len(action.Kinds))
	}
	dir := t.TempDir()
	cc := config.ContextConfig{Name: "prod", ReadOnly: true, AuditLog: filepath.Join(dir, "audit.jsonl"),
		Regions: []config.RegionConfig{{Name: "primary", Role: state.RolePrimary, Kube: &config.KubeEndpoint{Kubeconfig: "/dev/null"}},
			{Name: "secondary", Role: state.RoleSecondary}}}
	for _, k := range action.Kinds {
		t.Run(string(k), func(t *testing.T) {
			b := &recordingBackends{}
			svc := action.NewService(cc, b)
			rb, err := Parse("t.yaml", []byte("name: t\nsteps:\n- id: act\n  action: "+steps[k]+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := Run(context.Background(), Env{Actor: svc, AssumeYes: true}, rb, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if st.Worst != StepRefused || st.Worst.ExitCode() != 3 {
				t.Fatalf("worst %s (exit %d), want refused (exit 3): %+v", st.Worst, st.Worst.ExitCode(), st.Steps)
			}
			if ev := strings.Join(st.Steps[0].Evidence, "\n"); !strings.Contains(ev, "read-only") {
				t.Errorf("evidence does not say why: %s", ev)
			}
			if len(b.opened) != 0 {
				t.Fatalf("backends opened in a read-only context: %v", b.opened)
			}
		})
	}
}

// Anchors and aliases are refused with the file and line before the YAML is
// expanded.
func TestParseRefusesYAMLAliases(t *testing.T) {
	laughs := "name: x\nsteps:\n- id: a\n  manual: &l0 lol\n"
	for i := 1; i < 10; i++ {
		laughs += fmt.Sprintf("- id: s%d\n  manual: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"billion laughs": {laughs, "evil.yaml:4: YAML anchor &l0 is not allowed"},
		"shared step":    {"name: x\nsteps:\n- &s {id: a, manual: hi}\n- *s\n", "evil.yaml:3: YAML anchor &s is not allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("evil.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("took %s", took)
			}
		})
	}
	big := []byte("name: x\nsteps:\n- id: a\n  manual: " + strings.Repeat("x", MaxFileSize) + "\n")
	if _, err := Parse("big.yaml", big); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("oversized runbook: %v", err)
	}
}
