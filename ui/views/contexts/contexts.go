// Package contexts is `:ctx`: the config's contexts as a table (current one
// marked, read-only ones flagged, whether each answers), Enter switches.
package contexts

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// Name of the view in command mode.
const Name = "ctx"

// ProbeTimeout bounds one context's reachability check; the table shows
// "checking…" meanwhile and never waits for it.
const ProbeTimeout = 3 * time.Second

// Probe checks that a context's platform answers (nil: reachable).
type Probe func(ctx context.Context, name string) error

// View is the contexts table; it has no tab (command mode only).
type View struct {
	*base.TableView
	ctx      *common.Context
	list     []common.ContextInfo
	probe    Probe
	parent   context.Context
	reach    map[string]string // name -> "yes", "no: …" or "checking…"
	probeGen int
}

type probedMsg struct {
	gen  int
	name string
	err  error
}

func (probedMsg) ViewName() string { return Name }

// New builds the view.
func New(ctx *common.Context) *View {
	v := &View{ctx: ctx, reach: map[string]string{}, parent: context.Background()}
	v.TableView = base.New(ctx, base.Spec{
		Name: Name, Title: "Contexts", Short: "Ctx", Aliases: []string{"context", "contexts"},
		Columns: []table.Column{
			{Title: " ", Width: 1},
			{Title: "NAME", Width: 12, Ident: true},
			{Title: "REGIONS", Width: 17},
			{Title: "KUBE CONTEXT", Width: 14, Flex: true, Priority: 2},
			{Title: "MODE", Width: 10, Status: true},
			{Title: "REACHABLE", Width: 12, Flex: true, Priority: 1},
		},
		SortCol: 1,
		Empty:   "no contexts in the config",
		Rows:    func(*common.Data) []table.Row { return v.rows() },
	})
	return v
}

// Set gives the view the config's contexts and the reachability check
// (nil: the column says "not checked").
func (v *View) Set(parent context.Context, list []common.ContextInfo, probe Probe) {
	if parent != nil {
		v.parent = parent
	}
	v.list, v.probe = list, probe
	v.SetData(v.Data())
}

// Hidden: the view has no tab.
func (v *View) Hidden() bool { return true }

func (v *View) rows() []table.Row {
	out := make([]table.Row, 0, len(v.list))
	for _, c := range v.list {
		mark, mode, lvl := "", "read-write", common.LevelOK
		if c.Name == v.ctx.ContextName {
			mark = "*"
		}
		if c.ReadOnly {
			mode, lvl = "read-only", common.LevelWarn
		}
		kube := make([]string, 0, len(c.KubeContexts))
		for _, k := range c.KubeContexts {
			// regions sharing a cluster show it once
			if k != "" && (len(kube) == 0 || kube[len(kube)-1] != k) {
				kube = append(kube, k)
			}
		}
		reach := "not checked"
		if v.probe != nil {
			reach = v.reach[c.Name]
			if reach == "" {
				reach = "checking…"
			}
		}
		nan := math.NaN()
		out = append(out, table.Row{
			Key: c.Name,
			Cells: []string{mark, common.Sanitize(c.Name), common.Sanitize(strings.Join(c.Regions, ",")),
				common.Sanitize(strings.Join(kube, ",")), mode, common.Sanitize(reach)},
			Nums:  []float64{nan, nan, nan, nan, nan, nan},
			Level: lvl,
		})
	}
	return out
}

// Update checks the contexts when shown, takes the answers, and switches on
// Enter.
func (v *View) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ContextsShownMsg:
		return v, v.checkAll()
	case probedMsg:
		if msg.gen != v.probeGen {
			return v, nil // an older round's answer
		}
		v.reach[msg.name] = "yes"
		if msg.err != nil {
			v.reach[msg.name] = "no: " + firstLine(msg.err.Error())
		}
		v.SetData(v.Data())
		return v, nil
	case tea.KeyMsg:
		if key.Matches(msg, v.ctx.Keys.Enter) {
			name := v.Table.SelectedKey()
			if name == "" {
				return v, nil
			}
			return v, func() tea.Msg { return common.SwitchContextMsg{Name: name} }
		}
	}
	_, cmd := v.TableView.Update(msg)
	return v, cmd
}

// checkAll probes every context at once, each in its own command.
func (v *View) checkAll() tea.Cmd {
	if v.probe == nil {
		return nil
	}
	v.probeGen++
	v.reach = map[string]string{}
	v.SetData(v.Data())
	cmds := make([]tea.Cmd, 0, len(v.list))
	gen, probe, parent := v.probeGen, v.probe, v.parent
	for _, c := range v.list {
		name := c.Name
		cmds = append(cmds, func() tea.Msg {
			ctx, cancel := context.WithTimeout(parent, ProbeTimeout)
			defer cancel()
			return probedMsg{gen: gen, name: name, err: probe(ctx, name)}
		})
	}
	return tea.Batch(cmds...)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// switchKey is Enter as this view uses it.
var switchKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "switch"))

// ShortHelp for the footer: Enter switches here.
func (v *View) ShortHelp() []key.Binding {
	k := v.ctx.Keys
	return []key.Binding{switchKey, k.Back, k.Filter}
}

// FullHelp for the help screen: the table keys, with Enter as "switch".
func (v *View) FullHelp() [][]key.Binding {
	k := v.ctx.Keys
	return [][]key.Binding{append(k.TableHelp(), switchKey, k.Back)}
}
