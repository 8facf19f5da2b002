package ui

import (
	"context"
	"reflect"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
)

// Shell is the program's model: the console of the current context, or the
// first-run screen before there is one. Switching contexts replaces the
// console inside the one program, so the operator never leaves the screen.
type Shell struct {
	cur   *Model
	first *firstRun
	opts  Options // of the first console (OpenContext, Parent, Theme, ...)
	gen   int     // of cur: messages of a replaced console are dropped
	w, h  int
}

// genMsg is a message produced by the console of generation gen.
type genMsg struct {
	gen int
	msg tea.Msg
}

// contextOpenedMsg carries the options of the console on another context
// (from Options.OpenContext, run in a command).
type contextOpenedMsg struct {
	name string
	opts Options
	err  error
}

// NewShell builds the program's model: the first-run screen when
// opts.FirstRun is set, else the console on opts.
func NewShell(opts Options) *Shell {
	s := &Shell{opts: opts}
	if opts.FirstRun != nil {
		s.first = newFirstRun(opts)
		return s
	}
	s.cur = New(opts)
	return s
}

// Console is the console shown (nil on the first-run screen).
func (s *Shell) Console() *Model { return s.cur }

// Init starts the first screen's reads.
func (s *Shell) Init() tea.Cmd {
	if s.cur == nil {
		return s.first.Init()
	}
	return s.tag(s.cur.Init())
}

// Update routes a message to the screen shown; a console on another context
// that finished opening replaces the current one.
func (s *Shell) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch m := msg.(type) {
	case genMsg:
		if m.gen != s.gen || s.cur == nil {
			return s, nil // for a console that is gone
		}
		msg = m.msg
	case tea.WindowSizeMsg:
		s.w, s.h = m.Width, m.Height
	case contextOpenedMsg:
		if m.err == nil {
			return s, s.replace(m.opts)
		}
		if s.cur == nil {
			s.first.openFailed(m.name, m.err)
			return s, nil
		}
	}
	if s.cur == nil {
		_, cmd := s.first.Update(msg)
		return s, cmd
	}
	_, cmd := s.cur.Update(msg)
	return s, s.tag(cmd)
}

// replace shows a console on opts and lets the old one go: its
// subscription ends and its clients close once no action of it runs.
func (s *Shell) replace(opts Options) tea.Cmd {
	old := s.cur
	s.gen++
	s.cur = New(s.inherit(opts))
	s.first = nil
	if s.w > 0 {
		s.cur.Update(tea.WindowSizeMsg{Width: s.w, Height: s.h})
	}
	cmds := []tea.Cmd{s.tag(s.cur.Init())}
	if old != nil {
		if old.unsub != nil {
			old.unsub()
		}
		cmds = append(cmds, func() tea.Msg {
			old.Wait()
			if old.opts.Close != nil {
				old.opts.Close()
			}
			return nil
		})
	}
	return tea.Batch(cmds...)
}

// inherit fills what the opener leaves out from the first console's
// options: the program's context, theme, clock and the opener itself.
func (s *Shell) inherit(o Options) Options {
	if o.Parent == nil {
		o.Parent = s.opts.Parent
	}
	if o.Theme == (common.Theme{}) {
		o.Theme = s.opts.Theme
	}
	if o.Clock == nil {
		o.Clock = s.opts.Clock
	}
	if o.Tick == 0 {
		o.Tick = s.opts.Tick
	}
	if o.OpenContext == nil {
		o.OpenContext = s.opts.OpenContext
	}
	if o.ProbeContext == nil {
		o.ProbeContext = s.opts.ProbeContext
	}
	return o
}

// View draws the screen shown.
func (s *Shell) View() string {
	if s.cur == nil {
		return s.first.View()
	}
	return s.cur.View()
}

// close waits for the console's actions and closes its clients (Run, once
// the program ended).
func (s *Shell) close() {
	if s.cur == nil {
		return
	}
	s.cur.Wait()
	if s.cur.opts.Close != nil {
		s.cur.opts.Close()
	}
}

var teaPkg = reflect.TypeOf(tea.QuitMsg{}).PkgPath()

// tag marks what cmd produces as the current console's, so that once it is
// replaced, its late answers (snapshots, audit, ticks) reach no one.
// bubbletea's own messages (quit, batches, sequences) pass unmarked;
// a batch's commands are marked in turn.
func (s *Shell) tag(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	gen := s.gen
	var wrap func(tea.Cmd) tea.Cmd
	wrap = func(c tea.Cmd) tea.Cmd {
		if c == nil {
			return nil
		}
		return func() tea.Msg {
			msg := c()
			switch m := msg.(type) {
			case nil:
				return nil
			case tea.BatchMsg:
				out := make(tea.BatchMsg, len(m))
				for i, c := range m {
					out[i] = wrap(c)
				}
				return out
			case contextOpenedMsg:
				return m // the shell's own
			}
			if reflect.TypeOf(msg).PkgPath() == teaPkg {
				return msg
			}
			return genMsg{gen: gen, msg: msg}
		}
	}
	return wrap(cmd)
}

// openContext opens the console on name in a command (Options.OpenContext
// may take a moment: clients are created, nothing is read yet).
func openContext(parent context.Context, open OpenFunc, name string) tea.Cmd {
	return func() tea.Msg {
		opts, err := open(parent, name)
		return contextOpenedMsg{name: name, opts: opts, err: err}
	}
}
