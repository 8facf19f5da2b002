// Package replication shows PostgreSQL, ClickHouse and Redis replication
// side by side, every lag normalised to seconds, with one bar per replica on
// a common scale.
package replication

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/views/base"
)

var sources = []string{"postgres", "clickhouse", "redis"}

type replica struct {
	store, name, state string
	lag                float64
	detail             string
	level              common.Level
}

// View of replication.
type View struct {
	ctx    *common.Context
	data   *common.Data
	rows   []replica
	filter string
	w, h   int
}

// New builds the view.
func New(ctx *common.Context) *View { return &View{ctx: ctx, data: &common.Data{}} }

func (v *View) Name() string                        { return "replication" }
func (v *View) Title() string                       { return "Replication" }
func (v *View) Short() string                       { return "Repl" }
func (v *View) Aliases() []string                   { return []string{"repl", "rep", "lag"} }
func (v *View) Sources() []string                   { return sources }
func (v *View) Init() tea.Cmd                       { return nil }
func (v *View) SetSize(w, h int)                    { v.w, v.h = w, h }
func (v *View) SetFilter(q string)                  { v.filter = strings.ToLower(q) }
func (v *View) Back() bool                          { return false }
func (v *View) Actions() []common.ActionBinding     { return nil }
func (v *View) Update(tea.Msg) (tea.Model, tea.Cmd) { return v, nil }
func (v *View) ShortHelp() []key.Binding            { return []key.Binding{v.ctx.Keys.Filter} }
func (v *View) FullHelp() [][]key.Binding           { return [][]key.Binding{{v.ctx.Keys.Filter}} }

// SetData flattens every store's replicas into one list in seconds.
func (v *View) SetData(d *common.Data) {
	v.data = d
	v.rows = v.rows[:0]
	r := d.Snap.Replication
	for _, s := range r.Postgres {
		state := s.State
		if s.ReplayPaused {
			state += ",paused"
		}
		v.rows = append(v.rows, replica{"PostgreSQL", s.Name, state, s.ReplayLagSeconds,
			fmt.Sprintf("replay %s behind", present.Bytes(s.ReplayLagBytes)), v.ctx.Health.PG(s)})
	}
	for _, c := range r.ClickHouse {
		state := "follower"
		switch {
		case c.IsReadonly:
			state = "readonly"
		case c.SessionExpired:
			state = "expired"
		case c.IsLeader:
			state = "leader"
		}
		v.rows = append(v.rows, replica{"ClickHouse", c.Replica, state, c.AbsoluteDelay,
			fmt.Sprintf("%s.%s queue %s", c.Database, c.Table, present.Count(c.QueueSize)), v.ctx.Health.CH(c)})
	}
	for _, x := range r.Redis {
		v.rows = append(v.rows, replica{"Redis", x.Name, "link " + x.LinkStatus, x.LagSeconds,
			fmt.Sprintf("offset %s behind", present.Bytes(x.OffsetLag)), v.ctx.Health.Redis(x)})
	}
}

func (v *View) visible(store string) []replica {
	out := []replica{}
	for _, r := range v.rows {
		if r.store != store {
			continue
		}
		if v.filter != "" && !strings.Contains(strings.ToLower(r.store+" "+r.name+" "+r.state), v.filter) {
			continue
		}
		out = append(out, r)
	}
	return out
}

var stores = []struct{ title, source string }{{"PostgreSQL", "postgres"}, {"ClickHouse", "clickhouse"}, {"Redis", "redis"}}

// View renders exactly h lines: three panels side by side, then the bars.
func (v *View) View() string {
	if v.h <= 0 {
		return ""
	}
	st := v.ctx.Styles
	lines := []string{base.TitleLine(v.ctx, v.data, "Replication", "lag in seconds", v.filter, sources, v.w)}
	pw := (v.w - 2) / 3
	panels := make([][]string, 3)
	height := 0
	for i, s := range stores {
		p := []string{v.panelTitle(s.title, s.source, pw)}
		rows := v.visible(s.title)
		if len(rows) == 0 {
			p = append(p, st.Muted.Render(common.Fit(" none", pw)))
		}
		// the name has the room first: the state is a word, the name an identity
		lagW, longest := 7, 0
		for _, r := range rows {
			longest = max(longest, common.Width(common.Sanitize(r.name)))
		}
		nameW := max(min(longest, pw-lagW-3-6), 4)
		stateW := max(pw-lagW-nameW-3, 4)
		for _, r := range rows {
			line := " " + common.FitMiddle(common.Sanitize(r.name), nameW) + " " + common.Fit(r.state, stateW) + " " +
				st.LevelStyle(r.level).Render(common.FitRight(present.Seconds(r.lag), lagW))
			p = append(p, common.Fit(line, pw))
			if v.w >= 120 {
				p = append(p, st.Muted.Render(common.Fit("   "+r.detail, pw)))
			}
		}
		panels[i] = p
		height = max(height, len(p))
	}
	for row := 0; row < height; row++ {
		var b strings.Builder
		for i := range panels {
			cell := strings.Repeat(" ", pw)
			if row < len(panels[i]) {
				cell = common.Fit(panels[i][row], pw)
			}
			b.WriteString(cell)
			if i < 2 {
				b.WriteString(st.Muted.Render("│"))
			}
		}
		lines = append(lines, b.String())
	}
	// one scale for every store: which replica is furthest behind, in seconds
	lines = append(lines, "", st.Title.Render("Lag, common scale"))
	maxLag := 1.0
	for _, r := range v.rows {
		maxLag = math.Max(maxLag, r.lag)
	}
	labelW := 0
	for _, s := range stores {
		for _, r := range v.visible(s.title) {
			labelW = max(labelW, common.Width(s.source+"/"+common.Sanitize(r.name)))
		}
	}
	labelW = min(labelW, max(v.w/3, 22))
	for _, s := range stores {
		for _, r := range v.visible(s.title) {
			label := common.FitMiddle(s.source+"/"+common.Sanitize(r.name), labelW)
			barW := max(v.w-labelW-10, 4)
			lines = append(lines, " "+label+" "+st.LevelStyle(r.level).Render(common.Bar(r.lag/maxLag, barW))+" "+common.FitRight(present.Seconds(r.lag), 6))
		}
	}
	return base.Pad(lines, v.h)
}

func (v *View) panelTitle(title, source string, w int) string {
	st := v.ctx.Styles
	lvl, msg := common.SourceStatus(v.data.Snap, []string{source}, v.ctx.Now)
	badge := ""
	if lvl >= common.LevelWarn {
		badge = st.LevelStyle(lvl).Render("⚠ " + common.Sanitize(msg))
	}
	return base.JoinEnds(" "+st.Accent.Bold(true).Render(title), badge, w)
}
