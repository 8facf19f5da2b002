package base

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/common"
)

// TextDrill is a scrollable detail page rebuilt from each snapshot.
type TextDrill struct {
	ctx     *common.Context
	title   string
	render  func(d *common.Data, w int) []string
	actions func(d *common.Data) []common.ActionBinding
	data    *common.Data
	lines   []string
	filter  string
	offset  int
	w, h    int

	view       string // the view it belongs to, for routed messages
	logTarget  func(d *common.Data) (region, pod string, ok bool)
	eventsOf   func(d *common.Data) (region, kind, name string, ok bool)
	events     []inspect.Event
	eventsErr  string
	eventsRead bool
	eventsAsk  time.Time // console clock of the last read asked
	eventsBusy bool
	// a drill of a whole namespace keeps only the warnings, the newest
	warnings bool
}

// maxWarnings a namespace's drill-in lists.
const maxWarnings = 10

// RefreshEvery is how often an open drill-in re-reads what it loads.
const RefreshEvery = 5 * time.Second

// WithLogs makes l open the log of the pod target names.
func (t *TextDrill) WithLogs(target func(d *common.Data) (region, pod string, ok bool)) *TextDrill {
	t.logTarget = target
	return t
}

// WithEvents lists the events of the object of names below the details.
func (t *TextDrill) WithEvents(of func(d *common.Data) (region, kind, name string, ok bool)) *TextDrill {
	t.eventsOf = of
	return t
}

// BindView names the view the drill belongs to, for routed messages.
func (t *TextDrill) BindView(name string) { t.view = name }

// WithWarnings lists the newest warnings of the namespace of region below
// the details (a region's drill-in: its cluster has no single object).
func (t *TextDrill) WithWarnings(region func(d *common.Data) (string, bool)) *TextDrill {
	t.warnings = true
	return t.WithEvents(func(d *common.Data) (string, string, string, bool) {
		r, ok := region(d)
		return r, "", "", ok
	})
}

// LogTarget is the pod whose log l opens, if any.
func (t *TextDrill) LogTarget() (region, pod string, ok bool) {
	if t.logTarget == nil || t.ctx.Inspect == nil {
		return "", "", false
	}
	return t.logTarget(t.data)
}

// eventsMsg carries the events of a drill's object (of: kind/name, so a
// late answer does not land in the drill of another object).
type eventsMsg struct {
	view   string
	of     string
	events []inspect.Event
	err    error
}

func (m eventsMsg) ViewName() string { return m.view }

// Init reads the events of the drill's object.
func (t *TextDrill) Init() tea.Cmd {
	if t.eventsOf == nil || t.ctx.Inspect == nil {
		return nil
	}
	region, kind, name, ok := t.eventsOf(t.data)
	if !ok {
		return nil
	}
	in, view, of := t.ctx.Inspect, t.view, kind+"/"+name
	t.eventsAsk, t.eventsBusy = t.ctx.Now, true
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		evs, err := in.Events(ctx, region, kind, name)
		return eventsMsg{view: view, of: of, events: evs, err: err}
	}
}

// Refresh re-reads the events (called with each snapshot), at most every
// RefreshEvery and never twice at once.
func (t *TextDrill) Refresh() tea.Cmd {
	if t.eventsBusy || t.ctx.Now.Sub(t.eventsAsk) < RefreshEvery {
		return nil
	}
	return t.Init()
}

// hasEvents: the drill lists events (of an object it can name).
func (t *TextDrill) hasEvents() bool {
	if t.eventsOf == nil || t.ctx.Inspect == nil {
		return false
	}
	_, _, _, ok := t.eventsOf(t.data)
	return ok
}

// ofObject is the kind/name whose events the drill lists.
func (t *TextDrill) ofObject() string {
	if t.eventsOf == nil {
		return ""
	}
	_, kind, name, _ := t.eventsOf(t.data)
	return kind + "/" + name
}

// NewTextDrill builds a detail page; render returns its lines for a width.
func NewTextDrill(ctx *common.Context, d *common.Data, title string, render func(d *common.Data, w int) []string, actions func(d *common.Data) []common.ActionBinding) *TextDrill {
	return &TextDrill{ctx: ctx, title: title, render: render, actions: actions, data: d}
}

func (t *TextDrill) Title() string          { return t.title }
func (t *TextDrill) SetData(d *common.Data) { t.data = d; t.rebuild() }
func (t *TextDrill) SetFilter(q string)     { t.filter = strings.ToLower(q); t.rebuild() }
func (t *TextDrill) SetSize(w, h int)       { t.w, t.h = w, h; t.rebuild() }
func (t *TextDrill) Actions() []common.ActionBinding {
	if t.actions == nil {
		return nil
	}
	return t.actions(t.data)
}

func (t *TextDrill) rebuild() {
	all := t.render(t.data, t.w)
	if t.hasEvents() {
		evs, title := t.events, "events"
		if t.warnings {
			title = "warnings in the namespace"
			evs = nil
			for _, e := range t.events {
				if e.Type == "Warning" && len(evs) < maxWarnings {
					evs = append(evs, e)
				}
			}
		}
		all = append(all, "", t.ctx.Styles.Title.Render(title))
		self := ""
		if t.warnings {
			self = "-" // every event names its object
		}
		all = append(all, EventLinesOf(t.ctx, evs, t.eventsErr, t.eventsRead, self)...)
	}
	t.lines = t.lines[:0]
	for _, l := range all {
		if t.filter == "" || strings.Contains(strings.ToLower(l), t.filter) {
			t.lines = append(t.lines, l)
		}
	}
	t.offset = min(t.offset, max(len(t.lines)-t.h, 0))
}

// Update scrolls.
func (t *TextDrill) Update(msg tea.Msg) tea.Cmd {
	if em, ok := msg.(eventsMsg); ok {
		if em.of != t.ofObject() {
			return nil
		}
		t.eventsBusy = false
		t.events, t.eventsRead = em.events, true
		t.eventsErr = ""
		if em.err != nil {
			t.eventsErr = em.err.Error()
		}
		t.rebuild()
		return nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := t.ctx.Keys
	switch {
	case key.Matches(km, k.Up):
		t.offset--
	case key.Matches(km, k.Down):
		t.offset++
	case key.Matches(km, k.PageDown):
		t.offset += t.h
	case key.Matches(km, k.PageUp):
		t.offset -= t.h
	case key.Matches(km, k.Top):
		t.offset = 0
	case key.Matches(km, k.Bottom):
		t.offset = len(t.lines)
	}
	t.offset = max(min(t.offset, len(t.lines)-t.h), 0)
	return nil
}

// View renders exactly h lines.
func (t *TextDrill) View() string {
	out := make([]string, 0, t.h)
	for i := t.offset; i < len(t.lines) && len(out) < t.h; i++ {
		out = append(out, common.Fit(t.lines[i], t.w))
	}
	return Pad(out, t.h)
}

// KV formats "key: value" detail lines with the key muted.
func KV(ctx *common.Context, k, v string) string {
	return ctx.Styles.Muted.Render(common.Fit(k, 14)) + " " + common.Sanitize(v)
}

// EventLines are events as drill-ins show them: age, type, reason,
// repeat count and message, warnings highlighted.
func EventLines(ctx *common.Context, evs []inspect.Event, errText string, read bool) []string {
	return EventLinesOf(ctx, evs, errText, read, "")
}

// EventLinesOf names the object of each event that is not about self
// ("Kind/name"): a Deployment's drill-in lists its pods' warnings too.
func EventLinesOf(ctx *common.Context, evs []inspect.Event, errText string, read bool, self string) []string {
	st := ctx.Styles
	switch {
	case errText != "":
		return []string{st.Warn.Render("⚠ " + common.Sanitize(errText))}
	case !read:
		return []string{st.Muted.Render("reading events…")}
	case len(evs) == 0:
		return []string{st.Muted.Render("no events")}
	}
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		typ := st.Muted.Render(common.Fit(e.Type, 7))
		if e.Type == "Warning" {
			typ = st.Warn.Render(common.Fit(e.Type, 7))
		}
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		obj := ""
		if self != "" && e.Kind+"/"+e.Name != self {
			obj = " " + st.Accent.Render(common.Sanitize(e.Kind+"/"+e.Name))
		}
		out = append(out, st.Muted.Render(common.Fit(present.Age(ctx.Now.Sub(e.Last)), 6))+" "+typ+" "+
			common.Sanitize(e.Reason)+count+obj+" "+st.Muted.Render(common.Sanitize(e.Message)))
	}
	return out
}
