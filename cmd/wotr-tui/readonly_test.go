package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/dialog"
	auditview "github.com/wotr/wotr-tui/ui/views/audit"
	"github.com/wotr/wotr-tui/ui/views/backups"
	"github.com/wotr/wotr-tui/ui/views/consumers"
	"github.com/wotr/wotr-tui/ui/views/instances"
	"github.com/wotr/wotr-tui/ui/views/nodes"
	"github.com/wotr/wotr-tui/ui/views/regions"
)

// platformState is what any action could change, read back through the
// systems' own clients: replicas, node schedulability, partition counts,
// the standby's recovery, PostgreSQL's tables and rows, the backup dir.
func platformState(t *testing.T, p *local.Platform, backupDir string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	cs := p.Kube.Clientset
	deps, err := cs.AppsV1().Deployments(p.Kube.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		out = append(out, fmt.Sprintf("deployment %s replicas=%d", d.Name, *d.Spec.Replicas))
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		out = append(out, fmt.Sprintf("node %s unschedulable=%v", n.Name, n.Spec.Unschedulable))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range topics.Sorted() {
		out = append(out, fmt.Sprintf("topic %s partitions=%d", td.Topic, len(td.Partitions)))
	}
	groups, err := kadm.NewClient(cl).ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Groups() {
		offs, err := kadm.NewClient(cl).FetchOffsets(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		offs.Each(func(o kadm.OffsetResponse) {
			out = append(out, fmt.Sprintf("group %s %s/%d committed=%d", g, o.Topic, o.Partition, o.At))
		})
	}
	sort.Strings(out)
	for _, s := range []local.PostgresServer{p.Postgres.Primary, p.Postgres.Standby} {
		conn, err := pgx.Connect(ctx, s.DSN)
		if err != nil {
			t.Fatal(err)
		}
		var inRecovery bool
		var tables string
		if err := conn.QueryRow(ctx, `select pg_is_in_recovery(), coalesce(string_agg(relname || '=' || n_live_tup, ',' order by relname), '')
			from pg_stat_user_tables`).Scan(&inRecovery, &tables); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		out = append(out, fmt.Sprintf("postgres %s in_recovery=%v tables=%s", s.Name, inRecovery, tables))
	}
	files, _ := filepath.Glob(filepath.Join(backupDir, "*"))
	out = append(out, fmt.Sprintf("backups %d", len(files)))
	sort.Strings(out)
	return out
}

func diffState(before, after []string) []string {
	was := map[string]bool{}
	for _, s := range before {
		was[s] = true
	}
	var changed []string
	for _, s := range after {
		if !was[s] {
			changed = append(changed, s)
		}
	}
	if len(before) != len(after) {
		changed = append(changed, fmt.Sprintf("%d entries, were %d", len(after), len(before)))
	}
	return changed
}

// A read-only context changes nothing, by any path: every action verb (also
// with the operator's --force --reason), every runbook step type and every
// action key of the console is refused by the action service (exit 3), and the platform read back
// through its own clients is as it was.
func TestReadOnlyContextChangesNothing(t *testing.T) {
	p := localtest.Platform(t, local.Kafka, local.Kube, local.Postgres)
	cs := p.Kube.Clientset
	ns := p.Kube.Namespace
	createDeployment(t, cs, deployment("wotr-api", ns, 2, nil, nil))
	createDeployment(t, cs, deployment("wotr-consumer", ns, 2, nil, nil))
	cc := contextFor(t, p)
	cc.ReadOnly = true
	if err := os.MkdirAll(cc.BackupDir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := newCLI(t).withContext(cc)
	cfgPath, _ := runbookHome(t, app)
	node, cordoned := p.Kube.Nodes[0], p.Kube.Nodes[1]
	// uncordon gets a node it would change.
	setUnschedulable(t, p, cordoned, true)
	t.Cleanup(func() { setUnschedulable(t, p, cordoned, false) })
	// The reset gets a group whose offsets it would move.
	commitOffsets(t, p.Kafka.Brokers, "wotr-consumer-group", local.TopicIngestEvents, map[int32]int64{0: 0})
	before := platformState(t, p, cc.BackupDir)

	type path struct {
		name string
		args []string
		// runbook is written to the override dir and run when set.
		runbook string
	}
	verbs := map[action.Kind][]string{
		action.KindScale:       {"scale", "api", "--replicas", "5"},
		action.KindPartitions:  {"partitions", local.TopicIngestEvents, "--count", "20"},
		action.KindDrain:       {"drain", node},
		action.KindCordon:      {"cordon", node},
		action.KindUncordon:    {"uncordon", cordoned},
		action.KindPromote:     {"promote", "secondary", "--confirm", "secondary"},
		action.KindBackup:      {"backup", "postgres"},
		action.KindOffsetReset: {"offsets", "reset", "wotr-consumer-group", "--topic", local.TopicIngestEvents, "--to-earliest", "--stop-consumers"},
		action.KindUndo:        {"undo", "0123456789abcdef"},
		// An id the catalog lacks: the read-only refusal comes before any lookup.
		action.KindBackupVerify: {"backup", "verify", "latest"},
		action.KindRestore:      {"restore", "postgres", "--from", "20261201T000000.000Z-1", "--confirm", "postgres@primary"},
		action.KindRestoreSet:   {"restore", "set", "20261201T000000.000Z-1", "--confirm", "set@primary"},
	}
	steps := map[action.Kind]string{
		action.KindScale:        `{kind: scale, target: api, params: {replicas: "5"}}`,
		action.KindPartitions:   `{kind: partitions, target: ` + local.TopicIngestEvents + `, params: {count: "20"}}`,
		action.KindDrain:        `{kind: drain, target: ` + node + `}`,
		action.KindCordon:       `{kind: cordon, target: ` + node + `}`,
		action.KindUncordon:     `{kind: uncordon, target: ` + cordoned + `}`,
		action.KindPromote:      `{kind: promote, target: secondary}`,
		action.KindBackup:       `{kind: backup, target: all}`,
		action.KindOffsetReset:  `{kind: offset-reset, target: wotr-consumer-group, params: {topic: ` + local.TopicIngestEvents + `, to-latest: "true"}}`,
		action.KindUndo:         `{kind: undo, target: 0123456789abcdef}`,
		action.KindBackupVerify: `{kind: backup-verify, target: latest}`,
		action.KindRestore:      `{kind: restore, target: postgres, params: {from: 20261201T000000.000Z-1}}`,
		action.KindRestoreSet:   `{kind: restore-set, target: 20261201T000000.000Z-1}`,
	}
	var paths []path
	for _, k := range action.Kinds {
		v, ok := verbs[k]
		if !ok || steps[k] == "" {
			t.Fatalf("no case for action %s", k)
		}
		paths = append(paths,
			path{name: "cli " + string(k), args: append(append([]string{}, v...), "--yes", "-o", "json")},
			path{name: "cli " + string(k) + " --force", args: append(append([]string{}, v...), "--yes", "--force", "--reason", "read-only test", "-o", "json")},
			path{name: "runbook action step " + string(k), runbook: "name: ro-" + string(k) + "\nsteps:\n- id: act\n  action: " + steps[k] + "\n"})
	}
	// Every step type in one runbook, the action last: the reads run, the
	// action is refused.
	paths = append(paths, path{name: "runbook check, promql, sql, kube, manual, action", runbook: `name: ro-every-step
steps:
- id: check
  check: partitions-vs-consumers
- id: promql
  promql: up
  expect: ">= 0"
  severity: warn
- id: sql
  sql: {store: postgres, query: "select count(*) from pg_stat_activity"}
  expect: ">= 1"
- id: kube
  kube: {resource: deployments, name: wotr-api, path: spec.replicas}
  expect: "== 2"
- id: manual
  manual: Tell the team.
- id: action
  action: {kind: scale, target: api, params: {replicas: "7"}}
`})

	// The console's action keys, bound as the views bind them, through the
	// dialog over the real action service of a platform opened by wire.
	plat := wire.Open(context.Background(), cc)
	defer plat.Close()
	svc := plat.Actions()
	noData := &common.Data{}
	console := []common.ActionBinding{
		instances.ScaleAction(noData, "wotr-api"),
		consumers.PartitionsAction(noData, local.TopicIngestEvents),
		{Key: nodes.DrainKey, Kind: action.KindDrain, Target: node},
		{Key: nodes.CordonKey, Kind: action.KindCordon, Target: node},
		{Key: nodes.UncordonKey, Kind: action.KindUncordon, Target: cordoned},
		{Key: regions.PromoteKey, Kind: action.KindPromote, Target: "secondary"},
		{Key: backups.BackupKey, Kind: action.KindBackup, Target: "postgres",
			Params: []common.Param{{Name: "store", Prompt: "store", Default: "postgres", AsTarget: true}}},
		consumers.ResetAction(state.Group{Name: "wotr-consumer-group", Members: []state.GroupMember{{ID: "m"}}}, local.TopicIngestEvents),
		auditview.UndoAction("0123456789abcdef"),
	}
	values := map[action.Kind]string{action.KindScale: "5", action.KindPartitions: "20"}
	// The reset's later inputs: its mode (stop-consumers keeps its default).
	later := map[action.Kind]string{action.KindOffsetReset: "to-earliest"}

	var table []string
	for _, b := range console {
		t.Run("console key "+b.Key.Help().Key+" "+string(b.Kind), func(t *testing.T) {
			uctx := common.NewContext(common.DefaultTheme())
			dlg, cmd := dialog.New(uctx, context.Background(), svc, b)
			dlg.SetSize(200, 60)
			typeText := func(s string) {
				for _, r := range s {
					cmd, _ = dlg.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
				}
			}
			enter := func() { cmd, _ = dlg.Update(tea.KeyMsg{Type: tea.KeyEnter}) }
			if dlg.Stage() == dialog.StageParams {
				typeText(values[b.Kind])
				enter()
			}
			for i := 1; cmd == nil && dlg.Stage() == dialog.StageParams && i < len(b.Params); i++ {
				if i == 1 {
					typeText(later[b.Kind])
				}
				enter()
			}
			if cmd == nil {
				t.Fatalf("no plan started (stage %v): %s", dlg.Stage(), dlg.View())
			}
			dlg.Update(cmd()) // the plan, from the real service
			if dlg.Stage() != dialog.StageConfirm || !strings.Contains(dlg.View(), "read-only") {
				t.Fatalf("stage %v, want the refused plan:\n%s", dlg.Stage(), dlg.View())
			}
			// The operator types the phrase anyway: nothing runs.
			typeText("yes")
			typeText("secondary")
			enter()
			if cmd != nil || dlg.Stage() != dialog.StageConfirm || !strings.Contains(dlg.View(), "Blocked: a preflight check failed") {
				t.Fatalf("a blocked plan went on (stage %v):\n%s", dlg.Stage(), dlg.View())
			}
			changed := diffState(before, platformState(t, p, cc.BackupDir))
			table = append(table, fmt.Sprintf("%-52s refused  changes %d", "console key "+b.Key.Help().Key+" ("+string(b.Kind)+")", len(changed)))
			if len(changed) > 0 {
				t.Fatalf("the platform changed: %v", changed)
			}
		})
	}
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			var r cliRun
			if pt.runbook != "" {
				name := strings.TrimPrefix(strings.SplitN(pt.runbook, "\n", 2)[0], "name: ")
				writeOverride(t, cfgPath, name, pt.runbook)
				r = app.run("--config", cfgPath, "runbook", "run", name, "--yes", "-o", "json")
				mustCode(t, r, ExitRefused)
				d := runDoc(t, r)
				last := d.Run.Steps[len(d.Run.Steps)-1]
				if last.Kind != "action" || last.Status != runbook.StepRefused || !strings.Contains(strings.Join(last.Evidence, "\n"), "read-only") {
					t.Fatalf("action step: %+v", last)
				}
				for _, s := range d.Run.Steps[:len(d.Run.Steps)-1] {
					if s.Status == runbook.StepRefused {
						t.Errorf("read step %s refused: %s", s.ID, s.Summary)
					}
				}
				if len(d.Run.Steps) > 1 {
					if got := stepByID(d.Run.Steps, "sql"); got == nil || got.Status != runbook.StepPass {
						t.Errorf("sql step in a read-only context: %+v", got)
					}
				}
			} else {
				r = app.run(pt.args...)
				mustCode(t, r, ExitRefused)
				d := r.doc(t)
				if c := checkByName(d.Plan.Checks, "read-only context"); c == nil || c.Status != action.CheckFail || !c.Hard {
					t.Fatalf("plan checks: %+v", d.Plan.Checks)
				}
			}
			changed := diffState(before, platformState(t, p, cc.BackupDir))
			table = append(table, fmt.Sprintf("%-52s exit %d  changes %d", pt.name, r.code, len(changed)))
			if len(changed) > 0 {
				t.Fatalf("the platform changed: %v", changed)
			}
		})
	}
	t.Logf("read-only paths:\n%s", strings.Join(table, "\n"))
}

func stepByID(steps []runbook.StepResult, id string) *runbook.StepResult {
	for i := range steps {
		if steps[i].ID == id {
			return &steps[i]
		}
	}
	return nil
}

func setUnschedulable(t *testing.T, p *local.Platform, node string, on bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
	if _, err := p.Kube.Clientset.CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
