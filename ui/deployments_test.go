package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
	"github.com/wotr/wotr-tui/ui/views/deployments"
)

// Deployment answers with the fixture's pods of the Deployment: the fifth
// (h5v1d, not ready in the snapshot too) crash-looping, with warnings about
// it and about the ReplicaSet next to the Deployment's own events.
func (f *fakeInspector) Deployment(_ context.Context, region, name string) (inspect.Deployment, error) {
	f.mu.Lock()
	f.deploys = append(f.deploys, region+"/"+name)
	f.mu.Unlock()
	if f.deployErr != nil {
		return inspect.Deployment{}, f.deployErr
	}
	snap := fixture.Snapshot()
	if f.snap != nil {
		snap = f.snap()
	}
	d := inspect.Deployment{Name: name, Region: region, Revision: "3", Generation: 4, ObservedGeneration: 4,
		Strategy: "RollingUpdate (max surge 25%, max unavailable 25%)", Selector: "app=" + name,
		Conditions: []inspect.Condition{
			{Type: "Available", Status: "False", Reason: "MinimumReplicasUnavailable", Message: "Deployment does not have minimum availability.", Updated: fixture.Now.Add(-3 * time.Minute)},
			{Type: "Progressing", Status: "True", Reason: "NewReplicaSetAvailable", Message: "ReplicaSet has successfully progressed."},
		}}
	rs := ""
	for _, in := range snap.Instances {
		if in.Deployment != name {
			continue
		}
		rs = in.Pod[:strings.LastIndex(in.Pod, "-")]
		p := inspect.Pod{Name: in.Pod, Status: "Running", Ready: in.Ready, Containers: "1/1", Node: in.Node,
			Created: fixture.Now.Add(-2 * time.Hour), ReplicaSet: rs}
		if !in.Ready {
			p.Status, p.Containers, p.Restarts = "CrashLoopBackOff", "0/1", 7
		}
		d.Pods = append(d.Pods, p)
	}
	d.Replicas, d.Current, d.Updated = int32(len(d.Pods)), int32(len(d.Pods)), int32(len(d.Pods))
	for _, p := range d.Pods {
		if p.Ready {
			d.Ready++
			d.Available++
		}
	}
	if rs == "" {
		rs = name + "-5c9f8d7b6"
	}
	d.ReplicaSets = []inspect.ReplicaSet{{Name: rs, Revision: "3", Desired: d.Replicas, Ready: d.Ready}}
	for _, dep := range snap.Deployments {
		if dep.Name == name && dep.HPA != nil {
			h := &inspect.HPA{Name: dep.HPA.Name, Min: dep.HPA.Min, Max: dep.HPA.Max, Current: dep.HPA.Current, Desired: dep.HPA.Desired}
			for _, m := range dep.HPA.Metrics {
				h.Metrics = append(h.Metrics, inspect.HPAMetric(m))
			}
			d.HPA = h
		}
	}
	d.Events = []inspect.Event{
		{Type: "Normal", Reason: "ScalingReplicaSet", Kind: "Deployment", Name: name, Message: "Scaled up replica set " + rs + " to 6", Count: 1, Last: fixture.Now.Add(-20 * time.Minute)},
	}
	for _, p := range d.Pods {
		if !p.Ready {
			d.Events = append(d.Events, inspect.Event{Type: "Warning", Reason: "BackOff", Kind: "Pod", Name: p.Name,
				Message: "Back-off restarting failed container api", Count: 12, Last: fixture.Now.Add(-30 * time.Second)})
		}
	}
	inspect.SortNewestFirst(d.Events)
	return d, nil
}

// deploymentModel opens `:deploy` and the drill-in of wotr-api (the first
// row by name), running the read like the program would.
func deploymentModel(t *testing.T, w, h int, in *fakeInspector) *Model {
	t.Helper()
	opts := goldenOptions()
	if in != nil {
		opts.Inspect = in
	}
	m := newModel(t, w, h, opts)
	feed(m, fixture.Snapshot())
	press(m, ":")
	typeText(m, "deploy")
	press(m, "enter")
	if m.Current().Name() != deployments.Name {
		t.Fatalf(":deploy shows %s", m.Current().Name())
	}
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	return m
}

func drillOf(t *testing.T, m *Model) *deployments.Drill {
	t.Helper()
	v, ok := m.Current().(*deployments.View)
	if !ok {
		t.Fatalf("current view %T", m.Current())
	}
	d, ok := v.Drill().(*deployments.Drill)
	if !ok {
		t.Fatalf("drill-in %T", v.Drill())
	}
	return d
}

func TestDeploymentsView(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, fixture.Snapshot())
		press(m, ":")
		typeText(m, "deploy")
		press(m, "enter")
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		for _, want := range []string{"wotr-api", "5/6", "3..10", "wotr-consumer", "3/3"} {
			if !strings.Contains(screen, want) {
				t.Fatalf("deployments view lacks %q:\n%s", want, screen)
			}
		}
		if strings.Contains(strings.Split(screen, "\n")[1], "Dep") {
			t.Errorf("deployments has a tab:\n%s", screen)
		}
		golden(t, fmt.Sprintf("deployments_%dx%d", sz[0], sz[1]), screen)
	}
}

// Enter on the overview's Deployments row opens the Deployments view.
func TestOverviewOpensDeployments(t *testing.T) {
	m := newModel(t, 120, 40, goldenOptions())
	feed(m, fixture.Snapshot())
	for i := 0; i < 12; i++ {
		if strings.Contains(selectedLine(m.View()), "Deployments") {
			break
		}
		press(m, "down")
	}
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if m.Current().Name() != deployments.Name {
		t.Fatalf("Enter on Deployments shows %s:\n%s", m.Current().Name(), m.View())
	}
}

func selectedLine(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, ">") {
			return l
		}
	}
	return ""
}

func TestDeploymentDrill(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		in := &fakeInspector{}
		m := deploymentModel(t, sz[0], sz[1], in)
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if len(in.deploys) != 1 || in.deploys[0] != "eu-west/wotr-api" {
			t.Fatalf("reads %q, want eu-west/wotr-api once", in.deploys)
		}
		for _, want := range []string{
			"Deployments › wotr-api · eu-west",
			"5/6 ready", "6 up-to-date", "5 available",
			"min 3 max 10", "cpu 58%/70%",
			"Available False (MinimumReplicasUnavailable)", "Deployment does not have minimum availability",
			"CrashLoopBackOff", "pods [5/6 ready]",
			"BackOff (x12) Pod/wotr-api-f6c5657b9-h5v1d",
		} {
			if !strings.Contains(screen, want) {
				t.Fatalf("%dx%d: drill-in lacks %q:\n%s", sz[0], sz[1], want, screen)
			}
		}
		// the Deployment's own events name no object; the pod's do
		if strings.Contains(screen, "Deployment/wotr-api") {
			t.Errorf("the Deployment's own events name it:\n%s", screen)
		}
		golden(t, fmt.Sprintf("deployments-drill_%dx%d", sz[0], sz[1]), screen)

		// the cursor starts on the pod not ready, and l opens its log
		d := drillOf(t, m)
		if got := d.Selected(); got != "wotr-api-f6c5657b9-h5v1d" {
			t.Fatalf("cursor on %q, want the not-ready pod", got)
		}
		_, cmd := m.Update(keyMsg("l"))
		runCmd(m, cmd)
		screen = m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if in.pods[0] != "eu-west/wotr-api-f6c5657b9-h5v1d" || !strings.Contains(screen, "started wotr-api-f6c5657b9-h5v1d") ||
			!strings.Contains(screen, "logs wotr-api-f6c5657b9-h5v1d (follow)") {
			t.Fatalf("log of %q:\n%s", in.pods, screen)
		}
		golden(t, fmt.Sprintf("deployments-logs_%dx%d", sz[0], sz[1]), screen)
		// wrapped, the count is still of log lines, not of screen lines
		press(m, "w")
		if s := m.View(); !strings.Contains(s, "4/4 lines") || !strings.Contains(s, "(follow, wrap)") {
			t.Fatalf("wrapped log:\n%s", s)
		}
		press(m, "w")
		// esc returns to the drill-in with the cursor where it was
		press(m, "esc")
		if s := m.View(); !strings.Contains(s, "pods [5/6 ready]") || drillOf(t, m).Selected() != "wotr-api-f6c5657b9-h5v1d" {
			t.Fatalf("esc from the log:\n%s", s)
		}
	}
}

// up/down move over the pods and l follows the cursor; the page keys
// scroll to the events; / filters the pods.
func TestDeploymentDrillKeys(t *testing.T) {
	in := &fakeInspector{}
	m := deploymentModel(t, 80, 24, in)
	press(m, "down")
	d := drillOf(t, m)
	if got := d.Selected(); got != "wotr-api-f6c5657b9-l8s4f" {
		t.Fatalf("down: cursor on %q", got)
	}
	if !strings.Contains(selectedLine(m.View()), "l8s4f") {
		t.Fatalf("the selected row is not drawn selected:\n%s", m.View())
	}
	// a click on a pod's row selects it
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "q4m8z") {
			m.Current().Update(table.ClickMsg{Line: l}) // as the root's mouse handler does
		}
	}
	if got := d.Selected(); got != "wotr-api-f6c5657b9-q4m8z" {
		t.Fatalf("click: cursor on %q", got)
	}
	press(m, "up")
	press(m, "up", "up")
	if got := d.Selected(); got != "wotr-api-f6c5657b9-b2n6w" {
		t.Fatalf("up up: cursor on %q", got)
	}
	_, cmd := m.Update(keyMsg("l"))
	runCmd(m, cmd)
	if last := in.pods[len(in.pods)-1]; last != "eu-west/wotr-api-f6c5657b9-b2n6w" {
		t.Fatalf("l opened %q, want the selected pod", last)
	}
	press(m, "esc")

	// on a short terminal the page scrolls to the events and back, and
	// the cursor stays on screen
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 16})
	before := m.View()
	checkScreen(t, before, 80, 16)
	if !strings.Contains(before, "replicas ") || strings.Contains(before, "ScalingReplicaSet") {
		t.Fatalf("top of a short page:\n%s", before)
	}
	press(m, "G")
	after := m.View()
	if strings.Contains(after, "replicas ") || !strings.Contains(after, "ScalingReplicaSet") {
		t.Fatalf("G did not scroll to the events:\n%s", after)
	}
	press(m, "g")
	if m.View() != before {
		t.Fatalf("g did not return to the top:\n%s", m.View())
	}
	press(m, "down", "down", "down", "down", "down", "down")
	if got := d.Selected(); got != "wotr-api-f6c5657b9-x7k2p" || !strings.Contains(selectedLine(m.View()), "x7k2p") {
		t.Fatalf("cursor %q off screen:\n%s", got, m.View())
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})

	press(m, "/")
	typeText(m, "x7k2p")
	press(m, "enter")
	screen := m.View()
	if !strings.Contains(screen, "x7k2p") || strings.Contains(screen, "q4m8z") {
		t.Fatalf("filter x7k2p:\n%s", screen)
	}
	if got := d.Selected(); got != "wotr-api-f6c5657b9-x7k2p" {
		t.Fatalf("filtered cursor on %q", got)
	}
}

// A failed read says why and still lists the snapshot's pods, whose log l opens.
func TestDeploymentDrillReadFails(t *testing.T) {
	in := &fakeInspector{deployErr: errors.New(`deployments.apps "wotr-api" is forbidden`)}
	m := deploymentModel(t, 80, 24, in)
	screen := m.View()
	if !strings.Contains(screen, `is forbidden`) || !strings.Contains(screen, "wotr-api-f6c5657b9-x7k2p") || !strings.Contains(screen, "not ready") {
		t.Fatalf("failed read:\n%s", screen)
	}
	if got := drillOf(t, m).Selected(); got != "wotr-api-f6c5657b9-h5v1d" {
		t.Fatalf("cursor on %q, want the pod the snapshot has not ready", got)
	}
	_, cmd := m.Update(keyMsg("l"))
	runCmd(m, cmd)
	if len(in.pods) != 1 || in.pods[0] != "eu-west/wotr-api-f6c5657b9-h5v1d" {
		t.Fatalf("l opened %q", in.pods)
	}
}

// Without a cluster the drill shows the snapshot's figures and no l.
func TestDeploymentDrillWithoutACluster(t *testing.T) {
	m := deploymentModel(t, 80, 24, nil)
	press(m, "l")
	screen := m.View()
	if !strings.Contains(screen, "5/6 ready") || strings.Contains(screen, "› logs") || strings.Contains(screen, "events") {
		t.Fatalf("drill-in without a cluster:\n%s", screen)
	}
}

// The drill re-reads the Deployment with the snapshots, not more often
// than base.RefreshEvery, and keeps the cursor the operator moved.
func TestDeploymentDrillRefreshes(t *testing.T) {
	in := &fakeInspector{}
	now := fixture.Now
	opts := goldenOptions()
	opts.Inspect = in
	opts.Clock = func() time.Time { return now }
	m := newModel(t, 80, 24, opts)
	feed(m, fixture.Snapshot())
	press(m, ":")
	typeText(m, "deploy")
	press(m, "enter")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	press(m, "down")
	refresh := func() {
		m.Update(tickMsg(now))
		_, cmd := m.Update(snapshotMsg{snap: fixture.Snapshot(), hist: fixture.History(fixture.Snapshot())})
		runCmd(m, cmd)
	}
	refresh()
	if len(in.deploys) != 1 {
		t.Fatalf("re-read within %v: %d reads", 5*time.Second, len(in.deploys))
	}
	now = now.Add(6 * time.Second)
	refresh()
	if len(in.deploys) != 2 {
		t.Fatalf("no re-read after 6s: %d reads", len(in.deploys))
	}
	if got := drillOf(t, m).Selected(); got != "wotr-api-f6c5657b9-l8s4f" {
		t.Fatalf("refresh moved the cursor to %q", got)
	}
}

// The consumer group's drill-in lists the events of the Deployment whose
// pods are its members (found from their client ids).
func TestGroupDrillShowsItsDeploymentsEvents(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		in := &fakeInspector{}
		opts := goldenOptions()
		opts.Inspect = in
		m := newModel(t, sz[0], sz[1], opts)
		feed(m, fixture.Snapshot())
		press(m, "3")
		_, cmd := m.Update(keyMsg("enter"))
		runCmd(m, cmd)
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if len(in.deploys) != 1 || in.deploys[0] != "eu-west/wotr-consumer" {
			t.Fatalf("reads %q, want eu-west/wotr-consumer", in.deploys)
		}
		if !strings.Contains(screen, "events · Deployment wotr-consumer") || !strings.Contains(screen, "Scaled up replica set") {
			t.Fatalf("%dx%d: group drill-in lacks its Deployment's events:\n%s", sz[0], sz[1], screen)
		}
		// the partitions keep room: at least 4 rows under their header
		if n := linesWith(screen, "ingest-events "); n < 4 {
			t.Errorf("%d partition rows left:\n%s", n, screen)
		}
		golden(t, fmt.Sprintf("consumers-group-events_%dx%d", sz[0], sz[1]), screen)
	}
}

// A region's drill-in lists the warnings of its cluster's namespace, each
// naming its object; a region whose cluster the console does not read
// lists none.
func TestRegionDrillShowsTheNamespacesWarnings(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		opts := goldenOptions()
		opts.Inspect = &fakeInspector{}
		m := newModel(t, sz[0], sz[1], opts)
		feed(m, fixture.Snapshot())
		press(m, "7")
		for i := 0; i < 3 && !strings.Contains(selectedLine(m.View()), "eu-west"); i++ {
			press(m, "down")
		}
		_, cmd := m.Update(keyMsg("enter"))
		runCmd(m, cmd)
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		if !strings.Contains(screen, "warnings in the namespace") || !strings.Contains(screen, "BackOff (x3) Pod/wotr-api-f6c5657b9-h5v1d") ||
			strings.Contains(screen, "Scheduled") {
			t.Fatalf("%dx%d: region drill-in lacks the namespace's warnings (and only them):\n%s", sz[0], sz[1], screen)
		}
		golden(t, fmt.Sprintf("regions-drill-warnings_%dx%d", sz[0], sz[1]), screen)

		press(m, "esc")
		for i := 0; i < 3 && !strings.Contains(selectedLine(m.View()), "eu-central"); i++ {
			press(m, "down")
		}
		_, cmd = m.Update(keyMsg("enter"))
		runCmd(m, cmd)
		if s := m.View(); !strings.Contains(s, "Regions › eu-central") || strings.Contains(s, "warnings in the namespace") {
			t.Fatalf("region without a cluster read:\n%s", s)
		}
	}
}

// The deployment drill-in of a Deployment with 1,000 pods: drawing it, and
// a cursor move (which redraws the page's pod table).
func BenchmarkDeploymentDrill1000(b *testing.B) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	b.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	opts := goldenOptions()
	big := fixture.Big(1000, 10)
	opts.Inspect = &fakeInspector{snap: func() state.Snapshot { return big }}
	m := newModel(b, 160, 48, opts)
	feed(m, big)
	press(m, ":")
	typeText(m, "deploy")
	press(m, "enter")
	_, cmd := m.Update(keyMsg("enter"))
	msg := cmd()
	m.Update(msg)
	v := m.Current().(*deployments.View)
	d, ok := v.Drill().(*deployments.Drill)
	if !ok || d.Pods() < 1000 {
		b.Fatalf("drill-in %T with %d pods", v.Drill(), d.Pods())
	}
	b.Run("View", func(b *testing.B) {
		for b.Loop() {
			_ = m.View()
		}
	})
	b.Run("KeyDown", func(b *testing.B) {
		for b.Loop() {
			press(m, "down")
			_ = m.View()
		}
	})
	b.Run("Snapshot", func(b *testing.B) {
		for b.Loop() {
			feed(m, big)
		}
	})
}

// With more pods than the screen holds, the pods table scrolls within the
// page and the events stay on screen under it.
func TestDeploymentDrillManyPods(t *testing.T) {
	big := fixture.Big(60, 10)
	opts := goldenOptions()
	opts.Inspect = &fakeInspector{snap: func() state.Snapshot { return big }}
	m := newModel(t, 80, 24, opts)
	feed(m, big)
	press(m, ":")
	typeText(m, "deploy")
	press(m, "enter")
	_, cmd := m.Update(keyMsg("enter"))
	runCmd(m, cmd)
	if got := drillOf(t, m).Pods(); got != 60 {
		t.Fatalf("%d pods listed, want 60", got)
	}
	for i := 0; i < 30; i++ {
		press(m, "down")
	}
	screen := m.View()
	checkScreen(t, screen, 80, 24)
	if !strings.Contains(selectedLine(screen), "wotr-api-000030") || !strings.Contains(screen, "pods [58/60 ready]") ||
		!strings.Contains(screen, "Pod/wotr-api-000050") || !strings.Contains(screen, "replicas ") {
		t.Fatalf("60 pods, cursor on the 31st:\n%s", screen)
	}
}
