package action

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// fakeKube is a Drainer and Cordoner that records every cordon call.
type fakeKube struct {
	mu       sync.Mutex
	cordoned map[string]bool
	calls    []string
	// during, when set, runs inside SetUnschedulable (to read the log mid-action).
	during func()
}

func (k *fakeKube) PreviewDrain(ctx context.Context, node string, o DrainOptions) (*DrainPreview, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if node != "node-1" {
		return nil, ErrNotFound
	}
	return &DrainPreview{Node: node, Cordoned: k.cordoned[node]}, nil
}

func (k *fakeKube) Drain(ctx context.Context, node string, o DrainOptions, progress func(DrainEvent)) error {
	return errors.New("not used")
}

func (k *fakeKube) SetUnschedulable(ctx context.Context, node string, unschedulable, dryRun bool) (bool, error) {
	if k.during != nil {
		k.during()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, node)
	if dryRun {
		return k.cordoned[node] != unschedulable, nil
	}
	changed := k.cordoned[node] != unschedulable
	k.cordoned[node] = unschedulable
	return changed, nil
}

func cordonService(t *testing.T, logPath string) (*Service, *fakeKube) {
	t.Helper()
	k := &fakeKube{cordoned: map[string]bool{}}
	cfg := config.ContextConfig{Name: "c", Regions: []config.RegionConfig{{Name: "primary", Role: state.RolePrimary, Kube: &config.KubeEndpoint{}}}}
	s := &Service{Config: cfg, Audit: audit.NewLog(logPath), Who: "op",
		Backends: BackendsFunc(func(system state.System, r config.RegionConfig) (any, error) { return k, nil })}
	return s, k
}

func TestAnUnwritableAuditLogRefusesTheActionAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	// A regular file where the log's directory should be: no user, root
	// included, can create the log under it.
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, k := cordonService(t, filepath.Join(blocker, "audit.jsonl"))
	ctx := context.Background()
	p, err := s.Plan(ctx, Request{Kind: KindCordon, Target: "node-1"})
	if err != nil || p.Blocked {
		t.Fatalf("plan: %v %+v", err, p)
	}
	res, err := s.Execute(ctx, p, "yes", nil)
	if len(k.calls) != 0 || k.cordoned["node-1"] {
		t.Fatalf("the node was touched without an intent record: calls %v, cordoned %v (error %v)", k.calls, k.cordoned["node-1"], err)
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Execute with an unwritable audit log: %v, want ErrRefused", err)
	}
	if res != nil && res.OK {
		t.Error("result reports OK")
	}
}

func TestTheIntentIsOnDiskBeforeTheActionRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, k := cordonService(t, path)
	log := audit.NewLog(path)
	var during []audit.Record
	k.during = func() {
		// Read by a second reader, as another console would.
		var err error
		if during, err = log.Lines(); err != nil {
			t.Error(err)
		}
	}
	ctx := context.Background()
	p, err := s.Plan(ctx, Request{Kind: KindCordon, Target: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(ctx, p, "yes", nil); err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || during[0].Kind != audit.KindIntent || during[0].ID == "" || len(during[0].Plan) == 0 || during[0].Who != "op" {
		t.Fatalf("log while the cordon ran: %+v, want one intent with id and plan", during)
	}
	after, err := log.Lines()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[1].Kind != audit.KindResult || after[1].Intent != during[0].ID || after[1].Outcome != audit.OutcomeOK {
		t.Fatalf("log after: %+v, want the intent and its ok result", after)
	}
	// A wrong confirmation is refused before anything runs: one refusal record, no intent.
	if _, err := s.Execute(ctx, p, "no", nil); !errors.Is(err, ErrRefused) {
		t.Fatalf("wrong confirmation: %v", err)
	}
	after, _ = log.Lines()
	if last := after[len(after)-1]; len(after) != 3 || last.Kind != audit.KindRefusal || last.Outcome != audit.OutcomeRefused {
		t.Fatalf("refusal record: %+v", after)
	}
	if len(k.calls) != 1 {
		t.Fatalf("cordon calls %v, want one", k.calls)
	}
}
