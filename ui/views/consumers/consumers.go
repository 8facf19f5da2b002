// Package consumers shows consumer groups (members, lag, status, lag state
// with the catch-up ETA) and topics; Enter on a group opens its per-partition lag table with a
// lag-over-time chart. Adding partitions to a topic is bound here.
package consumers

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// PartitionsKey alters the partition count of a topic.
var PartitionsKey = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "add partitions"))

// ResetKey resets the selected group's offsets.
var ResetKey = key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "reset offsets"))

var sources = []string{"kafka"}

// View of consumer groups and topics.
type View struct {
	ctx    *common.Context
	data   *common.Data
	groups *table.Model
	topics *table.Model
	focus  int // 0 groups, 1 topics
	drill  *groupDrill
	filter string
	w, h   int
}

// New builds the view.
func New(ctx *common.Context) *View {
	v := &View{ctx: ctx, data: &common.Data{}}
	v.groups = table.New(ctx, []table.Column{
		{Title: "GROUP", Width: 14, Flex: true, Ident: true},
		{Title: "STATE", Width: 8, Priority: 3},
		{Title: "MEMB", Width: 4, Right: true, Numeric: true},
		{Title: "LAG", Width: 7, Right: true, Numeric: true},
		{Title: "LAG(s)", Width: 6, Right: true, Numeric: true},
		{Title: "LAG STATE", Width: 14, Priority: 1},
		{Title: "STATUS", Width: 7, Status: true},
		{Title: "LAG~", Width: 10, Priority: 2, Muted: true},
	}, 6, true)
	v.groups.Empty = "no consumer groups"
	v.topics = table.New(ctx, []table.Column{
		{Title: "TOPIC", Width: 14, Flex: true, Ident: true},
		{Title: "PARTS", Width: 5, Right: true, Numeric: true},
		{Title: "RF", Width: 3, Right: true, Numeric: true},
		{Title: "RATE/s", Width: 8, Right: true, Numeric: true},
	}, 0, false)
	v.topics.Empty = "no topics"
	v.topics.SetFocused(false)
	return v
}

func (v *View) Name() string         { return "consumers" }
func (v *View) Title() string        { return "Consumers" }
func (v *View) Short() string        { return "Cons" }
func (v *View) Aliases() []string    { return []string{"cons", "groups", "kafka", "topics", "lag"} }
func (v *View) Sources() []string    { return sources }
func (v *View) Init() tea.Cmd        { return nil }
func (v *View) InDrill() bool        { return v.drill != nil }
func (v *View) Groups() *table.Model { return v.groups }
func (v *View) Topics() *table.Model { return v.topics }

// SetData rebuilds both tables.
func (v *View) SetData(d *common.Data) {
	v.data = d
	v.groups.Empty, v.topics.Empty = "no consumer groups", "no topics"
	if names, all := common.SourcesLoading(d.Snap, sources); all {
		v.groups.Empty, v.topics.Empty = common.LoadingText(names), common.LoadingText(names)
	}
	rows := make([]table.Row, 0, len(d.Snap.Kafka.Groups))
	for _, g := range d.Snap.Kafka.Groups {
		name := g.Name
		hist := d.History
		rows = append(rows, table.Row{
			Key:   name,
			Cells: []string{common.Sanitize(name), g.State, fmt.Sprint(len(g.Members)), present.Count(float64(g.TotalLag)), present.Seconds(g.LagSeconds), present.LagState(g), string(g.Status), ""},
			Nums:  []float64{math.NaN(), math.NaN(), float64(len(g.Members)), float64(g.TotalLag), g.LagSeconds, math.NaN(), float64(g.Status.Severity()), math.NaN()},
			Level: health.Status(g.Status),
			Cell: func(col, w int) string {
				if col == 7 {
					return common.Sparkline(hist[common.SeriesGroupLag(name)], w)
				}
				return ""
			},
		})
	}
	v.groups.SetRows(rows)
	trows := make([]table.Row, 0, len(d.Snap.Kafka.Topics))
	for _, t := range d.Snap.Kafka.Topics {
		trows = append(trows, table.Row{
			Key:   t.Name,
			Cells: []string{common.Sanitize(t.Name), fmt.Sprint(t.Partitions), fmt.Sprint(t.Replicas), present.Rate(t.ProduceRate)},
			Nums:  []float64{math.NaN(), float64(t.Partitions), float64(t.Replicas), t.ProduceRate},
		})
	}
	v.topics.SetRows(trows)
	if v.drill != nil {
		v.drill.SetData(d)
	}
}

// SetFilter applies to the focused table or the drill-in.
func (v *View) SetFilter(q string) {
	v.filter = q
	if v.drill != nil {
		v.drill.SetFilter(q)
		return
	}
	v.focused().SetFilter(q)
}

func (v *View) focused() *table.Model {
	if v.focus == 1 {
		return v.topics
	}
	return v.groups
}

// SetSize splits the body: groups on top, topics below.
func (v *View) SetSize(w, h int) {
	v.w, v.h = w, h
	v.layout()
}

func (v *View) layout() {
	body := max(v.h-1, 0)
	th := min(len(v.data.Snap.Kafka.Topics)+1, 6)
	th = max(th, 2)
	gh := body - th - 1
	if gh < 3 {
		gh, th = body, 0
	}
	v.groups.SetSize(v.w, gh)
	v.topics.SetSize(v.w, th)
	if v.drill != nil {
		v.drill.SetSize(v.w, body)
	}
}

// Export the focused table, or the drill-in's partitions.
func (v *View) Export() (present.Table, bool) {
	if v.drill != nil {
		return v.drill.parts.Export(), true
	}
	return v.focused().Export(), true
}

// Back closes the drill-in.
func (v *View) Back() bool {
	if v.drill == nil {
		return false
	}
	v.drill = nil
	v.focused().SetFilter(v.filter)
	return true
}

// Actions: partitions on the focused topic, or the topic of the selected group.
func (v *View) Actions() []common.ActionBinding {
	if v.drill != nil {
		return v.drill.Actions()
	}
	topic := ""
	if v.focus == 1 {
		topic = v.topics.SelectedKey()
	} else if g, ok := findGroup(v.data, v.groups.SelectedKey()); ok && len(g.Partitions) > 0 {
		topic = g.Partitions[0].Topic
	}
	if topic == "" {
		return nil
	}
	acts := []common.ActionBinding{PartitionsAction(v.data, topic)}
	if g, ok := findGroup(v.data, v.groups.SelectedKey()); ok && v.focus == 0 {
		acts = append(acts, ResetAction(g, topic))
	}
	return acts
}

// PartitionsAction raises the partition count of topic.
func PartitionsAction(d *common.Data, topic string) common.ActionBinding {
	def := ""
	for _, t := range d.Snap.Kafka.Topics {
		if t.Name == topic {
			def = strconv.Itoa(int(t.Partitions))
		}
	}
	return common.ActionBinding{Key: PartitionsKey, Kind: action.KindPartitions, Target: topic,
		Params: []common.Param{{Name: "count", Prompt: "partition count for " + topic + " (now " + def + ")", Default: def}}}
}

func findGroup(d *common.Data, name string) (state.Group, bool) {
	for _, g := range d.Snap.Kafka.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return state.Group{}, false
}

// Refresh re-reads the open drill-in's events (called with each snapshot).
func (v *View) Refresh() tea.Cmd {
	if v.drill == nil {
		return nil
	}
	return v.drill.Refresh()
}

// Update: Tab switches tables, Enter opens a group.
func (v *View) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(groupEventsMsg); ok && v.drill == nil {
		return v, nil
	}
	if v.drill != nil {
		return v, v.drill.Update(msg)
	}
	if km, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(km, v.ctx.Keys.Tab):
			v.focused().SetFilter("")
			v.focus = 1 - v.focus
			v.groups.SetFocused(v.focus == 0)
			v.topics.SetFocused(v.focus == 1)
			v.focused().SetFilter(v.filter)
			return v, nil
		case key.Matches(km, v.ctx.Keys.Enter) && v.focus == 0:
			if k := v.groups.SelectedKey(); k != "" {
				v.drill = newGroupDrill(v.ctx, v.data, k)
				v.drill.SetSize(v.w, max(v.h-1, 0))
				return v, v.drill.Init()
			}
			return v, nil
		}
	}
	return v, v.focused().Update(msg)
}

// View renders exactly h lines.
func (v *View) View() string {
	if v.h <= 0 {
		return ""
	}
	if v.drill != nil {
		return base.TitleLine(v.ctx, v.data, "Consumers › "+common.Sanitize(v.drill.group), v.drill.info(), v.filter, sources, v.w) + "\n" + v.drill.View()
	}
	v.layout()
	info := fmt.Sprintf("%d groups · %d topics", v.groups.Total(), v.topics.Total())
	lines := []string{base.TitleLine(v.ctx, v.data, "Consumers", info, v.filter, sources, v.w), v.groups.View()}
	if v.topics.Total() > 0 || v.h > 8 {
		lines = append(lines, v.ctx.Styles.Title.Render(common.Fit("Topics", v.w)), v.topics.View())
	}
	return base.Pad(strings.Split(strings.Join(lines, "\n"), "\n"), v.h)
}

// ShortHelp for the footer.
func (v *View) ShortHelp() []key.Binding {
	k := v.ctx.Keys
	if v.drill != nil {
		return []key.Binding{k.Back, k.Filter, k.SortNext}
	}
	return []key.Binding{k.Enter, k.Tab, k.Filter, k.SortNext}
}

// FullHelp for the help screen.
func (v *View) FullHelp() [][]key.Binding {
	k := v.ctx.Keys
	return [][]key.Binding{append(k.TableHelp(), k.Enter, k.Back, k.Tab)}
}

// groupDrill is one group: summary, lag chart, members, per-partition lag.
type groupDrill struct {
	ctx     *common.Context
	data    *common.Data
	group   string
	members *table.Model
	parts   *table.Model
	w, h    int

	// events of the Deployment that runs the group's members (its pods'
	// warnings included), re-read with the snapshots
	deployment string
	region     string
	events     []inspect.Event
	eventsErr  string
	eventsRead bool
	asked      time.Time
	busy       bool
}

// groupEventsMsg is the answer to one read of the group's Deployment.
type groupEventsMsg struct {
	group, deployment string
	events            []inspect.Event
	err               error
}

func (groupEventsMsg) ViewName() string { return "consumers" }

// runner is the Deployment whose pods are the group's members: the
// instance whose pod name ends a member's client id (the consumer sets
// "wotr-consumer-" + pod), else the longest Deployment name followed by
// "-" in one.
func runner(d *common.Data, grp state.Group) (region, name string) {
	for _, m := range grp.Members {
		for _, in := range d.Snap.Instances {
			if in.Deployment != "" && strings.HasSuffix(m.ClientID, in.Pod) {
				return in.Region, in.Deployment
			}
		}
	}
	for _, dep := range d.Snap.Deployments {
		for _, m := range grp.Members {
			if strings.Contains(m.ClientID, dep.Name+"-") && len(dep.Name) > len(name) {
				region, name = dep.Region, dep.Name
			}
		}
	}
	return region, name
}

// Init reads the events of the group's Deployment.
func (g *groupDrill) Init() tea.Cmd {
	in := g.ctx.Inspect
	if in == nil || g.deployment == "" {
		return nil
	}
	g.asked, g.busy = g.ctx.Now, true
	group, region, dep := g.group, g.region, g.deployment
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := in.Deployment(ctx, region, dep)
		return groupEventsMsg{group: group, deployment: dep, events: d.Events, err: err}
	}
}

// Refresh re-reads them at most every base.RefreshEvery.
func (g *groupDrill) Refresh() tea.Cmd {
	if g.busy || g.ctx.Now.Sub(g.asked) < base.RefreshEvery {
		return nil
	}
	return g.Init()
}

// eventsHeight: a title and up to 3 events (6 on a tall screen), fewer
// when the partitions would be left under 4 rows; none without a cluster.
func (g *groupDrill) eventsHeight() int {
	if g.ctx.Inspect == nil {
		return 0
	}
	limit := 3
	if g.h >= 30 {
		limit = 6
	}
	n := 1 + min(max(len(g.events), 1), limit)
	used := 1 + g.chartHeight() + len(g.marks()) + g.membersHeight()
	return max(min(n, g.h-used-5), 0)
}

func (g *groupDrill) eventLines() []string {
	n := g.eventsHeight()
	if n == 0 {
		return nil
	}
	st := g.ctx.Styles
	title := st.Title.Render("events")
	if g.deployment == "" {
		return []string{title + st.Muted.Render(" · no Deployment of the snapshot runs this group's members")}
	}
	title += st.Muted.Render(" · Deployment " + common.Sanitize(g.deployment))
	lines := base.EventLinesOf(g.ctx, g.events, g.eventsErr, g.eventsRead, "Deployment/"+g.deployment)
	if len(lines) > n-1 {
		lines = lines[:n-1]
	}
	return append([]string{title}, lines...)
}

func newGroupDrill(ctx *common.Context, d *common.Data, group string) *groupDrill {
	g := &groupDrill{ctx: ctx, group: group}
	g.parts = table.New(ctx, []table.Column{
		{Title: "TOPIC", Width: 12, Flex: true, Ident: true},
		{Title: "PART", Width: 4, Right: true, Numeric: true},
		{Title: "COMMITTED", Width: 10, Right: true, Numeric: true, Priority: 2},
		{Title: "END", Width: 10, Right: true, Numeric: true, Priority: 2},
		{Title: "LAG", Width: 7, Right: true, Numeric: true},
		{Title: "LAG(s)", Width: 6, Right: true, Numeric: true},
		{Title: "MEMBER", Width: 12, Flex: true, Priority: 1, Ident: true},
		{Title: "STATUS", Width: 7, Status: true},
	}, 4, true)
	g.parts.Empty = "no partitions"
	g.members = table.New(ctx, []table.Column{
		{Title: "MEMBER", Width: 10, Flex: true, Ident: true},
		{Title: "CLIENT", Width: 15, Priority: 2},
		{Title: "HOST", Width: 12, Priority: 1},
		{Title: "PARTS", Width: 5, Right: true, Numeric: true},
		{Title: "LAG", Width: 7, Right: true, Numeric: true},
		{Title: "ASSIGNED", Width: 16, Flex: true, Muted: true, Priority: 3},
	}, 4, true)
	g.members.Empty = "no members"
	g.members.SetFocused(false)
	g.SetData(d)
	return g
}

func (g *groupDrill) Title() string { return g.group }

func (g *groupDrill) SetData(d *common.Data) {
	g.data = d
	grp, _ := findGroup(d, g.group)
	if g.deployment == "" {
		g.region, g.deployment = runner(d, grp)
	}
	prefix := sharedPrefix(grp.Members)
	rows := make([]table.Row, 0, len(grp.Partitions))
	for _, p := range grp.Partitions {
		committed := present.Count(float64(p.Committed))
		if p.Committed < 0 {
			committed = "-"
		}
		rows = append(rows, table.Row{
			Key:   p.Topic + "/" + strconv.Itoa(int(p.Partition)),
			Cells: []string{p.Topic, strconv.Itoa(int(p.Partition)), committed, present.Count(float64(p.End)), present.Count(float64(p.Lag)), present.Seconds(p.LagSeconds), common.Sanitize(strings.TrimPrefix(p.Member, prefix)), string(p.Status)},
			Nums:  []float64{math.NaN(), float64(p.Partition), float64(p.Committed), float64(p.End), float64(p.Lag), p.LagSeconds, math.NaN(), float64(p.Status.Severity())},
			Level: health.Status(p.Status),
		})
	}
	g.parts.SetRows(rows)
	g.members.SetRows(memberRows(grp))
	g.SetSize(g.w, g.h) // the members table grows with the group
}

// memberRows: one row per member with the partitions assigned to it and
// their lag. A partition is the member's when its assignment lists it or the
// partition names the member as owner.
func memberRows(grp state.Group) []table.Row {
	// One topic needs no name: the partitions table below names it.
	topics := map[string]bool{}
	for _, p := range grp.Partitions {
		topics[p.Topic] = true
	}
	prefix := sharedPrefix(grp.Members)
	rows := make([]table.Row, 0, len(grp.Members))
	for _, m := range grp.Members {
		owned := map[string]bool{}
		for _, a := range m.Assigned {
			owned[a] = true
		}
		var lag int64
		var list []string
		for _, p := range grp.Partitions {
			tp := p.Topic + "/" + strconv.Itoa(int(p.Partition))
			if owned[tp] || (m.ID != "" && p.Member == m.ID) {
				owned[tp] = true
				lag += p.Lag
			}
		}
		for tp := range owned {
			list = append(list, tp)
		}
		rows = append(rows, table.Row{
			Key:   m.ID,
			Cells: []string{common.Sanitize(strings.TrimPrefix(m.ID, prefix)), common.Sanitize(m.ClientID), common.Sanitize(m.Host), strconv.Itoa(len(owned)), present.Count(float64(lag)), common.Sanitize(compactAssigned(list, len(topics) == 1))},
			Nums:  []float64{math.NaN(), math.NaN(), math.NaN(), float64(len(owned)), float64(lag), math.NaN()},
		})
	}
	return rows
}

// sharedPrefix is what every member id of the group starts with, up to a
// dash: under the group's title it says nothing, and it pushes the part
// that tells members apart off the screen. "" for fewer than two members
// or a prefix too short to be in the way.
func sharedPrefix(ms []state.GroupMember) string {
	if len(ms) < 2 {
		return ""
	}
	p := ms[0].ID
	for _, m := range ms[1:] {
		n := 0
		for n < len(p) && n < len(m.ID) && p[n] == m.ID[n] {
			n++
		}
		p = p[:n]
	}
	p = p[:strings.LastIndexByte(p, '-')+1]
	if len(p) < 8 {
		return ""
	}
	return p
}

// compactAssigned writes "topic/partition" names as "topic:0,3,6" per topic,
// topics and partitions in order; bare "0,3,6" when oneTopic.
func compactAssigned(tps []string, oneTopic bool) string {
	byTopic := map[string][]int{}
	for _, tp := range tps {
		i := strings.LastIndexByte(tp, '/')
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(tp[i+1:])
		if err != nil {
			continue
		}
		byTopic[tp[:i]] = append(byTopic[tp[:i]], n)
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	out := make([]string, 0, len(topics))
	for _, t := range topics {
		ps := byTopic[t]
		sort.Ints(ps)
		nums := make([]string, len(ps))
		for i, p := range ps {
			nums[i] = strconv.Itoa(p)
		}
		if oneTopic && len(topics) == 1 {
			return strings.Join(nums, ",")
		}
		out = append(out, t+":"+strings.Join(nums, ","))
	}
	return strings.Join(out, " ")
}

func (g *groupDrill) SetFilter(q string) {
	g.parts.SetFilter(q)
	g.members.SetFilter(q)
}

func (g *groupDrill) info() string {
	grp, ok := findGroup(g.data, g.group)
	if !ok {
		return "gone"
	}
	return fmt.Sprintf("%s · %d members · %d partitions", grp.State, len(grp.Members), len(grp.Partitions))
}

// chartLabel is the width of the chart's value labels.
const chartLabel = 8

// marks: the audit records inside the chart's time span on an axis under
// it, and the newest of them spelt out; none without a chart or a span.
func (g *groupDrill) marks() []string {
	if g.chartHeight() == 0 || g.data == nil {
		return nil
	}
	span, ok := g.data.HistorySpans[common.SeriesGroupLag(g.group)]
	if !ok {
		return nil
	}
	axis, marked := common.AuditMarks(g.data.Audit, span, max(g.w-chartLabel-1, 1))
	if axis == "" {
		return nil
	}
	st := g.ctx.Styles
	legend := common.MarkLegend(marked[0], nil)
	if len(marked) > 1 {
		legend += fmt.Sprintf(" (+%d more in the audit view)", len(marked)-1)
	}
	return []string{st.Muted.Render(common.FitRight("actions", chartLabel)) + " " + st.Warn.Render(axis),
		common.Fit(strings.Repeat(" ", chartLabel+1)+legend, g.w)}
}

func (g *groupDrill) chartHeight() int {
	switch {
	case g.h >= 30:
		return 8
	case g.h >= 16:
		return 4
	}
	return 0
}

// membersHeight: header plus up to 3 members (7 on a tall screen), none
// when the partitions would be left fewer than 4 rows.
func (g *groupDrill) membersHeight() int {
	limit := 4
	if g.h >= 30 {
		limit = 8
	}
	mh := min(max(g.members.Total(), 1)+1, limit)
	if g.h-1-g.chartHeight()-mh < 5 {
		return 0
	}
	return mh
}

func (g *groupDrill) SetSize(w, h int) {
	g.w, g.h = w, h
	used := 1 + g.chartHeight() + len(g.marks()) + g.membersHeight() + g.eventsHeight() // summary line, chart, marks, members, events
	g.members.SetSize(w, g.membersHeight())
	g.parts.SetSize(w, max(h-used, 0))
}

func (g *groupDrill) Update(msg tea.Msg) tea.Cmd {
	if em, ok := msg.(groupEventsMsg); ok {
		if em.group != g.group || em.deployment != g.deployment {
			return nil
		}
		g.busy, g.eventsRead, g.eventsErr = false, true, ""
		if em.err != nil {
			g.eventsErr = em.err.Error()
		} else {
			g.events = em.events
		}
		g.SetSize(g.w, g.h)
		return nil
	}
	return g.parts.Update(msg)
}

func (g *groupDrill) Actions() []common.ActionBinding {
	k := g.parts.SelectedKey()
	if i := strings.LastIndexByte(k, '/'); i > 0 {
		acts := []common.ActionBinding{PartitionsAction(g.data, k[:i])}
		if grp, ok := findGroup(g.data, g.group); ok {
			acts = append(acts, ResetAction(grp, k[:i]))
		}
		return acts
	}
	return nil
}

func (g *groupDrill) View() string {
	st := g.ctx.Styles
	grp, ok := findGroup(g.data, g.group)
	lines := []string{}
	if !ok {
		lines = append(lines, st.Warn.Render("group "+common.Sanitize(g.group)+" is gone"))
		return base.Pad(lines, g.h)
	}
	sum := st.LevelStyle(health.Status(grp.Status)).Render(string(grp.Status)) +
		fmt.Sprintf(" lag %s (%s) · %s · ", present.Count(float64(grp.TotalLag)), present.Seconds(grp.LagSeconds), present.LagState(grp)) +
		st.Muted.Render(grp.Protocol)
	lines = append(lines, common.Fit(sum, g.w))
	if ch := g.chartHeight(); ch > 0 {
		series := g.data.History[common.SeriesGroupLag(g.group)]
		peak := 0.0
		for _, v := range series {
			peak = math.Max(peak, v)
		}
		label := chartLabel
		for i, row := range common.Chart(series, max(g.w-label-1, 1), ch) {
			l := ""
			switch i {
			case 0:
				l = present.Count(peak)
			case ch - 1:
				l = "0"
			}
			lines = append(lines, st.Muted.Render(common.FitRight(l, label))+" "+st.Accent.Render(row))
		}
	}
	lines = append(lines, g.marks()...)
	if g.membersHeight() > 0 {
		lines = append(lines, g.members.View())
	}
	lines = append(lines, g.parts.View())
	lines = append(lines, g.eventLines()...)
	return base.Pad(strings.Split(strings.Join(lines, "\n"), "\n"), g.h)
}

// ResetAction resets group's offsets on topic: the operator picks the mode;
// the consumers are stopped first when the group has members.
func ResetAction(g state.Group, topic string) common.ActionBinding {
	modes := make([]string, len(action.ResetModes))
	for i, m := range action.ResetModes {
		modes[i] = string(m)
	}
	stop := "no"
	if len(g.Members) > 0 {
		stop = "yes"
	}
	return common.ActionBinding{Key: ResetKey, Kind: action.KindOffsetReset, Target: g.Name,
		Params: []common.Param{
			{Name: action.ParamTopic, Prompt: "topic", Default: topic},
			{Name: "mode", Prompt: "mode: to-earliest | to-latest | to-datetime RFC3339 | shift-by N | to-backup ID", Choices: modes},
			{Name: action.ParamStopConsumers, Prompt: fmt.Sprintf("stop the consumers first (%d members): yes or no", len(g.Members)), Default: stop},
		}}
}
