package runbooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/dialog"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// StepTimeout bounds one step run from the console (a membership window or
// an action's verification can take a while).
const StepTimeout = 5 * time.Minute

// Keys of the run page.
var (
	keyNext    = key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "run next step"))
	keyAll     = key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "run to the end"))
	keyTick    = key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "tick off manual step"))
	keyAction  = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "run action step"))
	keyRestart = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "restart run"))
)

// runDrill runs one runbook step by step and shows each step's evidence.
type runDrill struct {
	ctx    *common.Context
	name   string
	rb     *runbook.Runbook
	run    *runbook.RunState
	err    string
	busy   bool
	auto   bool
	cursor int // step whose evidence is shown
	w, h   int
}

func newRunDrill(ctx *common.Context, name string) *runDrill {
	return &runDrill{ctx: ctx, name: name, busy: true}
}

// Init loads the runbook and its unfinished run, if any.
func (d *runDrill) Init() tea.Cmd {
	runner, name := d.ctx.Runner, d.name
	return func() tea.Msg {
		rb, st, err := runner.Open(context.Background(), name)
		return common.RunbookMsg{Name: name, Runbook: rb, Run: st, Err: err}
	}
}

func (d *runDrill) Title() string        { return d.name }
func (d *runDrill) SetData(*common.Data) {}
func (d *runDrill) SetFilter(string)     {}
func (d *runDrill) SetSize(w, h int)     { d.w, d.h = w, h }
func (d *runDrill) finished() bool       { return d.run != nil && !d.run.Finished.IsZero() }

func (d *runDrill) stepCount() int {
	if d.rb == nil {
		return 0
	}
	return len(d.rb.Steps)
}

func (d *runDrill) result(i int) *runbook.StepResult {
	if d.run == nil || i < 0 || i >= len(d.run.Steps) {
		return nil
	}
	return &d.run.Steps[i]
}

// doneSteps counts results that stand: a trailing pending or refused step is
// the next one to run again.
func (d *runDrill) doneSteps() int {
	if d.run == nil {
		return 0
	}
	n := len(d.run.Steps)
	for n > 0 && (d.run.Steps[n-1].Status == runbook.StepPending || d.run.Steps[n-1].Status == runbook.StepRefused) {
		n--
	}
	return n
}

// next is the step the next key press runs, or nil when the run is over.
func (d *runDrill) next() *runbook.Step {
	if d.rb == nil || d.finished() {
		return nil
	}
	if i := d.doneSteps(); i < len(d.rb.Steps) {
		return &d.rb.Steps[i]
	}
	return nil
}

// Actions offers the action dialog for an action step: plan, typed
// confirmation, execution and audit work exactly as anywhere else.
func (d *runDrill) Actions() []common.ActionBinding {
	s := d.next()
	if s == nil || s.Action == nil || d.busy {
		return nil
	}
	var params []common.Param
	for k, v := range s.Action.Params {
		params = append(params, common.Param{Name: k, Prompt: k, Default: v})
	}
	return []common.ActionBinding{{Key: keyAction, Kind: s.Action.Kind, Target: s.Action.Target, Params: params}}
}

func (d *runDrill) cmdNext(ack bool) tea.Cmd {
	d.busy, d.err = true, ""
	runner, name := d.ctx.Runner, d.name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), StepTimeout)
		defer cancel()
		st, err := runner.Next(ctx, name, ack)
		return common.RunbookMsg{Name: name, Run: st, Err: err}
	}
}

func (d *runDrill) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.RunbookMsg:
		if msg.Name != d.name {
			return nil
		}
		d.busy = false
		if msg.Runbook != nil {
			d.rb = msg.Runbook
		}
		if msg.Run != nil {
			d.run = msg.Run
			d.cursor = max(len(d.run.Steps)-1, 0)
		}
		if msg.Err != nil {
			d.err, d.auto = msg.Err.Error(), false
			return nil
		}
		if d.auto {
			last := d.result(len(d.run.Steps) - 1)
			if s := d.next(); s != nil && s.Action == nil && s.Manual == "" && last != nil &&
				last.Status != runbook.StepPending && last.Status != runbook.StepRefused {
				return d.cmdNext(false)
			}
			d.auto = false
		}
		return nil
	case dialog.FinishedMsg:
		// The action dialog ran this run's action step: record its outcome.
		if s := d.next(); s != nil && s.Action != nil && !d.busy {
			d.busy = true
			runner, name, ok := d.ctx.Runner, d.name, msg.OK
			return func() tea.Msg {
				st, err := runner.Record(context.Background(), name, ok)
				return common.RunbookMsg{Name: name, Run: st, Err: err}
			}
		}
		return nil
	case tea.KeyMsg:
		k := d.ctx.Keys
		switch {
		case key.Matches(msg, k.Up):
			d.cursor = max(d.cursor-1, 0)
		case key.Matches(msg, k.Down):
			d.cursor = min(d.cursor+1, max(d.stepCount()-1, 0))
		case d.busy:
			return nil
		case key.Matches(msg, keyNext):
			if s := d.next(); s != nil {
				return d.cmdNext(false)
			}
		case key.Matches(msg, keyAll):
			if s := d.next(); s != nil {
				d.auto = true
				return d.cmdNext(false)
			}
		case key.Matches(msg, keyTick):
			if s := d.next(); s != nil && s.Manual != "" {
				return d.cmdNext(true)
			}
		case key.Matches(msg, keyRestart):
			d.busy, d.run, d.err, d.cursor = true, nil, "", 0
			runner, name := d.ctx.Runner, d.name
			return func() tea.Msg {
				if err := runner.Restart(context.Background(), name); err != nil {
					return common.RunbookMsg{Name: name, Err: err}
				}
				rb, st, err := runner.Open(context.Background(), name)
				return common.RunbookMsg{Name: name, Runbook: rb, Run: st, Err: err}
			}
		}
	}
	return nil
}

func (d *runDrill) statusStyle(s runbook.StepStatus) func(...string) string {
	st := d.ctx.Styles
	switch s {
	case runbook.StepPass:
		return st.OK.Render
	case runbook.StepWarn, runbook.StepPending:
		return st.Warn.Render
	case runbook.StepFail, runbook.StepError, runbook.StepRefused:
		return st.Crit.Render
	}
	return st.Muted.Render
}

// View renders exactly h lines: the steps with their status, then the
// evidence of the selected step, then the keys.
func (d *runDrill) View() string {
	st := d.ctx.Styles
	var lines []string
	if d.rb == nil {
		if d.err != "" {
			lines = append(lines, st.Crit.Render("runbook unavailable: ")+common.Sanitize(d.err))
		} else {
			lines = append(lines, st.Muted.Render("loading…"))
		}
		return base.Pad(lines, d.h)
	}
	head := fmt.Sprintf("%s (%s)", common.Sanitize(d.rb.Title), d.rb.Kind)
	switch {
	case d.run == nil:
		head += st.Muted.Render("  not started")
	case d.finished():
		head += "  result " + d.statusStyle(d.run.Worst)(strings.ToUpper(string(d.run.Worst)))
	default:
		head += st.Muted.Render(fmt.Sprintf("  %d of %d steps done, started %s", d.doneSteps(), len(d.rb.Steps), d.run.Started.Local().Format("15:04:05")))
	}
	lines = append(lines, st.Title.Render(head))
	nextIdx := -1
	if s := d.next(); s != nil {
		nextIdx = d.doneSteps()
	}
	for i, s := range d.rb.Steps {
		mark, status, summary := "  ", "", ""
		if r := d.result(i); r != nil {
			status = d.statusStyle(r.Status)(fmt.Sprintf("%-7s", strings.ToUpper(string(r.Status))))
			summary = " " + common.Sanitize(r.Summary)
		} else {
			status = st.Muted.Render(fmt.Sprintf("%-7s", "-"))
		}
		if i == nextIdx {
			mark = st.Accent.Render("› ")
			if d.busy {
				summary = st.Muted.Render(" running…")
			}
		}
		line := fmt.Sprintf("%s%2d. %s %-7s %s%s", mark, i+1, status, s.Kind(), common.Sanitize(s.Title), st.Muted.Render(summary))
		if i == d.cursor {
			line = st.Accent.Render("▌") + line
		} else {
			line = " " + line
		}
		lines = append(lines, common.Fit(line, d.w))
	}
	if d.run != nil && len(d.run.Diagnosis) > 0 {
		lines = append(lines, "", st.Title.Render("Likely causes"))
		for _, c := range d.run.Diagnosis {
			lines = append(lines, common.Fit("  - "+common.Sanitize(c), d.w))
		}
	}
	lines = append(lines, "")
	if d.cursor < len(d.rb.Steps) {
		s := d.rb.Steps[d.cursor]
		lines = append(lines, st.Title.Render(fmt.Sprintf("Step %d: %s", d.cursor+1, common.Sanitize(s.Title))))
		if r := d.result(d.cursor); r != nil {
			lines = append(lines, base.KV(d.ctx, "status", strings.ToUpper(string(r.Status))+"  "+r.Summary),
				base.KV(d.ctx, "ran", r.Started.Local().Format("15:04:05")+" for "+r.Finished.Sub(r.Started).Round(time.Millisecond).String()))
			if r.Cause != "" {
				lines = append(lines, base.KV(d.ctx, "likely cause", r.Cause))
			}
			if r.Fix != "" && r.Status != runbook.StepPass {
				lines = append(lines, base.KV(d.ctx, "fix", r.Fix))
			}
			for _, e := range r.Evidence {
				lines = append(lines, common.Fit("  "+common.Sanitize(e), d.w))
			}
		} else if s.Manual != "" {
			lines = append(lines, common.Fit("  "+common.Sanitize(s.Manual), d.w))
		} else {
			lines = append(lines, st.Muted.Render("  not run yet"))
		}
	}
	if d.err != "" {
		lines = append(lines, st.Crit.Render("error: ")+common.Sanitize(d.err))
	}
	keys := d.hint()
	// Keep the key hint on the last line whatever the evidence length.
	body := lines
	if len(body) > d.h-1 {
		body = body[:max(d.h-1, 0)]
	}
	out := base.Pad(body, max(d.h-1, 0))
	if d.h > 0 {
		if out != "" {
			out += "\n"
		}
		out += st.Muted.Render(common.Fit(keys, d.w))
	}
	return out
}

func (d *runDrill) hint() string {
	if d.busy {
		return "running…"
	}
	s := d.next()
	switch {
	case s == nil:
		return "R restart · ↑/↓ select step · esc back"
	case s.Action != nil && d.ctx.ReadOnly:
		return "next is an action (read-only console: run it with `wotr-tui runbook run`) · R restart · esc back"
	case s.Action != nil:
		return "x run action step (confirm in the dialog) · R restart · ↑/↓ select · esc back"
	case s.Manual != "":
		return "y tick off manual step · R restart · ↑/↓ select · esc back"
	}
	return "n next step · a run to the end · R restart · ↑/↓ select · esc back"
}
