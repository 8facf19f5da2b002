package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// fakeInspector serves a log whose lines say which options asked for them.
type fakeInspector struct {
	mu      sync.Mutex
	asked   []inspect.LogOptions
	pods    []string
	logsErr error
	// Deployment reads, and their answer when set
	deploys   []string
	deployErr error
	// snap the pods of a Deployment come from (nil: fixture.Snapshot)
	snap func() state.Snapshot
}

func (f *fakeInspector) Logs(_ context.Context, region, pod string, o inspect.LogOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	f.asked = append(f.asked, o)
	f.pods = append(f.pods, region+"/"+pod)
	f.mu.Unlock()
	if f.logsErr != nil {
		return nil, f.logsErr
	}
	var b strings.Builder
	prefix := ""
	if o.Timestamps {
		prefix = "2026-01-02T03:04:05Z "
	}
	if o.Previous {
		fmt.Fprintf(&b, "%sprevious container of %s exited 137\n", prefix, pod)
	} else {
		fmt.Fprintf(&b, "%sstarted %s\n", prefix, pod)
		fmt.Fprintf(&b, "%sGET /health 200\n", prefix)
		fmt.Fprintf(&b, "%serror: kafka produce timeout\n", prefix)
		fmt.Fprintf(&b, "%slong %s\n", prefix, strings.Repeat("x", 150))
	}
	return io.NopCloser(strings.NewReader(b.String())), nil
}

func (f *fakeInspector) Events(_ context.Context, region, kind, name string) ([]inspect.Event, error) {
	if kind == "" { // the namespace's: about a pod
		kind, name = "Pod", "wotr-api-f6c5657b9-h5v1d"
	}
	return []inspect.Event{
		{Type: "Warning", Reason: "BackOff", Kind: kind, Name: name, Message: "Back-off restarting failed container", Count: 3, Last: fixture.Now.Add(-2 * time.Minute)},
		{Type: "Normal", Reason: "Scheduled", Kind: kind, Name: name, Message: "Successfully assigned wotr/" + name, Count: 1, Last: fixture.Now.Add(-10 * time.Minute)},
	}, nil
}

func (f *fakeInspector) last() inspect.LogOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[len(f.asked)-1]
}

func logModel(t *testing.T, w, h int, in *fakeInspector) *Model {
	opts := goldenOptions()
	opts.Inspect = in
	m := newModel(t, w, h, opts)
	feed(m, fixture.Snapshot())
	press(m, "2")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	return m
}

func TestInstanceDrillShowsEventsAndOpensLogs(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		in := &fakeInspector{}
		m := logModel(t, sz[0], sz[1], in)
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if !strings.Contains(screen, "BackOff (x3)") || !strings.Contains(screen, "Scheduled") {
			t.Fatalf("drill-in lacks the pod's events:\n%s", screen)
		}
		golden(t, fmt.Sprintf("instances-drill-events_%dx%d", sz[0], sz[1]), screen)

		_, cmd := m.Update(keyMsg("l"))
		runCmd(m, cmd)
		screen = m.View()
		checkScreen(t, screen, sz[0], sz[1])
		_, pod, _ := strings.Cut(in.pods[0], "/")
		if !strings.Contains(screen, "started "+pod) || !strings.Contains(screen, "logs "+pod+" (follow)") {
			t.Fatalf("log view of %s:\n%s", in.pods[0], screen)
		}
		if o := in.last(); !o.Follow || o.Previous || o.Timestamps {
			t.Errorf("first open asked %+v, want follow only", o)
		}
		golden(t, fmt.Sprintf("instances-logs_%dx%d", sz[0], sz[1]), screen)
	}
}

func TestLogViewToggles(t *testing.T) {
	in := &fakeInspector{}
	m := logModel(t, 80, 24, in)
	_, cmd := m.Update(keyMsg("l"))
	runCmd(m, cmd)

	// `/` filters the lines, not the table behind
	press(m, "/")
	typeText(m, "error")
	press(m, "enter")
	screen := m.View()
	if !strings.Contains(screen, "error: kafka produce timeout") || strings.Contains(screen, "GET /health") {
		t.Fatalf("filter error:\n%s", screen)
	}
	press(m, "/", "esc")

	// wrap: the 150-character line fills more than one screen line
	if n := linesWith(m.View(), "xxxxxxxxxx"); n != 1 {
		t.Fatalf("unwrapped long line drawn on %d lines", n)
	}
	press(m, "w")
	if n := linesWith(m.View(), "xxxxxxxxxx"); n < 2 {
		t.Fatalf("wrapped long line drawn on %d lines:\n%s", n, m.View())
	}

	_, cmd = m.Update(keyMsg("t"))
	runCmd(m, cmd)
	if o := in.last(); !o.Timestamps || !o.Follow {
		t.Errorf("t asked %+v", o)
	}
	if !strings.Contains(m.View(), "2026-01-02T03:04:05Z started") {
		t.Errorf("timestamps not shown:\n%s", m.View())
	}
	_, cmd = m.Update(keyMsg("p"))
	runCmd(m, cmd)
	if o := in.last(); !o.Previous {
		t.Errorf("p asked %+v", o)
	}
	screen = m.View()
	if !strings.Contains(screen, "previous container of") || strings.Contains(screen, "GET /health") {
		t.Errorf("previous log not shown alone:\n%s", screen)
	}
	_, cmd = m.Update(keyMsg("f"))
	runCmd(m, cmd)
	if o := in.last(); o.Follow {
		t.Errorf("f did not stop following: %+v", o)
	}

	// esc returns to the drill-in as it was: the log's filter stays behind
	press(m, "/")
	typeText(m, "GET")
	press(m, "enter")
	press(m, "esc")
	if s := m.View(); strings.Contains(s, "› logs ") || !strings.Contains(s, "BackOff") {
		t.Fatalf("esc from the log view:\n%s", s)
	}
	press(m, "esc")
	if s := m.View(); strings.Contains(s, "BackOff") {
		t.Fatalf("second esc did not leave the drill-in:\n%s", s)
	}
}

func TestLogViewReportsAnError(t *testing.T) {
	in := &fakeInspector{logsErr: errors.New(`pods "x" not found`)}
	m := logModel(t, 80, 24, in)
	_, cmd := m.Update(keyMsg("l"))
	runCmd(m, cmd)
	if s := m.View(); !strings.Contains(s, `pods "x" not found`) {
		t.Fatalf("error not shown:\n%s", s)
	}
}

// Without a cluster there is no log view and no events section.
func TestNoInspectorNoLogs(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, "2", "enter", "l")
	if s := m.View(); strings.Contains(s, "› logs ") || strings.Contains(s, "events") {
		t.Fatalf("log view or events without an inspector:\n%s", s)
	}
}

func linesWith(screen, s string) int {
	n := 0
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestEventsView(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		opts := goldenOptions()
		opts.Inspect = &fakeInspector{}
		m := newModel(t, sz[0], sz[1], opts)
		feed(m, fixture.Snapshot())
		press(m, ":")
		typeText(m, "events")
		_, cmd := m.Update(keyMsg("enter"))
		runCmd(m, cmd)
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if m.Current().Name() != "events" || !strings.Contains(screen, "BackOff") || !strings.Contains(screen, "Warning") {
			t.Fatalf(":events:\n%s", screen)
		}
		// no tab of its own: the tabs line is the one of the other views
		if strings.Contains(strings.Split(screen, "\n")[1], "Ev") {
			t.Errorf("events has a tab:\n%s", screen)
		}
		golden(t, fmt.Sprintf("events_%dx%d", sz[0], sz[1]), screen)
	}
}

func TestEventsViewWithoutACluster(t *testing.T) {
	m := newModel(t, 80, 24, goldenOptions())
	feed(m, fixture.Snapshot())
	press(m, ":")
	typeText(m, "events")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if s := m.View(); !strings.Contains(s, "no cluster configured") {
		t.Fatalf(":events without an inspector:\n%s", s)
	}
}

func TestHeaderSkin(t *testing.T) {
	if bg := common.HeaderSkin("red").GetBackground(); bg != lipgloss.Color("1") {
		t.Errorf("red header background %v, want ANSI 1", bg)
	}
	if bg := common.HeaderSkin("#ff0000").GetBackground(); bg != lipgloss.Color("#ff0000") {
		t.Errorf("hex header background %v", bg)
	}
	m := newModel(t, 80, 24, Options{HeaderColor: "red", Context: "production"})
	if !strings.Contains(strings.Split(m.View(), "\n")[0], "ctx production") {
		t.Errorf("skinned header lost the context name:\n%s", m.View())
	}
}
