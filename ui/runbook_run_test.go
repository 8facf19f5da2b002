package ui

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/components/dialog"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// settle runs a command and every command its messages produce, feeding the
// messages to the model, as the bubbletea runtime would.
func settle(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 100 {
			t.Fatal("commands did not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case nil:
		default:
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
}

func pressSettled(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		settle(t, m, cmd)
	}
}

const stepRunbook = `name: triage
title: Triage
kind: diagnosis
steps:
- id: budget
  title: Connection budget
  check: pool-budget
- id: tick
  title: Tell the team
  manual: Post in the incident channel.
- id: healthy
  title: Instances healthy
  check: instances-healthy
  cause: an API instance is not ready
`

// The Runbooks view runs a runbook step by step with the ops engine: each
// step's evidence shows, a manual step waits for y, and the likely cause of a
// failed step is named.
func TestRunbookRunsStepByStep(t *testing.T) {
	rb, err := runbook.Parse("triage.yaml", []byte(stepRunbook))
	if err != nil {
		t.Fatal(err)
	}
	load := func() ([]*runbook.Runbook, error) { return []*runbook.Runbook{rb}, nil }
	snap := state.Snapshot{
		Instances: []state.Instance{{Pod: "api-1", Deployment: "wotr-api", Ready: true}, {Pod: "api-2", Deployment: "wotr-api", Node: "n2"}},
		Pools:     state.Pools{Budget: []state.Budget{{Store: "postgres", PerInstance: 10, Instances: 3, Total: 30, Limit: 100, OK: true}}},
	}
	collects := 0
	env := runbook.Env{Context: "demo", Collect: func(context.Context) (state.Snapshot, error) { collects++; return snap, nil }}
	stateDir := t.TempDir()
	m := newModel(t, 120, 30, Options{Runbooks: RunbooksFromOps(load), Runner: RunbookRunnerFromOps(runbook.NewService(env, stateDir), load)})
	settle(t, m, m.loadRunbooks())
	if !m.switchTo("runbooks") {
		t.Fatal("no runbooks view")
	}
	pressSettled(t, m, "enter")
	screen := m.View()
	checkScreen(t, screen, 120, 30)
	for _, want := range []string{"Triage (diagnosis)", "not started", "Connection budget", "Tell the team", "n next step"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("run page lacks %q:\n%s", want, screen)
		}
	}

	pressSettled(t, m, "n")
	screen = m.View()
	for _, want := range []string{"PASS", "connection budget fits", "postgres: 10 per instance x 3 instances = 30 against limit 100", "1 of 3 steps done"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("after n, screen lacks %q:\n%s", want, screen)
		}
	}

	// The manual step waits for the operator; a does not run past it.
	pressSettled(t, m, "a")
	screen = m.View()
	if !strings.Contains(screen, "PENDING") || !strings.Contains(screen, "y tick off manual step") {
		t.Fatalf("manual step not pending:\n%s", screen)
	}
	pressSettled(t, m, "y")
	if screen = m.View(); !strings.Contains(screen, "ticked off by the operator") {
		t.Fatalf("manual step not ticked off:\n%s", screen)
	}

	pressSettled(t, m, "a")
	screen = m.View()
	for _, want := range []string{"result FAIL", "Likely causes", "an API instance is not ready: 1 of 2 instances of wotr-api not ready", "api-2 on n2: ready=false"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("finished run lacks %q:\n%s", want, screen)
		}
	}
	checkScreen(t, screen, 120, 30)

	// The run is the CLI's: its state file and report exist.
	st, err := runbook.LoadRunState(runbook.RunStatePath(stateDir, "demo", "triage"), rb)
	if err != nil || st != nil {
		t.Fatalf("a finished run must not be resumable: %v %v", st, err)
	}
	// R starts over.
	pressSettled(t, m, "R")
	if screen = m.View(); !strings.Contains(screen, "not started") {
		t.Fatalf("R did not restart:\n%s", screen)
	}
}

// An action step is offered to the action dialog (x), never confirmed by the
// runner itself; the dialog's outcome is recorded as the step's result.
func TestRunbookActionStepGoesThroughTheDialog(t *testing.T) {
	rb, err := runbook.Parse("act.yaml", []byte("name: act\ntitle: Act\nsteps:\n- id: scale\n  title: Scale up\n  action: {kind: scale, target: wotr-api, params: {replicas: \"4\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	load := func() ([]*runbook.Runbook, error) { return []*runbook.Runbook{rb}, nil }
	runner := RunbookRunnerFromOps(runbook.NewService(runbook.Env{Context: "demo"}, t.TempDir()), load)
	m := newModel(t, 100, 24, Options{Runbooks: RunbooksFromOps(load), Runner: runner, Actor: &fixture.Actor{}})
	settle(t, m, m.loadRunbooks())
	m.switchTo("runbooks")
	pressSettled(t, m, "enter")
	acts := m.Current().Actions()
	if len(acts) != 1 || acts[0].Kind != "scale" || acts[0].Target != "wotr-api" || acts[0].Params[0].Default != "4" {
		t.Fatalf("action step bindings = %+v, want scale wotr-api with replicas 4", acts)
	}
	if screen := m.View(); !strings.Contains(screen, "x run action step") {
		t.Fatalf("hint does not offer x:\n%s", screen)
	}
	// The dialog finished the action successfully.
	_, cmd := m.Update(dialog.FinishedMsg{OK: true})
	settle(t, m, cmd)
	screen := m.View()
	if !strings.Contains(screen, "executed and verified in the action dialog") || !strings.Contains(screen, "result PASS") {
		t.Fatalf("dialog outcome not recorded:\n%s", screen)
	}
}
