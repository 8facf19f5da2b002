package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/dialog"
	"github.com/wotr/wotr-tui/ui/components/input"
	"github.com/wotr/wotr-tui/ui/views/audit"
	"github.com/wotr/wotr-tui/ui/views/backups"
	"github.com/wotr/wotr-tui/ui/views/base"
	"github.com/wotr/wotr-tui/ui/views/consumers"
	"github.com/wotr/wotr-tui/ui/views/contexts"
	"github.com/wotr/wotr-tui/ui/views/deployments"
	"github.com/wotr/wotr-tui/ui/views/events"
	"github.com/wotr/wotr-tui/ui/views/instances"
	"github.com/wotr/wotr-tui/ui/views/nodes"
	"github.com/wotr/wotr-tui/ui/views/overview"
	"github.com/wotr/wotr-tui/ui/views/pools"
	"github.com/wotr/wotr-tui/ui/views/regions"
	"github.com/wotr/wotr-tui/ui/views/replication"
	"github.com/wotr/wotr-tui/ui/views/runbooks"
)

// Timeouts of the console's own reads.
const (
	AuditTimeout   = 5 * time.Second
	RunbookTimeout = 5 * time.Second
	AuditLimit     = 500
)

// Options of the console.
type Options struct {
	Source   StateSource
	Actor    action.Actor // nil: no actions
	Audit    AuditReader
	Runbooks RunbookLister
	// Runner runs runbooks step by step in the Runbooks view (nil: list only).
	Runner   common.RunbookRunner
	ReadOnly bool
	Context  string
	// HeaderColor is the context's header background (config header-color).
	HeaderColor string
	// Inspect reads pod logs and events (nil: no log view, no events).
	Inspect common.Inspector
	// Contexts of the config for :ctx. OpenContext opens the console on the
	// one chosen inside the running program (Run replaces the console and
	// closes the old one's clients); without it SwitchContext is called with
	// the name and the console quits so its caller re-opens it there.
	Contexts      []ContextInfo
	OpenContext   OpenFunc
	SwitchContext func(name string)
	// ProbeContext checks whether a context's platform answers, for the
	// :ctx view's REACHABLE column (nil: not checked). Bounded by the view.
	ProbeContext func(ctx context.Context, name string) error
	// Close releases this console's clients; Run calls it once the console
	// is replaced or the program ends, after its running actions returned.
	Close func()
	// FirstRun, when set, opens the first-run screen instead of a console
	// (there is no config yet).
	FirstRun *FirstRun
	// Thresholds are the context's health table (config.ContextConfig.Health);
	// nil means ops/health's defaults.
	Thresholds *health.Thresholds
	// Clock is time.Now unless a test fixes it.
	Clock func() time.Time
	// Tick is the redraw interval for data ages (default 1s; <0 disables).
	Tick  time.Duration
	Theme common.Theme
	// Parent bounds the console's reads. A running action is not cancelled
	// with it: quitting waits for the action's result (Model.Wait).
	Parent context.Context
}

type mode int

const (
	modeNormal mode = iota
	modeFilter
	modeCommand
	modeHelp
	modeQuitConfirm
)

// Messages produced by commands.
type (
	snapshotMsg struct {
		snap   state.Snapshot
		hist   map[string][]float64
		spans  map[string]common.Span
		origin string // of the history: "prometheus" or "polls"
	}
	subscribedMsg struct {
		ch     <-chan state.Snapshot
		cancel func()
	}
	sourceClosedMsg struct{}
	auditMsg        struct {
		entries []common.AuditEntry
		err     error
	}
	runbooksMsg struct {
		list []common.RunbookInfo
		err  error
	}
	tickMsg time.Time
)

// OpenFunc opens the console on a context of the config: its options with
// every source, the actions and Close.
type OpenFunc func(ctx context.Context, name string) (Options, error)

// Model is the root of the console.
type Model struct {
	opts    Options
	ctx     *common.Context
	views   []common.View
	current int
	data    *common.Data
	mode    mode
	input   input.Model
	status  string // one-line message (unknown command, read-only, ...)
	dialog  *dialog.Model
	help    help.Model
	unsub   func()
	hasData bool
	// quitting: the operator chose to quit once the running action ends.
	quitting bool
	// running counts Executes in flight, whoever started them.
	running *sync.WaitGroup
	ctxView *contexts.View
	// prev is the view :ctx was opened from (Esc returns to it).
	prev int
}

// New builds the console.
func New(opts Options) *Model {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Tick == 0 {
		opts.Tick = time.Second
	}
	if opts.Parent == nil {
		opts.Parent = context.Background()
	}
	if opts.Theme == (common.Theme{}) {
		opts.Theme = common.DefaultTheme()
	}
	ctx := common.NewContext(opts.Theme)
	ctx.ReadOnly = opts.ReadOnly || opts.Actor == nil
	ctx.ContextName = opts.Context
	ctx.HeaderColor = opts.HeaderColor
	if opts.Inspect != nil {
		ctx.Inspect = opts.Inspect
	}
	if opts.Thresholds != nil {
		ctx.Health = *opts.Thresholds
	}
	ctx.Runner = opts.Runner
	ctx.Now = opts.Clock()
	m := &Model{opts: opts, ctx: ctx, data: &common.Data{NoAudit: opts.Audit == nil, NoRunbooks: opts.Runbooks == nil}, running: &sync.WaitGroup{}}
	if opts.Actor != nil {
		m.opts.Actor = trackedActor{opts.Actor, m.running}
	}
	m.ctxView = contexts.New(ctx)
	m.ctxView.Set(opts.Parent, opts.Contexts, opts.ProbeContext)
	m.views = []common.View{
		overview.New(ctx), instances.New(ctx), consumers.New(ctx), replication.New(ctx), pools.New(ctx),
		nodes.New(ctx), regions.New(ctx), backups.New(ctx), runbooks.New(ctx), audit.New(ctx),
		events.New(ctx),      // no tab: :events
		deployments.New(ctx), // no tab: :deploy, or Enter on the overview's Deployments
		m.ctxView,            // no tab: :ctx
	}
	m.help = help.New()
	m.help.Styles.ShortKey = ctx.Styles.Key
	m.help.Styles.FullKey = ctx.Styles.Key
	m.help.Styles.ShortDesc = ctx.Styles.Muted
	m.help.Styles.FullDesc = ctx.Styles.Muted
	m.help.Styles.ShortSeparator = ctx.Styles.Muted
	m.help.Styles.FullSeparator = ctx.Styles.Muted
	for _, v := range m.views {
		v.SetData(m.data)
	}
	return m
}

// Wait blocks until every action the console started has returned (and
// so has written its result record). Run calls it before the clients close.
func (m *Model) Wait() { m.running.Wait() }

// Quitting reports whether the console quits when the running action ends.
func (m *Model) Quitting() bool { return m.quitting }

// trackedActor counts the Executes in flight.
type trackedActor struct {
	action.Actor
	running *sync.WaitGroup
}

func (t trackedActor) Execute(ctx context.Context, p *action.Plan, confirmation string, progress func(action.Progress)) (*action.Result, error) {
	t.running.Add(1)
	defer t.running.Done()
	return t.Actor.Execute(ctx, p, confirmation, progress)
}

// Context is the shared program context (tests read it).
func (m *Model) Context() *common.Context { return m.ctx }

// Current view.
func (m *Model) Current() common.View { return m.views[m.current] }

// Dialog open, or nil.
func (m *Model) Dialog() *dialog.Model { return m.dialog }

// Init starts the reads: latest snapshot, subscription, audit, runbooks, clock.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.loadRunbooks(), m.loadAudit()}
	if m.opts.Source != nil {
		src := m.opts.Source
		cmds = append(cmds,
			func() tea.Msg { return snapshotWithHistory(src, src.Latest()) },
			func() tea.Msg { ch, cancel := src.Subscribe(); return subscribedMsg{ch, cancel} },
		)
	}
	if m.opts.Tick > 0 {
		cmds = append(cmds, m.tick())
	}
	return tea.Batch(cmds...)
}

// snapshotWithHistory reads the histories of a snapshot; it runs inside a command.
func snapshotWithHistory(src StateSource, s state.Snapshot) tea.Msg {
	hist, spans, origin := historyOf(src, s)
	return snapshotMsg{snap: s, hist: hist, spans: spans, origin: origin}
}

func (m *Model) waitSnapshot(ch <-chan state.Snapshot) tea.Cmd {
	src := m.opts.Source
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return sourceClosedMsg{}
		}
		msg := snapshotWithHistory(src, s).(snapshotMsg)
		return subscribedSnapshot{snapshotMsg: msg, ch: ch}
	}
}

type subscribedSnapshot struct {
	snapshotMsg
	ch <-chan state.Snapshot
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *Model) loadAudit() tea.Cmd {
	if m.opts.Audit == nil {
		return nil
	}
	a, parent := m.opts.Audit, m.opts.Parent
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, AuditTimeout)
		defer cancel()
		e, err := a.Recent(ctx, AuditLimit)
		return auditMsg{e, err}
	}
}

func (m *Model) loadRunbooks() tea.Cmd {
	if m.opts.Runbooks == nil {
		return nil
	}
	r, parent := m.opts.Runbooks, m.opts.Parent
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, RunbookTimeout)
		defer cancel()
		l, err := r.List(ctx)
		return runbooksMsg{l, err}
	}
}

// setData hands a new data value to every view. Views keep pointers to
// immutable values, so each change makes a copy.
func (m *Model) setData(mut func(d *common.Data)) {
	d := *m.data
	mut(&d)
	m.data = &d
	for _, v := range m.views {
		v.SetData(m.data)
	}
}

// Update routes messages; it never blocks.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case snapshotMsg:
		m.applySnapshot(msg)
		return m, m.refreshEvents()
	case subscribedSnapshot:
		m.applySnapshot(msg.snapshotMsg)
		return m, tea.Batch(m.waitSnapshot(msg.ch), m.refreshEvents())
	case subscribedMsg:
		m.unsub = msg.cancel
		if msg.ch == nil {
			return m, nil
		}
		return m, m.waitSnapshot(msg.ch)
	case sourceClosedMsg:
		m.status = "state source closed"
		return m, nil
	case auditMsg:
		m.setData(func(d *common.Data) {
			d.AuditOK = true
			d.AuditErr = ""
			if msg.err != nil {
				d.AuditErr = msg.err.Error()
			}
			// A damaged log still lists what could be read.
			if msg.err == nil || msg.entries != nil {
				d.Audit = msg.entries
			}
		})
		return m, nil
	case runbooksMsg:
		m.setData(func(d *common.Data) {
			d.RunbookErr = ""
			if msg.err != nil {
				d.RunbookErr = msg.err.Error()
				return
			}
			d.Runbooks = msg.list
		})
		return m, nil
	case tickMsg:
		m.ctx.Now = m.opts.Clock()
		return m, m.tick()
	case common.SwitchViewMsg:
		m.switchTo(msg.Name)
		return m, nil
	case common.SwitchContextMsg:
		return m, m.switchContext(msg.Name)
	case contextOpenedMsg:
		// reached only without a Shell, or when opening failed
		if msg.err != nil {
			m.status = fmt.Sprintf("cannot open context %q: %v", msg.name, msg.err)
		} else if msg.opts.Close != nil {
			msg.opts.Close()
		}
		return m, nil
	case dialog.FinishedMsg:
		if m.quitting {
			// The action's result record is written: now the console may go.
			return m, m.quit()
		}
		// A runbook run waiting on its action step records the outcome.
		return m, tea.Batch(m.loadAudit(), m.toView("runbooks", msg))
	case common.RunbookMsg:
		return m, m.toView("runbooks", msg)
	case exportedMsg:
		if msg.err != nil {
			m.status = "export failed: " + msg.err.Error()
		} else {
			// the file name is the part to read: cut the directory, not it
			m.status = "exported to " + strings.TrimRight(common.FitMiddle(msg.path, max(m.ctx.Width-12, 20)), " ")
		}
		return m, nil
	case historyWindowMsg:
		m.applyWindow(msg)
		return m, nil
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case tea.KeyMsg:
		return m, m.key(msg)
	case common.RoutedMsg:
		return m, m.toView(msg.ViewName(), msg)
	}
	// anything else belongs to the dialog (plan, progress, result)
	if m.dialog != nil {
		cmd, closed := m.dialog.Update(msg)
		if closed {
			m.dialog = nil
		}
		return m, cmd
	}
	return m, nil
}

// toView hands a message to the named view whether or not it is shown.
func (m *Model) toView(name string, msg tea.Msg) tea.Cmd {
	for _, v := range m.views {
		if v.Name() == name {
			_, cmd := v.Update(msg)
			return cmd
		}
	}
	return nil
}

func (m *Model) applySnapshot(s snapshotMsg) {
	// a collector's Latest before its first round has no time: the header
	// keeps "waiting for data" rather than an age since year 1
	m.hasData = m.hasData || !s.snap.TakenAt.IsZero()
	m.setData(func(d *common.Data) {
		d.Snap, d.History, d.HistorySpans, d.HistoryOrigin = s.snap, s.hist, s.spans, s.origin
	})
}

func (m *Model) bodyHeight() int { return max(m.ctx.Height-4, 0) }

func (m *Model) resize() {
	for _, v := range m.views {
		v.SetSize(m.ctx.Width, m.bodyHeight())
	}
	m.help.Width = m.ctx.Width
	if m.dialog != nil {
		m.dialog.SetSize(m.ctx.Width, m.bodyHeight())
	}
}

// quit ends the program; it is only reached with no action running.
func (m *Model) quit() tea.Cmd {
	if m.unsub != nil {
		m.unsub()
	}
	return tea.Quit
}

func (m *Model) key(km tea.KeyMsg) tea.Cmd {
	// fast typing arrives as one message with several runes; each is a key
	if km.Type == tea.KeyRunes && len(km.Runes) > 1 && !km.Paste {
		cmds := make([]tea.Cmd, 0, len(km.Runes))
		for _, r := range km.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: km.Alt}))
		}
		return tea.Batch(cmds...)
	}
	k := m.ctx.Keys
	switch m.mode {
	case modeQuitConfirm:
		m.mode = modeNormal
		m.status = ""
		if km.String() == "y" || km.String() == "Y" {
			if m.dialog == nil || !m.dialog.Running() {
				return m.quit()
			}
			m.quitting = true
		}
		return nil
	case modeHelp:
		if key.Matches(km, k.Help) || key.Matches(km, k.Back) || km.String() == "q" {
			m.mode = modeNormal
		}
		return nil
	case modeFilter, modeCommand:
		return m.inputKey(km)
	}
	if km.Type == tea.KeyCtrlC {
		return m.askQuit()
	}
	if m.dialog != nil {
		if key.Matches(km, k.Quit) && m.dialog.Running() {
			return m.askQuit()
		}
		cmd, closed := m.dialog.Update(km)
		if closed {
			m.dialog = nil
		}
		return cmd
	}
	m.status = ""
	switch {
	case key.Matches(km, k.Quit):
		return m.askQuit()
	case key.Matches(km, k.Help):
		m.mode = modeHelp
		return nil
	case key.Matches(km, k.Filter):
		m.mode = modeFilter
		m.input = input.New("/")
		return nil
	case key.Matches(km, k.Command):
		m.mode = modeCommand
		m.input = input.New(":")
		return nil
	case key.Matches(km, k.Views):
		n := int(km.Runes[0] - '0')
		if n == 0 {
			n = 10
		}
		if n-1 < len(m.views) {
			m.current = n - 1
		}
		return nil
	case key.Matches(km, k.Export):
		return m.export()
	case key.Matches(km, windowKey(0)) && !ownsLetters(m.Current()):
		return m.cycleWindow()
	case key.Matches(km, k.Back):
		if m.Current().Back() {
			return nil
		}
		if m.Current() == common.View(m.ctxView) && m.ctxView.Table.Filter() == "" {
			m.current = m.prev // :ctx goes back where it was opened
			return nil
		}
		m.Current().SetFilter("")
		return nil
	}
	for _, a := range m.Current().Actions() {
		if key.Matches(km, a.Key) {
			return m.startAction(a)
		}
	}
	_, cmd := m.Current().Update(km)
	return cmd
}

func (m *Model) askQuit() tea.Cmd {
	if m.quitting {
		return nil // already waiting for the action to end
	}
	if m.dialog != nil && m.dialog.Running() {
		m.mode = modeQuitConfirm
		return nil
	}
	return m.quit()
}

func (m *Model) startAction(a common.ActionBinding) tea.Cmd {
	if m.ctx.ReadOnly {
		m.status = "read-only: " + string(a.Kind) + " is disabled"
		return nil
	}
	d, cmd := dialog.New(m.ctx, m.opts.Parent, m.opts.Actor, a)
	d.SetSize(m.ctx.Width, m.bodyHeight())
	m.dialog = d
	return cmd
}

func (m *Model) inputKey(km tea.KeyMsg) tea.Cmd {
	switch km.Type {
	case tea.KeyEsc:
		if m.mode == modeFilter {
			m.Current().SetFilter("")
		}
		m.mode = modeNormal
		return nil
	case tea.KeyEnter:
		if m.mode == modeCommand {
			m.mode = modeNormal
			return m.command(strings.TrimSpace(m.input.Value()))
		}
		m.mode = modeNormal
		return nil
	}
	m.input.Update(km)
	if m.mode == modeFilter {
		m.Current().SetFilter(m.input.Value())
	}
	return nil
}

// command runs a ":" command: a view name or alias, or q/quit.
func (m *Model) command(c string) tea.Cmd {
	switch c {
	case "":
		return nil
	case "q", "q!", "quit":
		return m.askQuit()
	}
	if cmd, ok := m.contextCommand(c); ok {
		return cmd
	}
	if !m.switchTo(c) {
		m.status = fmt.Sprintf("unknown view %q: try one of %s", common.Sanitize(c), m.viewNames())
	}
	return m.refreshEvents()
}

func (m *Model) viewNames() string {
	names := make([]string, len(m.views))
	for i, v := range m.views {
		names[i] = v.Name()
	}
	return strings.Join(names, ", ")
}

// switchTo a view by name, alias or unique prefix.
func (m *Model) switchTo(name string) bool {
	name = strings.ToLower(name)
	match := -1
	for i, v := range m.views {
		if v.Name() == name {
			m.current = i
			return true
		}
		for _, a := range v.Aliases() {
			if a == name {
				match = i
			}
		}
	}
	if match < 0 {
		for i, v := range m.views {
			// :c stays the consumers view; :ctx is typed whole
			if v.Name() != contexts.Name && strings.HasPrefix(v.Name(), name) {
				if match >= 0 {
					return false // ambiguous
				}
				match = i
			}
		}
	}
	if match < 0 {
		return false
	}
	m.current = match
	return true
}

// View draws header, body and footer in exactly the terminal size.
func (m *Model) View() string {
	w, h := m.ctx.Width, m.ctx.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < 40 || h < 10 {
		return common.Fit("wotr-tui needs at least 40x10", w)
	}
	lines := make([]string, 0, h)
	lines = append(lines, m.headerLines()...)
	var body string
	switch {
	case m.mode == modeHelp:
		body = m.helpView()
	case m.dialog != nil:
		body = m.dialog.View()
	default:
		body = m.Current().View()
	}
	bh := m.bodyHeight()
	bl := strings.Split(body, "\n")
	for i := 0; i < bh; i++ {
		l := ""
		if i < len(bl) {
			l = bl[i]
		}
		lines = append(lines, l)
	}
	lines = append(lines, m.footerLines()...)
	// nothing may overflow: clip every line to the width
	for i, l := range lines {
		if common.Width(l) > w {
			lines[i] = common.Clip(l, w)
		}
	}
	return strings.Join(lines[:h], "\n")
}

func (m *Model) headerLines() []string {
	st := m.ctx.Styles
	w := m.ctx.Width
	left := st.Title.Render("wotr-tui")
	if m.ctx.ContextName != "" {
		left += st.Muted.Render(" ctx ") + common.Sanitize(m.ctx.ContextName)
	}
	if m.ctx.ReadOnly {
		left += " " + st.Warn.Render("[read-only]")
	}
	right := st.Muted.Render("waiting for data")
	if m.hasData {
		right = st.Muted.Render("data " + present.Age(m.ctx.Now.Sub(m.data.Snap.TakenAt)) + " old")
	}
	if m.dialog != nil && m.dialog.Running() {
		right = st.Accent.Render("running: "+common.Sanitize(m.dialog.Title())) + " " + right
	}
	top := base.JoinEnds(left, right, w)
	if m.ctx.HeaderColor != "" {
		top = common.HeaderSkin(m.ctx.HeaderColor).Render(ansi.Strip(top))
	}
	// tabs: full titles when they fit, short names otherwise
	tabs := func(short bool) string {
		parts := make([]string, 0, len(m.views))
		for i, v := range m.views {
			if hidden(v) {
				continue
			}
			t := v.Title()
			if short {
				t = v.Short()
			}
			n := fmt.Sprint((i + 1) % 10)
			if i == m.current {
				parts = append(parts, st.Selected.Render(n+" "+t))
			} else {
				parts = append(parts, st.Key.Render(n)+st.Muted.Render(" "+t))
			}
		}
		return strings.Join(parts, " ")
	}
	t := tabs(false)
	if common.Width(t) > w {
		t = tabs(true)
	}
	return []string{top, common.Fit(t, w)}
}

func (m *Model) footerLines() []string {
	st := m.ctx.Styles
	w := m.ctx.Width
	var status string
	switch m.mode {
	case modeFilter, modeCommand:
		m.input.Width = w
		status = m.input.View()
	case modeQuitConfirm:
		status = st.Warn.Render("an action is running: wait for it and quit? y/n")
	default:
		status = m.statusLine()
	}
	return []string{common.Fit(status, w), common.Fit(m.shortHelp(), w)}
}

// statusLine reports the worst stale source, or the last message.
func (m *Model) statusLine() string {
	st := m.ctx.Styles
	if m.quitting && m.dialog != nil {
		return st.Warn.Render(common.Sanitize("waiting for " + m.dialog.Title() + " to finish: the console quits once its result is recorded"))
	}
	if m.status != "" {
		return st.Warn.Render(common.Sanitize(m.status))
	}
	var worst *state.Meta
	stale := 0
	for i, s := range m.data.Snap.Sources {
		if s.Stale || s.Error != "" {
			stale++
			if worst == nil || s.Age(m.ctx.Now) > worst.Age(m.ctx.Now) {
				worst = &m.data.Snap.Sources[i]
			}
		}
	}
	if worst != nil {
		msg := fmt.Sprintf("⚠ %s stale %s: %s", worst.Source, present.Age(worst.Age(m.ctx.Now)), worst.Error)
		if stale > 1 {
			msg += fmt.Sprintf(" (+%d more)", stale-1)
		}
		return st.Warn.Render(common.Sanitize(msg))
	}
	if m.data.AuditErr != "" && m.Current().Name() == "audit" {
		return st.Warn.Render("⚠ audit log: " + common.Sanitize(m.data.AuditErr))
	}
	return ""
}

func (m *Model) shortHelp() string {
	k := m.ctx.Keys
	bindings := []key.Binding{}
	if m.dialog == nil {
		bindings = append(bindings, m.Current().ShortHelp()...)
		if !m.ctx.ReadOnly {
			for _, a := range m.Current().Actions() {
				bindings = append(bindings, a.Key)
			}
		}
	}
	if !ownsLetters(m.Current()) {
		bindings = append(bindings, windowKey(m.data.HistoryWindow))
	}
	bindings = append(bindings, k.Command, k.Help, k.Quit)
	return m.help.ShortHelpView(bindings)
}

// helpView is the full help generated from the global, view and action keys.
func (m *Model) helpView() string {
	k := m.ctx.Keys
	groups := [][]key.Binding{{k.Views, k.Command, k.Filter, k.Export, windowKey(m.data.HistoryWindow), k.Help, k.Back, k.Quit}}
	groups = append(groups, m.Current().FullHelp()...)
	if !m.ctx.ReadOnly {
		acts := []key.Binding{}
		for _, a := range m.Current().Actions() {
			acts = append(acts, a.Key)
		}
		if len(acts) > 0 {
			groups = append(groups, acts)
		}
	}
	title := m.ctx.Styles.Title.Render("Help: " + m.Current().Title() + " (? or esc to close)")
	return title + "\n\n" + m.help.FullHelpView(groups) + "\n\n" + m.thresholdsView()
}

// thresholdsView lists the health table in force, so a colour can be read
// back to the number that caused it.
func (m *Model) thresholdsView() string {
	st := m.ctx.Styles
	t := present.Thresholds(m.ctx.Health)
	lines := []string{st.Title.Render("Thresholds in force") + st.Muted.Render(" (context thresholds: in config.yaml)")}
	for _, r := range t.Rows {
		lines = append(lines, " "+st.Key.Render(common.Fit(r[0], 17))+st.Warn.Render("warn "+common.FitRight(r[1], 6))+
			st.Crit.Render("  crit "+common.FitRight(r[2], 6))+"  "+st.Muted.Render(r[3]))
	}
	return strings.Join(lines, "\n")
}

// ownsLetters: the view binds plain letters itself just now (a pod log's
// w wraps there instead of cycling the history window).
func ownsLetters(v common.View) bool {
	o, ok := v.(common.LetterOwner)
	return ok && o.OwnsLetters()
}
