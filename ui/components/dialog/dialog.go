// Package dialog runs one action through ops.Actor: parameters -> plan (checks
// and projected effect) -> typed confirmation -> progress -> result. All
// calls to the actor happen inside commands.
package dialog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/input"
)

// Stage of the dialog.
type Stage int

const (
	StageParams Stage = iota
	StagePlanning
	StageConfirm
	StageRunning
	StageDone
)

// PlanTimeout bounds planning (reads state and runs preflight checks).
const PlanTimeout = 30 * time.Second

type planMsg struct {
	seq  int
	plan *action.Plan
	err  error
}

type progressMsg struct {
	seq int
	p   action.Progress
	ch  <-chan tea.Msg
}

type resultMsg struct {
	seq int
	res *action.Result
	err error
}

// FinishedMsg tells the root an action ended (to refresh the audit log).
type FinishedMsg struct{ OK bool }

var seqCounter int

// Model is one action dialog.
type Model struct {
	ctx      *common.Context
	actor    action.Actor
	parent   context.Context
	binding  common.ActionBinding
	stage    Stage
	inputs   []input.Model
	param    int
	plan     *action.Plan
	err      string
	confirm  input.Model
	progress []action.Progress
	result   *action.Result
	seq      int
	cancel   context.CancelFunc
	hint     string
	w, h     int
}

// New opens a dialog for binding. parent bounds planning; a running action
// does not end with it (it runs to its result record, so quitting never
// leaves one half-done), only its progress stops being delivered.
func New(ctx *common.Context, parent context.Context, actor action.Actor, b common.ActionBinding) (*Model, tea.Cmd) {
	seqCounter++
	m := &Model{ctx: ctx, actor: actor, parent: parent, binding: b, seq: seqCounter}
	for _, p := range b.Params {
		ti := input.New("> ")
		ti.SetValue(p.Default)
		ti.CharLimit = 64
		m.inputs = append(m.inputs, ti)
	}
	if len(m.inputs) == 0 {
		return m, m.startPlan()
	}
	return m, nil
}

// Stage of the dialog.
func (m *Model) Stage() Stage { return m.stage }

// Running is true while the action executes.
func (m *Model) Running() bool { return m.stage == StageRunning }

// Title names the action and its target.
func (m *Model) Title() string { return string(m.binding.Kind) + " " + m.binding.Target }

// Cancel stops a running action (on quit).
func (m *Model) Cancel() {
	if m.cancel != nil {
		m.cancel()
	}
}

// SetSize of the area the dialog is centred in.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

func (m *Model) request() action.Request {
	req := action.Request{Kind: m.binding.Kind, Target: m.binding.Target}
	for i, p := range m.binding.Params {
		v := strings.TrimSpace(m.inputs[i].Value())
		switch {
		case p.AsTarget:
			if v != "" {
				req.Target = v
			}
		case len(p.Choices) > 0:
			if v == "" {
				continue
			}
			if req.Params == nil {
				req.Params = map[string]string{}
			}
			name, val := choice(v, p.Choices)
			req.Params[name] = val
		default:
			if req.Params == nil {
				req.Params = map[string]string{}
			}
			req.Params[p.Name] = v
		}
	}
	return req
}

// choice splits "NAME [VALUE]"; a bare NAME is true. A name not among
// choices is passed whole, so the action's error names it.
func choice(v string, choices []string) (string, string) {
	name, val, _ := strings.Cut(v, " ")
	name = strings.TrimPrefix(name, "--")
	for _, c := range choices {
		if c == name {
			if val = strings.TrimSpace(val); val == "" {
				val = "true"
			}
			return name, val
		}
	}
	return v, "true"
}

func (m *Model) startPlan() tea.Cmd {
	m.stage = StagePlanning
	actor, req, seq, parent := m.actor, m.request(), m.seq, m.parent
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, PlanTimeout)
		defer cancel()
		p, err := actor.Plan(ctx, req)
		return planMsg{seq: seq, plan: p, err: err}
	}
}

func (m *Model) startExecute() tea.Cmd {
	m.stage = StageRunning
	ctx, cancel := context.WithCancel(context.WithoutCancel(m.parent))
	m.cancel = cancel
	actor, plan, phrase, seq, gone := m.actor, m.plan, strings.TrimSpace(m.confirm.Value()), m.seq, m.parent.Done()
	ch := make(chan tea.Msg, 64)
	go func() {
		defer close(ch)
		res, err := actor.Execute(ctx, plan, phrase, func(p action.Progress) {
			select {
			case ch <- progressMsg{seq: seq, p: p}:
			case <-ctx.Done():
			case <-gone: // the console has gone: the action carries on unseen
			}
		})
		select {
		case ch <- resultMsg{seq: seq, res: res, err: err}:
		case <-gone:
		}
	}()
	return next(ch)
}

// next waits for the following event of a running action.
func next(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		if p, ok := msg.(progressMsg); ok {
			p.ch = ch
			return p
		}
		return msg
	}
}

// Update returns closed=true when the dialog should go away.
func (m *Model) Update(msg tea.Msg) (cmd tea.Cmd, closed bool) {
	switch msg := msg.(type) {
	case planMsg:
		if msg.seq != m.seq || m.stage != StagePlanning {
			return nil, false
		}
		if msg.err != nil {
			m.err = msg.err.Error()
			m.stage = StageDone
			return nil, false
		}
		m.plan = msg.plan
		m.stage = StageConfirm
		m.confirm = input.New("> ")
		return nil, false
	case progressMsg:
		if msg.seq != m.seq {
			return nil, false
		}
		m.progress = append(m.progress, msg.p)
		return next(msg.ch), false
	case resultMsg:
		if msg.seq != m.seq {
			return nil, false
		}
		m.stage = StageDone
		m.result = msg.res
		if msg.err != nil {
			m.err = msg.err.Error()
		}
		ok := msg.err == nil && msg.res != nil && msg.res.OK
		return func() tea.Msg { return FinishedMsg{OK: ok} }, false
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil, false
}

func (m *Model) key(km tea.KeyMsg) (tea.Cmd, bool) {
	esc := key.Matches(km, m.ctx.Keys.Back)
	switch m.stage {
	case StageParams:
		if esc {
			return nil, true
		}
		if km.Type == tea.KeyEnter {
			// The action's own parameter specs judge the input, so a typo is
			// caught here with the rule, before any state is read.
			if _, err := action.ParseParams(m.binding.Kind, m.request().Params); err != nil {
				m.hint = err.Error()
				return nil, false
			}
			m.hint = ""
			if m.param < len(m.inputs)-1 {
				m.param++
				return nil, false
			}
			return m.startPlan(), false
		}
		m.inputs[m.param].Update(km)
		return nil, false
	case StagePlanning:
		return nil, esc
	case StageConfirm:
		if esc {
			return nil, true
		}
		if km.Type == tea.KeyEnter {
			if m.plan.Blocked {
				m.hint = "blocked by a failed preflight check"
				return nil, false
			}
			if strings.TrimSpace(m.confirm.Value()) != m.plan.ConfirmPhrase {
				m.hint = fmt.Sprintf("type %q exactly to confirm", m.plan.ConfirmPhrase)
				return nil, false
			}
			return m.startExecute(), false
		}
		m.confirm.Update(km)
		m.hint = ""
		return nil, false
	case StageRunning:
		// the action keeps running; the root keeps the dialog while it does
		return nil, false
	case StageDone:
		if esc || km.Type == tea.KeyEnter {
			return nil, true
		}
	}
	return nil, false
}

// View draws the dialog box centred in w x h.
func (m *Model) View() string {
	st := m.ctx.Styles
	bw := min(max(m.w-4, 20), 90)
	inner := bw - 4
	lines := []string{st.Title.Render(common.Clip("Action: "+common.Sanitize(m.Title()), inner)), ""}
	add := func(s string) { lines = append(lines, common.Clip(s, inner)) }
	switch m.stage {
	case StageParams:
		for i, p := range m.binding.Params {
			add(st.Muted.Render(p.Prompt))
			if spec, ok := action.ParamOf(m.binding.Kind, p.Name); ok && spec.Help != "" {
				add(st.Muted.Render("  " + spec.Name + " (" + string(spec.Type) + "): " + spec.Help))
			}
			m.inputs[i].Width = inner - 3
			add(m.inputs[i].View())
		}
		if m.hint != "" {
			add(st.Warn.Render(m.hint))
		}
		add("")
		add(st.Muted.Render("enter: plan · esc: cancel"))
	case StagePlanning:
		add("planning: reading state and running preflight checks…")
		add(st.Muted.Render("esc: cancel"))
	case StageConfirm, StageRunning, StageDone:
		lines = append(lines, m.planLines(inner)...)
	}
	switch m.stage {
	case StageConfirm:
		add("")
		if m.plan.Blocked {
			add(st.Crit.Render("Blocked: a preflight check failed. esc: close"))
			break
		}
		add(fmt.Sprintf("Type %s to confirm:", st.Key.Render(m.plan.ConfirmPhrase)))
		m.confirm.Width = inner - 3
		add(m.confirm.View())
		if m.hint != "" {
			add(st.Warn.Render(m.hint))
		}
		add(st.Muted.Render("enter: execute · esc: cancel"))
	case StageRunning, StageDone:
		add("")
		start := max(len(m.progress)-6, 0)
		for _, p := range m.progress[start:] {
			step := common.Sanitize(p.Step)
			if p.Total > 0 {
				step = fmt.Sprintf("[%d/%d] %s", p.Done, p.Total, step)
			}
			if p.Detail != "" {
				step += st.Muted.Render(" " + common.Sanitize(p.Detail))
			}
			add(step)
		}
		if m.stage == StageRunning {
			add(st.Accent.Render("running… (q asks before quitting)"))
		}
	}
	if m.stage == StageDone {
		switch {
		case m.err != "":
			add(st.Crit.Render("Failed: ") + common.Sanitize(m.err))
		case m.result != nil && m.result.OK:
			add(st.OK.Render("Done: ") + common.Sanitize(m.result.Summary) + st.Muted.Render(fmt.Sprintf(" (%s)", m.result.Duration.Round(time.Millisecond))))
		case m.result != nil:
			add(st.Crit.Render("Failed: ") + common.Sanitize(m.result.Summary+" "+m.result.Error))
		}
		if m.result != nil {
			for _, c := range m.result.Verified {
				add(checkLine(st, c))
			}
		}
		add(st.Muted.Render("enter/esc: close"))
	}
	// keep the box inside the screen
	if maxLines := m.h - 2; maxLines > 3 && len(lines) > maxLines {
		lines = append(lines[:maxLines-1], st.Muted.Render("…"))
	}
	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(m.ctx.Theme.Accent).Padding(0, 1).Width(bw - 2).
		Render(strings.Join(lines, "\n"))
	return lipgloss.Place(m.w, m.h, lipgloss.Center, lipgloss.Center, box)
}

func (m *Model) planLines(inner int) []string {
	st := m.ctx.Styles
	p := m.plan
	out := []string{}
	add := func(s string) { out = append(out, common.Clip(s, inner)) }
	if p == nil {
		return out
	}
	add(common.Sanitize(p.Summary))
	if p.Destructive {
		add(st.Warn.Render("destructive"))
	}
	if len(p.Steps) > 0 {
		add(st.Muted.Render("Steps"))
		for i, s := range p.Steps {
			add(fmt.Sprintf(" %d. %s", i+1, common.Sanitize(s)))
		}
	}
	if len(p.Checks) > 0 {
		add(st.Muted.Render("Checks"))
		for _, c := range p.Checks {
			add(checkLine(st, c))
		}
	}
	if len(p.Effects) > 0 {
		add(st.Muted.Render("Effect"))
		for _, e := range p.Effects {
			add(" → " + common.Sanitize(e))
		}
	}
	for _, w := range p.Warnings {
		add(st.Warn.Render(" ! " + common.Sanitize(w)))
	}
	return out
}

func checkLine(st common.Styles, c action.Check) string {
	mark, style := "✓", st.OK
	switch c.Status {
	case action.CheckWarn:
		mark, style = "!", st.Warn
	case action.CheckFail:
		mark, style = "✗", st.Crit
	}
	s := " " + style.Render(mark+" "+common.Sanitize(c.Name))
	if c.Detail != "" {
		s += st.Muted.Render(" " + common.Sanitize(c.Detail))
	}
	return s
}
