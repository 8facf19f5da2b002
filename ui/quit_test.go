package ui

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/wotr/wotr-tui/ui/components/dialog"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// runningPromote starts a promote that holds after its first step.
func runningPromote(t *testing.T, actor *fixture.Actor, opts Options) *teatest.TestModel {
	t.Helper()
	opts.Source, opts.Actor = fixture.NewSource(fixture.Snapshot()), actor
	tm := startProgram(t, opts)
	waitFor(t, tm, "Regions / DR")
	send(tm, "7", "down", "P")
	waitFor(t, tm, "Type eu-central to confirm")
	tm.Type("eu-central")
	send(tm, "enter")
	waitFor(t, tm, "[1/2] step 1", "running")
	return tm
}

// ctrl-c during an action asks; y waits for the action to finish (not
// cancelled), and the console exits after it.
func TestQuitDuringAnActionWaitsForIt(t *testing.T) {
	actor := &fixture.Actor{Release: make(chan struct{})}
	tm := runningPromote(t, actor, Options{})

	// (q then n keeps it running: TestFlowConfirmedAction)
	send(tm, "ctrl+c")
	waitFor(t, tm, "an action is running: wait for it and quit? y/n")
	send(tm, "y")
	waitFor(t, tm, "waiting for promote eu-central to finish")
	// more quit keys while waiting change nothing
	send(tm, "q", "ctrl+c")
	if ended := actor.EndedExecutes(); len(ended) != 0 {
		t.Fatalf("Execute returned before it was released: %v", ended)
	}
	close(actor.Release)
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	ended := actor.EndedExecutes()
	if len(ended) != 1 || ended[0] != nil {
		t.Fatalf("Execute ended %v, want once and not cancelled", ended)
	}
	final := tm.FinalModel(t).(*Model)
	if final.Dialog() == nil || final.Dialog().Stage() != dialog.StageDone {
		t.Fatal("the console exited before the action's result")
	}
}

// The program's context ending (a signal) does not cancel the action, and
// Wait (which Run calls before the clients close) returns only after it.
func TestTheProgramsContextDoesNotOwnTheAction(t *testing.T) {
	actor := &fixture.Actor{Release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	m := New(Options{Source: fixture.NewSource(fixture.Snapshot()), Actor: actor, Parent: ctx,
		Clock: func() time.Time { return fixture.Now }, Tick: -1, Context: "demo"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	t.Cleanup(func() { _ = tm.Quit() })
	waitFor(t, tm, "Regions / DR")
	send(tm, "7", "down", "P")
	waitFor(t, tm, "Type eu-central to confirm")
	tm.Type("eu-central")
	send(tm, "enter")
	waitFor(t, tm, "[1/2] step 1", "running")

	cancel()
	ctxs := actor.Contexts()
	if len(ctxs) != 1 || ctxs[0].Err() != nil {
		t.Fatalf("the action's context ended with the program's: %v", ctxs)
	}
	waited := make(chan struct{})
	go func() { m.Wait(); close(waited) }()
	close(actor.Release)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the action finished")
	}
	if ended := actor.EndedExecutes(); len(ended) != 1 || ended[0] != nil {
		t.Fatalf("Execute ended %v, want once, not cancelled", ended)
	}
}
