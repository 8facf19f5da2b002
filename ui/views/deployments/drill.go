package deployments

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
	"github.com/wotr/wotr-tui/ui/views/instances"
)

// ReadTimeout bounds one read of a Deployment with its pods and events.
const ReadTimeout = 10 * time.Second

// Drill is one Deployment: its figures, rollout conditions, pods (the
// cursor picks the one whose log l opens) and events. It re-reads the
// Deployment with the snapshots, at most every base.RefreshEvery.
type Drill struct {
	ctx          *common.Context
	view         string
	region, name string
	data         *common.Data

	detail inspect.Deployment
	read   bool
	err    string
	asked  time.Time
	busy   bool

	pods   *table.Model
	picked bool // the operator moved the cursor: a refresh keeps it
	filter string
	head   []string // lines above the pods table
	tail   []string // below it: the events
	lines  []string
	podRow int // line of the pods table's first row
	offset int
	w, h   int
}

// detailMsg is the answer to one read, for the drill of key.
type detailMsg struct {
	view, key string
	detail    inspect.Deployment
	err       error
}

func (m detailMsg) ViewName() string { return m.view }

func newDrill(ctx *common.Context, d *common.Data, region, name string) *Drill {
	t := table.New(ctx, []table.Column{
		{Title: "POD", Width: 12, Flex: true, Ident: true},
		{Title: "STATUS", Width: 16, Status: true}, // fits CrashLoopBackOff
		{Title: "READY", Width: 5, Right: true},
		{Title: "RESTARTS", Width: 8, Right: true, Numeric: true},
		{Title: "NODE", Width: 8, Priority: 1},
		{Title: "AGE", Width: 4, Right: true, Numeric: true, Priority: 2, Muted: true},
	}, 0, false)
	t.Empty = "no pods"
	return &Drill{ctx: ctx, view: Name, region: region, name: name, data: d, pods: t}
}

// BindView names the view whose messages reach the drill.
func (t *Drill) BindView(name string) { t.view = name }

// Title names the Deployment (and its region when it has one).
func (t *Drill) Title() string {
	if t.region == "" {
		return t.name
	}
	return t.name + " · " + t.region
}

func (t *Drill) SetData(d *common.Data) { t.data = d; t.rebuild() }
func (t *Drill) SetSize(w, h int)       { t.w, t.h = w, h; t.rebuild() }

// SetFilter filters the pods and the events.
func (t *Drill) SetFilter(q string) {
	t.filter = strings.ToLower(q)
	t.pods.SetFilter(q)
	t.rebuild()
}

// Actions: scale the Deployment.
func (t *Drill) Actions() []common.ActionBinding {
	if _, ok := find(t.data, t.region, t.name); !ok {
		return nil
	}
	return []common.ActionBinding{instances.ScaleAction(t.data, t.name)}
}

// Init reads the Deployment.
func (t *Drill) Init() tea.Cmd {
	in := t.ctx.Inspect
	if in == nil {
		return nil
	}
	t.asked, t.busy = t.ctx.Now, true
	view, k, region, name := t.view, Key(t.region, t.name), t.region, t.name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), ReadTimeout)
		defer cancel()
		d, err := in.Deployment(ctx, region, name)
		return detailMsg{view: view, key: k, detail: d, err: err}
	}
}

// Refresh re-reads the Deployment (with each snapshot), at most every
// base.RefreshEvery and never twice at once.
func (t *Drill) Refresh() tea.Cmd {
	if t.busy || t.ctx.Now.Sub(t.asked) < base.RefreshEvery {
		return nil
	}
	return t.Init()
}

// LogTarget is the selected pod.
func (t *Drill) LogTarget() (region, pod string, ok bool) {
	if t.ctx.Inspect == nil {
		return "", "", false
	}
	pod = t.pods.SelectedKey()
	return t.region, pod, pod != ""
}

// Pods is the number of pods listed (tests).
func (t *Drill) Pods() int { return t.pods.Total() }

// Selected is the pod under the cursor (tests).
func (t *Drill) Selected() string { return t.pods.SelectedKey() }

// Update takes the read's answer and the keys: up/down move over the pods,
// page keys scroll the page.
func (t *Drill) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case detailMsg:
		if msg.key != Key(t.region, t.name) {
			return nil
		}
		t.busy = false
		t.err = ""
		if msg.err != nil {
			// keep what the last read showed
			t.err = msg.err.Error()
		} else {
			t.detail, t.read = msg.detail, true
		}
		t.rebuild()
		return nil
	case table.ClickMsg:
		// a click on a pod's row selects it
		before := t.pods.SelectedKey()
		t.pods.Update(msg)
		if t.pods.SelectedKey() != before {
			t.picked = true
			t.layout()
		}
	case tea.KeyMsg:
		k := t.ctx.Keys
		switch {
		case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
			t.pods.Update(msg)
			t.picked = true
			t.layout()
			t.follow()
		case key.Matches(msg, k.SortNext), key.Matches(msg, common.SortPrev), key.Matches(msg, k.SortReverse):
			t.pods.Update(msg)
			t.layout()
		case key.Matches(msg, k.PageDown):
			t.scroll(t.h)
		case key.Matches(msg, k.PageUp):
			t.scroll(-t.h)
		case key.Matches(msg, k.Top):
			t.scroll(-len(t.lines))
		case key.Matches(msg, k.Bottom):
			t.scroll(len(t.lines))
		}
	}
	return nil
}

func (t *Drill) scroll(n int) {
	t.offset = max(min(t.offset+n, len(t.lines)-t.h), 0)
}

// follow keeps the selected pod on screen.
func (t *Drill) follow() {
	if t.pods.Len() == 0 {
		return
	}
	row := t.podRow + t.pods.Cursor() - t.pods.Offset()
	if row < t.offset {
		t.offset = row
	}
	if t.h > 0 && row >= t.offset+t.h {
		t.offset = row - t.h + 1
	}
	t.scroll(0)
}

func (t *Drill) rebuild() {
	st := t.ctx.Styles
	kv := func(k, v string) string { return base.KV(t.ctx, k, v) }
	dep, inSnap := find(t.data, t.region, t.name)
	var lines []string
	if !inSnap && !t.read {
		lines = append(lines, st.Warn.Render("deployment "+common.Sanitize(t.name)+" is not in the snapshot"))
	}
	if t.err != "" {
		lines = append(lines, st.Warn.Render("⚠ "+common.Sanitize(t.err)))
	}

	d := t.detail
	if t.read {
		lvl := health.Deployment(state.Deployment{Desired: d.Replicas, Ready: d.Ready})
		lines = append(lines, kv("replicas", st.LevelStyle(lvl).Render(fmt.Sprintf("%d/%d ready", d.Ready, d.Replicas))+
			fmt.Sprintf(" · %d up-to-date · %d available · %d current", d.Updated, d.Available, d.Current)))
		rollout := []string{}
		if d.Revision != "" {
			rollout = append(rollout, "revision "+d.Revision)
		}
		if len(d.ReplicaSets) > 0 {
			rs := d.ReplicaSets[0]
			rollout = append(rollout, fmt.Sprintf("replicaset %s %d/%d", rs.Name, rs.Ready, rs.Desired))
		}
		if d.ObservedGeneration < d.Generation {
			rollout = append(rollout, st.Warn.Render(fmt.Sprintf("generation %d not yet observed (at %d)", d.Generation, d.ObservedGeneration)))
		}
		rollout = append(rollout, d.Strategy)
		lines = append(lines, kv("rollout", strings.Join(rollout, " · ")))
		lines = append(lines, kv("hpa", t.hpaLine(d.HPA, dep.HPA)))
		lines = append(lines, t.conditionLines()...)
	} else {
		lines = append(lines, kv("replicas", st.LevelStyle(health.Deployment(dep)).Render(fmt.Sprintf("%d/%d ready", dep.Ready, dep.Desired))+
			fmt.Sprintf(" · %d up-to-date · %d current", dep.Updated, dep.Current)))
		lines = append(lines, kv("hpa", t.hpaLine(nil, dep.HPA)))
		if t.ctx.Inspect != nil && t.err == "" {
			lines = append(lines, st.Muted.Render("reading the deployment…"))
		}
	}

	rows, ready := t.podRows(dep)
	t.pods.SetRows(rows)
	if !t.picked {
		// the pod to look at first: the first one not ready
		if name, ok := firstNotReady(rows, ready); ok {
			t.pods.Select(name)
		}
	}
	lines = append(lines, st.Title.Render("pods")+st.Muted.Render(fmt.Sprintf(" [%d/%d ready]", countTrue(ready), len(rows))))
	t.head = lines

	lines = nil
	if t.ctx.Inspect != nil {
		lines = append(lines, "", st.Title.Render("events"))
		evs := d.Events
		if t.filter != "" {
			evs = nil
			for _, e := range d.Events {
				if strings.Contains(strings.ToLower(e.Kind+" "+e.Name+" "+e.Reason+" "+e.Message), t.filter) {
					evs = append(evs, e)
				}
			}
		}
		errText := ""
		if !t.read {
			errText = t.err
		}
		lines = append(lines, base.EventLinesOf(t.ctx, evs, errText, t.read, "Deployment/"+t.name)...)
	}
	t.tail = lines
	t.layout()
}

// layout draws the page: the pods table shows every pod when they fit,
// else it scrolls within the screen, above room for three events; only
// its visible rows are drawn, so 1,000 pods cost what 20 do.
func (t *Drill) layout() {
	th := max(t.pods.Len(), 1) + 1
	if room := max(t.h-len(t.head)-min(len(t.tail), 4), 6); th > room {
		th = room
	}
	t.pods.SetSize(t.w, th)
	t.podRow = len(t.head) + 1
	t.lines = append(append(append(t.lines[:0], t.head...), strings.Split(t.pods.View(), "\n")...), t.tail...)
	t.scroll(0)
}

// hpaLine from the read HPA, else the snapshot's.
func (t *Drill) hpaLine(h *inspect.HPA, snap *state.HPA) string {
	if h == nil && snap != nil {
		h = &inspect.HPA{Name: snap.Name, Min: snap.Min, Max: snap.Max, Current: snap.Current, Desired: snap.Desired}
		for _, m := range snap.Metrics {
			h.Metrics = append(h.Metrics, inspect.HPAMetric(m))
		}
	}
	if h == nil {
		return t.ctx.Styles.Muted.Render("none")
	}
	desired := fmt.Sprint(h.Desired)
	if h.Desired == 0 && h.Min > 0 {
		desired = "?" // the controller has not computed one (no metrics yet)
	}
	parts := []string{fmt.Sprintf("%s min %d max %d · %d current → %s desired", h.Name, h.Min, h.Max, h.Current, desired)}
	for _, m := range h.Metrics {
		cur := m.Current
		if cur == "" {
			cur = "?"
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s", m.Name, cur, m.Target))
	}
	return common.Sanitize(strings.Join(parts, " · "))
}

// conditionLines: one line of every condition; the ones not True get
// their reason and message spelt out.
func (t *Drill) conditionLines() []string {
	st := t.ctx.Styles
	if len(t.detail.Conditions) == 0 {
		return []string{base.KV(t.ctx, "conditions", st.Muted.Render("none reported"))}
	}
	var summary []string
	var bad []string
	for _, c := range t.detail.Conditions {
		s := c.Type + " " + c.Status
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		if c.Status != "True" {
			summary = append(summary, st.Warn.Render(common.Sanitize(s)))
			bad = append(bad, base.KV(t.ctx, "", st.Warn.Render(common.Sanitize(c.Type+": "+c.Message))+
				st.Muted.Render(" "+present.Age(t.ctx.Now.Sub(c.Updated))+" ago")))
			continue
		}
		summary = append(summary, common.Sanitize(s))
	}
	return append([]string{base.KV(t.ctx, "conditions", strings.Join(summary, " · "))}, bad...)
}

// podRows from the read Deployment, else the snapshot's instances of it.
func (t *Drill) podRows(dep state.Deployment) ([]table.Row, []bool) {
	var rows []table.Row
	var ready []bool
	if t.read {
		for _, p := range t.detail.Pods {
			age := t.ctx.Now.Sub(p.Created)
			lvl := common.LevelOK
			switch {
			case crashing(p.Status):
				lvl = common.LevelCrit
			case !p.Ready:
				lvl = common.LevelWarn
			}
			rows = append(rows, table.Row{Key: p.Name,
				Cells: []string{common.Sanitize(p.Name), common.Sanitize(p.Status), p.Containers, fmt.Sprint(p.Restarts),
					common.Sanitize(p.Node), present.Age(age)},
				Nums:  []float64{math.NaN(), math.NaN(), math.NaN(), float64(p.Restarts), math.NaN(), age.Seconds()},
				Level: lvl})
			ready = append(ready, p.Ready)
		}
		return rows, ready
	}
	for _, in := range t.data.Snap.Instances {
		if in.Deployment != t.name || in.Region != dep.Region {
			continue
		}
		status, lvl := "ready", common.LevelOK
		if !in.Ready {
			status, lvl = "not ready", common.LevelWarn
		}
		rows = append(rows, table.Row{Key: in.Pod,
			Cells: []string{common.Sanitize(in.Pod), status, "", "", common.Sanitize(in.Node), ""},
			Nums:  []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()},
			Level: lvl})
		ready = append(ready, in.Ready)
	}
	return rows, ready
}

func crashing(status string) bool {
	switch status {
	case "CrashLoopBackOff", "Error", "OOMKilled", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "Failed":
		return true
	}
	return false
}

func firstNotReady(rows []table.Row, ready []bool) (string, bool) {
	for i, r := range ready {
		if !r {
			return rows[i].Key, true
		}
	}
	return "", false
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// View renders exactly h lines.
func (t *Drill) View() string {
	out := make([]string, 0, t.h)
	for i := t.offset; i < len(t.lines) && len(out) < t.h; i++ {
		out = append(out, common.Fit(t.lines[i], t.w))
	}
	return base.Pad(out, t.h)
}
