package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/input"
)

// InitTimeout bounds the first-run form's discovery (config init's own
// bound is 30 s; the checks add a few seconds each).
const InitTimeout = time.Minute

// FirstRun is the screen shown when there is no config: it names the path
// looked at and offers the demo, a context found in a cluster, or quitting.
type FirstRun struct {
	// ConfigPath is where the config was looked for (and is written).
	ConfigPath string
	// Init is `config init`: find the platform in a cluster, check each
	// endpoint and write the context. Bad input is an error naming the value.
	Init func(ctx context.Context, r InitRequest) (InitReport, error)
	// Demo is called when the operator picks the demo; the console then
	// quits and its caller starts the demo (nil: the screen says how).
	Demo func()
}

// InitRequest is the first-run form: config init's flags.
type InitRequest struct {
	Name, Kubeconfig, KubeContext, Namespace string
}

// InitReport is what config init found and wrote.
type InitReport struct {
	// Lines of the endpoint checks, as `config init` prints them.
	Lines []string
	// Context written (empty: nothing was written).
	Context string
}

type firstStage int

const (
	firstChoose firstStage = iota
	firstForm
	firstRunning
	firstDone
)

// firstRun is the first-run screen's model.
type firstRun struct {
	fr     FirstRun
	opts   Options
	theme  *common.Context
	stage  firstStage
	fields []input.Model
	labels []string
	focus  int
	msg    string // error or progress line
	report InitReport
}

type initDoneMsg struct {
	report InitReport
	err    error
}

func newFirstRun(opts Options) *firstRun {
	theme := opts.Theme
	if theme == (common.Theme{}) {
		theme = common.DefaultTheme()
	}
	f := &firstRun{fr: *opts.FirstRun, opts: opts, theme: common.NewContext(theme)}
	f.labels = []string{"name", "kubeconfig", "kube context", "namespace"}
	defaults := []string{"", defaultKubeconfig(), "", "wotr"}
	for i := range f.labels {
		in := input.New("")
		in.SetValue(defaults[i])
		f.fields = append(f.fields, in)
	}
	return f
}

func (f *firstRun) Init() tea.Cmd { return nil }

func (f *firstRun) openFailed(name string, err error) {
	f.stage = firstDone
	f.msg = fmt.Sprintf("the context %q was written but the console could not open on it: %v", name, err)
}

func (f *firstRun) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		f.theme.Width, f.theme.Height = msg.Width, msg.Height
		return f, nil
	case initDoneMsg:
		f.report = msg.report
		switch {
		case msg.report.Context == "":
			// nothing written: back to the form with the reason
			f.stage, f.msg = firstForm, "✗ "+errText(msg.err)
		case msg.err != nil:
			f.stage, f.msg = firstDone, "⚠ "+errText(msg.err)
		default:
			f.stage, f.msg = firstDone, ""
		}
		return f, nil
	case tea.KeyMsg:
		return f, f.key(msg)
	}
	return f, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return common.Sanitize(err.Error())
}

func (f *firstRun) key(km tea.KeyMsg) tea.Cmd {
	if km.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	switch f.stage {
	case firstChoose:
		switch km.String() {
		case "d":
			if f.fr.Demo == nil {
				f.msg = "start the demo from a shell: wotr-tui demo (or make demo in the repository)"
				return nil
			}
			f.fr.Demo()
			return tea.Quit
		case "c":
			if f.fr.Init == nil {
				f.msg = "run wotr-tui config init --kubeconfig K --context C --namespace N"
				return nil
			}
			f.stage, f.msg = firstForm, ""
		case "q", "esc":
			return tea.Quit
		}
	case firstForm:
		switch km.Type {
		case tea.KeyEsc:
			f.stage, f.msg = firstChoose, ""
		case tea.KeyTab, tea.KeyDown:
			f.focus = (f.focus + 1) % len(f.fields)
		case tea.KeyShiftTab, tea.KeyUp:
			f.focus = (f.focus + len(f.fields) - 1) % len(f.fields)
		case tea.KeyEnter:
			return f.submit()
		default:
			f.fields[f.focus].Update(km)
		}
	case firstRunning:
		// discovery is bounded by InitTimeout; keys wait for it
	case firstDone:
		switch {
		case km.Type == tea.KeyEnter && f.report.Context != "" && f.opts.OpenContext != nil:
			f.msg = fmt.Sprintf("opening the console on %q…", f.report.Context)
			return openContext(f.parent(), f.opts.OpenContext, f.report.Context)
		case km.Type == tea.KeyEsc:
			f.stage, f.msg = firstForm, ""
		case km.String() == "q":
			return tea.Quit
		}
	}
	return nil
}

func (f *firstRun) parent() context.Context {
	if f.opts.Parent != nil {
		return f.opts.Parent
	}
	return context.Background()
}

// submit runs config init in a command.
func (f *firstRun) submit() tea.Cmd {
	r := InitRequest{Name: f.value(0), Kubeconfig: f.value(1), KubeContext: f.value(2), Namespace: f.value(3)}
	f.stage, f.msg = firstRunning, "finding the platform in namespace "+common.Sanitize(r.Namespace)+" and checking each endpoint…"
	init, parent := f.fr.Init, f.parent()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, InitTimeout)
		defer cancel()
		rep, err := init(ctx, r)
		return initDoneMsg{report: rep, err: err}
	}
}

func (f *firstRun) value(i int) string { return strings.TrimSpace(f.fields[i].Value()) }

// View draws the screen in exactly the terminal size.
func (f *firstRun) View() string {
	w, h := f.theme.Width, f.theme.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	st := f.theme.Styles
	lines := []string{st.Title.Render("wotr-tui") + st.Muted.Render(" · first run"), ""}
	lines = append(lines, "No config found at "+cutPath(f.fr.ConfigPath, w-20)+".", "")
	switch f.stage {
	case firstChoose:
		lines = append(lines,
			"  "+st.Key.Render("d")+"  start the demo: the whole platform on this machine, under load,",
			"     with its own context (wotr-tui demo; make demo also installs what it needs)",
			"  "+st.Key.Render("c")+"  create a context: find the platform in a cluster and check each endpoint",
			"     (wotr-tui config init)",
			"  "+st.Key.Render("q")+"  quit",
		)
	case firstForm, firstRunning:
		lines = append(lines, st.Title.Render("Create a context")+st.Muted.Render(" (wotr-tui config init)"), "")
		for i, l := range f.labels {
			cursor := "  "
			val := common.Sanitize(f.fields[i].Value())
			if i == f.focus && f.stage == firstForm {
				cursor = st.Key.Render("› ")
				val = f.fields[i].View()
			}
			hint := ""
			switch {
			case i == 0 && f.fields[0].Value() == "":
				hint = st.Muted.Render("  (default: the kube context, else the namespace)")
			case i == 2 && f.fields[2].Value() == "":
				hint = st.Muted.Render("  (default: the kubeconfig's current one)")
			}
			lines = append(lines, cursor+common.Fit(l, 13)+val+hint)
		}
		lines = append(lines, "")
		if f.stage == firstForm {
			lines = append(lines, st.Muted.Render("tab/↓ next field · enter finds the platform and writes the context · esc back"))
		}
	case firstDone:
		lines = append(lines, st.Title.Render("Create a context")+st.Muted.Render(" (wotr-tui config init)"), "")
		for _, l := range f.report.Lines {
			lines = append(lines, "  "+common.Sanitize(l))
		}
		lines = append(lines, "", fmt.Sprintf("wrote context %q to %s", common.Sanitize(f.report.Context), cutPath(f.fr.ConfigPath, w-30)))
		if f.opts.OpenContext != nil {
			lines = append(lines, st.Muted.Render("enter opens the console on it · esc back to the form · q quit"))
		}
	}
	if f.msg != "" {
		lines = append(lines, "")
		for _, l := range strings.Split(ansi.Wrap(f.msg, w, " "), "\n") {
			lines = append(lines, st.Warn.Render(l))
		}
	}
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = common.Fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", w)
		}
	}
	return strings.Join(out, "\n")
}

// cutPath keeps a path whole when it fits in w cells, else cuts its middle
// (the file name and the top directories stay).
func cutPath(p string, w int) string {
	p = common.Sanitize(p)
	w = max(w, 20)
	if ansi.StringWidth(p) <= w {
		return p
	}
	return common.FitMiddle(p, w)
}

// defaultKubeconfig is kubectl's: the first file of $KUBECONFIG, else
// ~/.kube/config.
func defaultKubeconfig() string {
	if k := os.Getenv("KUBECONFIG"); k != "" {
		return filepath.SplitList(k)[0]
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".kube", "config")
}
