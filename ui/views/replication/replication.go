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

// replica is one replica of a store, once: the primary's view of it and
// its own report merged, either figure NaN when nobody reported it.
type replica struct {
	store, name, state string
	seen, own          float64 // lag in seconds: the primary sees, the replica reports
	detail             string
	level              common.Level
	from               string // region of an own report
}

func (r replica) worst() float64 {
	switch {
	case math.IsNaN(r.seen):
		return r.own
	case math.IsNaN(r.own):
		return r.seen
	}
	return math.Max(r.seen, r.own)
}

// pair joins each replica's own report (from is its region) to the
// primary's view of it: the same name, or the primary names it by the
// report's region; a store's one leftover on each side (named by address
// on one, by config on the other) is the same replica too.
func pair(seen, own []replica) []replica {
	used := make([]bool, len(seen))
	var alone []replica
	join := func(i int, o replica) {
		used[i] = true
		seen[i].own = o.own
		seen[i].level = common.Worst(seen[i].level, o.level)
	}
	for _, o := range own {
		match := -1
		for i, s := range seen {
			if !used[i] && (s.name == o.name || s.name == o.from) {
				match = i
				break
			}
		}
		if match < 0 {
			alone = append(alone, o)
			continue
		}
		join(match, o)
	}
	left := -1
	for i := range seen {
		if !used[i] {
			if left >= 0 {
				left = -2
				break
			}
			left = i
		}
	}
	if left >= 0 && len(alone) == 1 {
		join(left, alone[0])
		alone = nil
	}
	return append(seen, alone...)
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
	nan := math.NaN()
	var seen, own []replica
	for _, p := range r.Postgres {
		state := p.State
		if p.ReplayPaused {
			state += ",paused"
		}
		x := replica{"PostgreSQL", p.Name, state, p.ReplayLagSeconds, nan,
			fmt.Sprintf("replay %s behind", present.Bytes(p.ReplayLagBytes)), v.ctx.Health.PG(p), ""}
		if p.Self {
			x.seen, x.own, x.from = nan, p.ReplayLagSeconds, p.Meta.Region
			x.detail = "last replay " + present.Age(d.Snap.TakenAt.Sub(p.LastReplay)) + " ago"
			own = append(own, x)
			continue
		}
		seen = append(seen, x)
	}
	v.rows = append(v.rows, pair(seen, own)...)
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
		// every ClickHouse replica reports its own delay; no primary sees it
		v.rows = append(v.rows, replica{"ClickHouse", c.Replica, state, nan, c.AbsoluteDelay,
			fmt.Sprintf("%s.%s queue %s", c.Database, c.Table, present.Count(c.QueueSize)), v.ctx.Health.CH(c), ""})
	}
	seen, own = nil, nil
	for _, x := range r.Redis {
		rr := replica{"Redis", x.Name, "link " + x.LinkStatus, x.LagSeconds, nan,
			fmt.Sprintf("offset %s behind", present.Bytes(x.OffsetLag)), v.ctx.Health.Redis(x), ""}
		if x.Self {
			rr.seen, rr.own, rr.from = nan, x.LagSeconds, x.Meta.Region
			rr.detail = "since last I/O with primary"
			own = append(own, rr)
			continue
		}
		seen = append(seen, rr)
	}
	v.rows = append(v.rows, pair(seen, own)...)
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

// Export the replicas shown, lag in seconds ("" when not reported).
func (v *View) Export() (present.Table, bool) {
	t := present.Table{Headers: []string{"STORE", "REPLICA", "STATE", "PRIMARY SEES", "REPLICA REPORTS", "DETAIL"}}
	sec := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return present.Seconds(x)
	}
	for _, s := range stores {
		for _, r := range v.visible(s.title) {
			t.Rows = append(t.Rows, []string{s.source, r.name, r.state, sec(r.seen), sec(r.own), r.detail})
		}
	}
	return t, true
}

// lagCell is a lag figure, "-" when nobody reported it.
func lagCell(x float64, w int) string {
	if math.IsNaN(x) {
		return common.FitRight("-", w)
	}
	return common.FitRight(present.Seconds(x), w)
}

// View renders exactly h lines: one section per store, each replica once
// with the primary's figure and its own, then the bars on a common scale.
func (v *View) View() string {
	if v.h <= 0 {
		return ""
	}
	st := v.ctx.Styles
	lines := []string{base.TitleLine(v.ctx, v.data, "Replication", "lag in seconds", v.filter, sources, v.w)}
	// the name has the room first: the state is a word, the name an identity
	longest := 7
	for _, r := range v.rows {
		longest = max(longest, common.Width(common.Sanitize(r.name)))
	}
	const stateW, seenW, ownW = 10, 12, 15
	nameW := max(min(longest, v.w-stateW-seenW-ownW-6-10), 8)
	detailW := max(v.w-nameW-stateW-seenW-ownW-6, 0)
	lines = append(lines, st.Muted.Render(common.Fit("  "+common.Fit("REPLICA", nameW)+" "+common.Fit("STATE", stateW)+" "+
		common.FitRight("PRIMARY SEES", seenW)+" "+common.FitRight("REPLICA REPORTS", ownW)+" "+common.Fit("DETAIL", detailW), v.w)))
	for _, s := range stores {
		lines = append(lines, v.panelTitle(s.title, s.source, v.w))
		rows := v.visible(s.title)
		if len(rows) == 0 {
			lines = append(lines, st.Muted.Render(common.Fit("  none", v.w)))
		}
		for _, r := range rows {
			lvl := st.LevelStyle(r.level)
			lines = append(lines, common.Fit("  "+common.FitMiddle(common.Sanitize(r.name), nameW)+" "+common.Fit(r.state, stateW)+" "+
				lvl.Render(lagCell(r.seen, seenW))+" "+lvl.Render(lagCell(r.own, ownW))+" "+st.Muted.Render(common.Fit(r.detail, detailW)), v.w))
		}
	}
	// one scale for every store: which replica is furthest behind, in seconds
	lines = append(lines, "", st.Title.Render("Lag, common scale (the larger of the two figures)"))
	maxLag := 1.0
	for _, r := range v.rows {
		maxLag = math.Max(maxLag, r.worst())
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
			lines = append(lines, " "+label+" "+st.LevelStyle(r.level).Render(common.Bar(r.worst()/maxLag, barW))+" "+common.FitRight(present.Seconds(r.worst()), 6))
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
