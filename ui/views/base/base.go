// Package base is the skeleton most views share: a title line with count,
// sort, filter and a staleness badge, optional summary lines, one table, and
// an optional drill-in opened with Enter and left with Esc.
package base

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
)

// Drill is the screen behind Enter.
type Drill interface {
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetSize(w, h int)
	SetData(d *common.Data)
	SetFilter(q string)
	Actions() []common.ActionBinding
	Title() string
}

// Spec describes a table view.
type Spec struct {
	Name, Title, Short string
	Aliases            []string
	Sources            []string
	Columns            []table.Column
	SortCol            int
	Desc               bool
	Empty              string
	Rows               func(d *common.Data) []table.Row
	// Summary lines drawn above the table (may be nil).
	Summary func(ctx *common.Context, d *common.Data, width int) []string
	// Open builds the drill-in for the selected row (nil: no drill-in).
	Open func(ctx *common.Context, d *common.Data, key string) Drill
	// Actions on the selected row.
	Actions func(ctx *common.Context, d *common.Data, key string) []common.ActionBinding
	// EmptyMessage replaces the table when it returns non-empty text
	// (for example "no runbooks").
	EmptyMessage func(d *common.Data) string
}

// TableView implements common.View from a Spec.
type TableView struct {
	spec   Spec
	ctx    *common.Context
	data   *common.Data
	Table  *table.Model
	drill  Drill
	parent Drill // the drill-in under the log view
	filter string
	w, h   int
}

// New builds a table view.
func New(ctx *common.Context, spec Spec) *TableView {
	t := table.New(ctx, spec.Columns, spec.SortCol, spec.Desc)
	if spec.Empty != "" {
		t.Empty = spec.Empty
	}
	return &TableView{spec: spec, ctx: ctx, Table: t, data: &common.Data{}}
}

func (v *TableView) Name() string      { return v.spec.Name }
func (v *TableView) Title() string     { return v.spec.Title }
func (v *TableView) Short() string     { return v.spec.Short }
func (v *TableView) Aliases() []string { return v.spec.Aliases }
func (v *TableView) Sources() []string { return v.spec.Sources }
func (v *TableView) Init() tea.Cmd     { return nil }
func (v *TableView) InDrill() bool     { return v.drill != nil }

// Drill is the open drill-in (nil when none).
func (v *TableView) Drill() Drill { return v.drill }

// OwnsLetters: the log view binds its own letters (w wrap, f follow...).
func (v *TableView) OwnsLetters() bool {
	_, logs := v.drill.(*LogDrill)
	return logs
}
func (v *TableView) Data() *common.Data { return v.data }

// SetData rebuilds the rows (the expensive part, done once per snapshot).
func (v *TableView) SetData(d *common.Data) {
	v.data = d
	// Until its sources answer, an empty view says it is loading, not empty.
	v.Table.Empty = v.spec.Empty
	if v.Table.Empty == "" {
		v.Table.Empty = "no rows"
	}
	if names, all := common.SourcesLoading(d.Snap, v.spec.Sources); all {
		v.Table.Empty = common.LoadingText(names)
	}
	v.Table.SetRows(v.spec.Rows(d))
	if v.drill != nil {
		v.drill.SetData(d)
	}
}

// SetFilter filters the drill-in when open, the table otherwise.
func (v *TableView) SetFilter(q string) {
	v.filter = q
	if v.drill != nil {
		v.drill.SetFilter(q)
		return
	}
	v.Table.SetFilter(q)
}

// SetSize of the view body.
func (v *TableView) SetSize(w, h int) {
	v.w, v.h = w, h
	v.Table.SetSize(w, max(h-1-len(v.summary()), 0))
	if v.drill != nil {
		v.drill.SetSize(w, max(h-1, 0))
	}
}

func (v *TableView) summary() []string {
	if v.spec.Summary == nil {
		return nil
	}
	return v.spec.Summary(v.ctx, v.data, v.w)
}

// Export the table; a drill-in exports itself or nothing.
func (v *TableView) Export() (present.Table, bool) {
	if v.drill != nil {
		if e, ok := v.drill.(interface{ Export() (present.Table, bool) }); ok {
			return e.Export()
		}
		return present.Table{}, false
	}
	return v.Table.Export(), true
}

// Back closes the drill-in.
func (v *TableView) Back() bool {
	if v.drill == nil {
		return false
	}
	if c, ok := v.drill.(interface{ Close() }); ok {
		c.Close()
	}
	// the log view returns to the drill-in it was opened from
	// (with the filter it had: the log view's own filter stays with it)
	if v.parent != nil {
		v.drill, v.parent = v.parent, nil
		return true
	}
	v.drill = nil
	v.Table.SetFilter(v.filter)
	return true
}

// Actions on the selection of the table or of the drill-in.
func (v *TableView) Actions() []common.ActionBinding {
	if v.drill != nil {
		return v.drill.Actions()
	}
	if v.spec.Actions == nil {
		return nil
	}
	// called with "" too: some actions need no selection (backup a store)
	return v.spec.Actions(v.ctx, v.data, v.Table.SelectedKey())
}

// Refresh lets an open drill-in re-read what it loads (called with each
// snapshot while the view is shown).
func (v *TableView) Refresh() tea.Cmd {
	d := v.drill
	if v.parent != nil {
		d = v.parent
	}
	if r, ok := d.(interface{ Refresh() tea.Cmd }); ok {
		return r.Refresh()
	}
	return nil
}

// Update handles Enter (drill in) and table keys.
func (v *TableView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	// the drill-in under the log view still takes its answers
	if _, routed := msg.(common.RoutedMsg); routed && v.parent != nil {
		if _, logs := msg.(logMsg); !logs {
			return v, v.parent.Update(msg)
		}
	}
	if v.drill != nil {
		if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, common.LogsKey) {
			if lt, ok := v.drill.(interface {
				LogTarget() (region, pod string, ok bool)
			}); ok {
				if region, pod, ok := lt.LogTarget(); ok {
					logs := NewLogDrill(v.ctx, v.spec.Name, region, pod)
					logs.SetSize(v.w, max(v.h-1, 0))
					v.parent, v.drill = v.drill, logs
					return v, logs.Init()
				}
			}
		}
		return v, v.drill.Update(msg)
	}
	if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, v.ctx.Keys.Enter) && v.spec.Open != nil {
		if k := v.Table.SelectedKey(); k != "" {
			if d := v.spec.Open(v.ctx, v.data, k); d != nil {
				v.drill = d
				if b, ok := d.(interface{ BindView(string) }); ok {
					b.BindView(v.spec.Name)
				}
				d.SetSize(v.w, max(v.h-1, 0))
				// A drill that loads something does it in its Init command.
				if i, ok := d.(interface{ Init() tea.Cmd }); ok {
					return v, i.Init()
				}
				return v, nil
			}
		}
	}
	return v, v.Table.Update(msg)
}

// View renders exactly h lines.
func (v *TableView) View() string {
	if v.h <= 0 {
		return ""
	}
	lines := []string{}
	if v.drill != nil {
		lines = append(lines, TitleLine(v.ctx, v.data, v.spec.Title+" › "+v.drill.Title(), "", v.filter, v.spec.Sources, v.w))
		lines = append(lines, v.drill.View())
		return strings.Join(lines, "\n")
	}
	info := fmt.Sprintf("%d", v.Table.Total())
	if v.Table.Filter() != "" {
		info = fmt.Sprintf("%d/%d", v.Table.Len(), v.Table.Total())
	}
	if s := v.Table.SortInfo(); s != "" {
		info += " · " + s
	}
	lines = append(lines, TitleLine(v.ctx, v.data, v.spec.Title, info, v.filter, v.spec.Sources, v.w))
	sum := v.summary()
	for _, s := range sum {
		lines = append(lines, common.Fit(s, v.w))
	}
	if v.spec.EmptyMessage != nil {
		if msg := v.spec.EmptyMessage(v.data); msg != "" {
			lines = append(lines, v.ctx.Styles.Muted.Render(common.Fit("  "+msg, v.w)))
			return Pad(lines, v.h)
		}
	}
	v.Table.SetSize(v.w, max(v.h-1-len(sum), 0))
	lines = append(lines, v.Table.View())
	return strings.Join(lines, "\n")
}

// ShortHelp for the footer.
func (v *TableView) ShortHelp() []key.Binding {
	k := v.ctx.Keys
	out := []key.Binding{}
	if v.spec.Open != nil && v.drill == nil {
		out = append(out, k.Enter)
	}
	if v.drill != nil {
		out = append(out, k.Back)
		if lt, ok := v.drill.(interface {
			LogTarget() (region, pod string, ok bool)
		}); ok {
			if _, _, ok := lt.LogTarget(); ok {
				out = append(out, common.LogsKey)
			}
		}
	}
	return append(out, k.Filter, k.SortNext)
}

// FullHelp for the help screen.
func (v *TableView) FullHelp() [][]key.Binding {
	k := v.ctx.Keys
	nav := k.TableHelp()
	if v.spec.Open != nil {
		nav = append(nav, k.Enter, k.Back)
	}
	return [][]key.Binding{nav}
}

// TitleLine is the panel title: name, info, filter and the staleness badge
// of the view's sources, right-aligned.
func TitleLine(ctx *common.Context, d *common.Data, title, info, filter string, sources []string, w int) string {
	st := ctx.Styles
	left := st.Title.Render(title)
	if info != "" {
		left += st.Muted.Render(" [" + info + "]")
	}
	if filter != "" {
		left += st.Accent.Render(" /" + common.Sanitize(filter))
	}
	badge := ""
	if d != nil {
		lvl, msg := common.SourceStatus(d.Snap, sources, ctx.Now)
		if lvl >= common.LevelWarn {
			badge = st.LevelStyle(lvl).Render("⚠ " + common.Sanitize(msg))
		} else if names, _ := common.SourcesLoading(d.Snap, sources); len(names) > 0 {
			badge = st.Muted.Render(common.Sanitize(common.LoadingText(names)))
		}
	}
	return JoinEnds(left, badge, w)
}

// JoinEnds puts left and right on one line of exactly w cells; the right part
// wins space over the left when both do not fit.
func JoinEnds(left, right string, w int) string {
	lw, rw := common.Width(left), common.Width(right)
	if rw > w {
		right = common.Clip(right, w)
		rw = common.Width(right)
	}
	if lw+1+rw > w {
		left = common.Clip(left, max(w-rw-1, 0))
		lw = common.Width(left)
	}
	if rw == 0 {
		return common.Fit(left, w)
	}
	return left + strings.Repeat(" ", max(w-lw-rw, 0)) + right
}

// Pad joins lines and adds blank lines up to h.
func Pad(lines []string, h int) string {
	for len(lines) < h {
		lines = append(lines, "")
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}
