package ui

import (
	"bytes"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

func startProgram(t *testing.T, opts Options) *teatest.TestModel {
	t.Helper()
	opts.Clock = func() time.Time { return fixture.Now }
	opts.Tick = -1
	opts.Context = "demo"
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(100, 30))
	t.Cleanup(func() { _ = tm.Quit() })
	return tm
}

func waitFor(t *testing.T, tm *teatest.TestModel, what ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range what {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

func send(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
}

func TestFlowNavigateFilterDrill(t *testing.T) {
	src := fixture.NewSource(fixture.Snapshot())
	tm := startProgram(t, Options{Source: src, Actor: &fixture.Actor{}})
	waitFor(t, tm, "Regions / DR")

	// number key and command mode
	send(tm, "6")
	waitFor(t, tm, "Nodes [3", "cordoned")
	send(tm, ":")
	tm.Type("repl")
	send(tm, "enter")
	waitFor(t, tm, "Lag, common scale")
	send(tm, ":")
	tm.Type("nosuchview")
	send(tm, "enter")
	waitFor(t, tm, `unknown view "nosuchview"`)

	// filter the nodes down to one row
	send(tm, "6", "/")
	tm.Type("node-b")
	waitFor(t, tm, "[1/3")
	send(tm, "enter")

	// drill into a group and back
	send(tm, "3", "enter")
	waitFor(t, tm, "Consumers › wotr-consumer-group", "COMMITTED")
	send(tm, "esc")
	waitFor(t, tm, "Topics")

	// a new snapshot updates the screen
	snap := fixture.Snapshot()
	snap.Kafka.Groups[0].Name = "pushed-group"
	src.Push(snap)
	waitFor(t, tm, "pushed-group")

	send(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
}

func TestFlowConfirmedAction(t *testing.T) {
	actor := &fixture.Actor{Release: make(chan struct{})}
	tm := startProgram(t, Options{Source: fixture.NewSource(fixture.Snapshot()), Actor: actor})
	waitFor(t, tm, "Regions / DR")
	send(tm, "7", "down", "P")
	waitFor(t, tm, "Type eu-central to confirm")

	// a wrong phrase is refused in place
	tm.Type("yes")
	send(tm, "enter")
	waitFor(t, tm, "exactly to confirm")
	for range 3 {
		send(tm, "backspace")
	}
	tm.Type("eu-central")
	send(tm, "enter")
	waitFor(t, tm, "[1/2] step 1", "running")

	// q while the action runs asks first; n keeps the console open
	send(tm, "q")
	waitFor(t, tm, "an action is running: wait for it and quit? y/n")
	send(tm, "n")
	close(actor.Release)
	waitFor(t, tm, "Done:", "promote eu-central done")
	if got := actor.ExecutedRequests(); len(got) != 1 || got[0].Kind != "promote" || got[0].Target != "eu-central" {
		t.Fatalf("executed %+v, want one promote of eu-central", got)
	}
	send(tm, "enter", "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
}

func TestFlowReadOnlyHasNoActions(t *testing.T) {
	actor := &fixture.Actor{}
	tm := startProgram(t, Options{Source: fixture.NewSource(fixture.Snapshot()), Actor: actor, ReadOnly: true})
	waitFor(t, tm, "[read-only]", "Regions / DR")
	send(tm, "7", "down", "P")
	waitFor(t, tm, "read-only: promote is disabled")
	send(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
	if len(actor.Planned) != 0 {
		t.Fatalf("read-only console planned %v", actor.Planned)
	}
}

// TestHangingSourceDelaysNoKeystroke: every call of the source blocks for
// 10 s; keystrokes still switch views at once.
func TestHangingSourceDelaysNoKeystroke(t *testing.T) {
	src := fixture.NewSource(fixture.Snapshot())
	src.Block = make(chan struct{})
	release := time.AfterFunc(10*time.Second, func() { close(src.Block) })
	defer release.Stop()
	tm := startProgram(t, Options{Source: src, Actor: &fixture.Actor{}})
	start := time.Now()
	send(tm, "6")
	waitFor(t, tm, "Nodes [0")
	send(tm, "8")
	waitFor(t, tm, "no backups yet")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("keystrokes took %v with a hanging source", d)
	}
	// and Update itself returns promptly for every key
	m := newModel(t, 80, 24, Options{Source: src})
	cmd := m.Init() // commands are not run here: they are what would block
	_ = cmd
	var worst time.Duration
	for _, k := range []string{"2", "3", "enter", "esc", "/", "x", "esc", ":", "n", "enter", "?", "esc", "1"} {
		t0 := time.Now()
		m.Update(keyMsg(k))
		_ = m.View()
		worst = max(worst, time.Since(t0))
	}
	t.Logf("slowest keystroke (Update+View) with a hanging source: %v", worst)
	if worst > 50*time.Millisecond {
		t.Fatalf("a keystroke took %v", worst)
	}
	send(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
}

func TestQuitWithoutActionIsImmediate(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q did not quit")
	}
}
