package base

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ui/common"
)

// maxLogLines a log view keeps; older lines scroll out.
const maxLogLines = 5000

// LogDrill is a pod's log: followed by default, with the previous
// container, timestamps and wrap toggled by key and `/` filtering the lines.
type LogDrill struct {
	ctx         *common.Context
	view        string // the view whose drill it is: stream messages are routed there
	region, pod string
	opts        inspect.LogOptions
	wrap        bool

	lines  []string
	filter string
	shown  []string // lines after filter and wrap, for the width
	match  int      // lines the filter keeps (before wrapping)
	offset int
	pinned bool // at the bottom: new lines scroll the view
	status string
	gen    int // stream generation: lines of a stream since closed are dropped
	cancel context.CancelFunc
	w, h   int
}

// logMsg carries lines of one stream generation to its view.
type logMsg struct {
	view  string
	gen   int
	lines []string
	next  <-chan logChunk
	err   error
	done  bool
}

func (m logMsg) ViewName() string { return m.view }

type logChunk struct {
	lines []string
	err   error
}

// NewLogDrill opens the log of pod (in region) for view; Init starts the stream.
func NewLogDrill(ctx *common.Context, view, region, pod string) *LogDrill {
	return &LogDrill{ctx: ctx, view: view, region: region, pod: pod, pinned: true,
		opts: inspect.LogOptions{Follow: true, TailLines: 1000}}
}

func (l *LogDrill) Title() string {
	flags := []string{}
	if l.opts.Follow {
		flags = append(flags, "follow")
	}
	if l.opts.Previous {
		flags = append(flags, "previous")
	}
	if l.opts.Timestamps {
		flags = append(flags, "timestamps")
	}
	if l.wrap {
		flags = append(flags, "wrap")
	}
	return "logs " + l.pod + " (" + strings.Join(flags, ", ") + ")"
}

func (l *LogDrill) SetData(*common.Data)            {}
func (l *LogDrill) Actions() []common.ActionBinding { return nil }
func (l *LogDrill) SetFilter(q string)              { l.filter = strings.ToLower(q); l.rebuild() }
func (l *LogDrill) SetSize(w, h int)                { l.w, l.h = w, h; l.rebuild() }

// Close ends the stream.
func (l *LogDrill) Close() {
	if l.cancel != nil {
		l.cancel()
		l.cancel = nil
	}
}

// Init (re)opens the stream with the current options.
func (l *LogDrill) Init() tea.Cmd {
	l.Close()
	l.gen++
	l.lines, l.status, l.offset, l.pinned = nil, "opening…", 0, true
	l.rebuild()
	if l.ctx.Inspect == nil {
		l.status = "no cluster configured: logs are not available"
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	in, view, gen, region, pod, opts := l.ctx.Inspect, l.view, l.gen, l.region, l.pod, l.opts
	return func() tea.Msg {
		rc, err := in.Logs(ctx, region, pod, opts)
		if err != nil {
			return logMsg{view: view, gen: gen, err: err, done: true}
		}
		ch := make(chan logChunk, 16)
		go readLog(ctx, rc, ch)
		return waitLog(view, gen, ch)()
	}
}

// readLog sends the stream's lines in chunks: what is there at once goes in
// one message, so a long log does not cost one redraw per line.
func readLog(ctx context.Context, rc io.ReadCloser, ch chan<- logChunk) {
	defer close(ch)
	defer rc.Close()
	lines := make(chan string, 256)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		errc <- sc.Err()
		close(lines)
	}()
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case s, ok := <-lines:
			if !ok {
				ch <- logChunk{err: <-errc}
				return
			}
			batch = append(batch, s)
		}
	more:
		for len(batch) < 500 {
			select {
			case s, ok := <-lines:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		select {
		case ch <- logChunk{lines: batch}:
		case <-ctx.Done():
			return
		}
	}
}

func waitLog(view string, gen int, ch <-chan logChunk) tea.Cmd {
	return func() tea.Msg {
		c, ok := <-ch
		if !ok {
			return logMsg{view: view, gen: gen, done: true}
		}
		return logMsg{view: view, gen: gen, lines: c.lines, next: ch, err: c.err, done: c.lines == nil}
	}
}

// Update takes stream messages and the log keys.
func (l *LogDrill) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case logMsg:
		if msg.gen != l.gen {
			return nil
		}
		l.append(msg.lines)
		switch {
		case msg.err != nil:
			l.status = "⚠ " + msg.err.Error()
		case msg.done && l.opts.Follow:
			l.status = "stream ended"
		case msg.done:
			l.status = fmt.Sprintf("%d lines", len(l.lines))
		default:
			l.status = ""
		}
		if msg.done || msg.next == nil {
			return nil
		}
		return waitLog(l.view, l.gen, msg.next)
	case tea.KeyMsg:
		return l.key(msg)
	}
	return nil
}

func (l *LogDrill) key(km tea.KeyMsg) tea.Cmd {
	k := l.ctx.Keys
	switch {
	case key.Matches(km, common.LogFollow):
		l.opts.Follow = !l.opts.Follow
		return l.Init()
	case key.Matches(km, common.LogPrevious):
		l.opts.Previous = !l.opts.Previous
		return l.Init()
	case key.Matches(km, common.LogTimestamps):
		l.opts.Timestamps = !l.opts.Timestamps
		return l.Init()
	case key.Matches(km, common.LogWrap):
		l.wrap = !l.wrap
		l.rebuild()
		return nil
	case key.Matches(km, k.Up):
		l.offset--
	case key.Matches(km, k.Down):
		l.offset++
	case key.Matches(km, k.PageDown):
		l.offset += l.body()
	case key.Matches(km, k.PageUp):
		l.offset -= l.body()
	case key.Matches(km, k.Top):
		l.offset = 0
	case key.Matches(km, k.Bottom):
		l.offset = len(l.shown)
	default:
		return nil
	}
	l.clamp()
	l.pinned = l.offset >= len(l.shown)-l.body()
	return nil
}

func (l *LogDrill) append(lines []string) {
	for _, s := range lines {
		l.lines = append(l.lines, common.Sanitize(strings.TrimRight(s, "\r")))
	}
	if over := len(l.lines) - maxLogLines; over > 0 {
		l.lines = append(l.lines[:0:0], l.lines[over:]...)
	}
	l.rebuild()
}

// body is the number of log lines on screen (one line is the status).
func (l *LogDrill) body() int { return max(l.h-1, 0) }

func (l *LogDrill) rebuild() {
	l.shown, l.match = l.shown[:0], 0
	for _, s := range l.lines {
		if l.filter != "" && !strings.Contains(strings.ToLower(s), l.filter) {
			continue
		}
		l.match++
		if l.wrap && l.w > 0 {
			for len([]rune(s)) > l.w {
				r := []rune(s)
				l.shown = append(l.shown, string(r[:l.w]))
				s = string(r[l.w:])
			}
		}
		l.shown = append(l.shown, s)
	}
	if l.pinned {
		l.offset = len(l.shown)
	}
	l.clamp()
}

func (l *LogDrill) clamp() { l.offset = max(min(l.offset, len(l.shown)-l.body()), 0) }

// View renders exactly h lines: the log, then a status line.
func (l *LogDrill) View() string {
	out := make([]string, 0, l.h)
	for i := l.offset; i < len(l.shown) && len(out) < l.body(); i++ {
		out = append(out, common.Fit(l.shown[i], l.w))
	}
	for len(out) < l.body() {
		out = append(out, "")
	}
	if l.h > 0 {
		st := l.ctx.Styles
		help := fmt.Sprintf("%d/%d lines · f follow · p previous · t timestamps · w wrap · / filter", l.match, len(l.lines))
		left := st.Muted.Render(help)
		right := ""
		if l.status != "" {
			right = st.Warn.Render(common.Sanitize(l.status))
		}
		out = append(out, JoinEnds(left, right, l.w))
	}
	return strings.Join(out, "\n")
}

// Lines are the log lines read so far (tests).
func (l *LogDrill) Lines() []string { return l.lines }
