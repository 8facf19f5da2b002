// Package overview is the first screen: the health of every area, worst
// first, with the age of the data behind it. Enter opens the area's view.
package overview

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// View wraps a table view; Enter switches to the area's view.
type View struct {
	*base.TableView
	ctx *common.Context
}

// Area is one line of the overview.
type Area struct {
	Name    string
	View    string
	Level   common.Level
	Summary string
	Sources []string
	// Key of the row when View alone does not tell it apart.
	Key string
}

// New builds the view.
func New(ctx *common.Context) *View {
	var v *View
	tv := base.New(ctx, base.Spec{
		Name: "overview", Title: "Overview", Short: "Ovw", Aliases: []string{"ov", "home", "health"},
		Sources: []string{"*"},
		Columns: []table.Column{
			{Title: "AREA", Width: 12},
			{Title: "HEALTH", Width: 7, Status: true, Numeric: true},
			{Title: "SUMMARY", Width: 30, Flex: true},
			{Title: "AGE", Width: 5, Right: true, Numeric: true, Priority: 1},
		},
		SortCol: 1, Desc: true,
		Empty: "waiting for the first snapshot",
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for i, a := range Areas(d.Snap, ctx.Health) {
				age := dataAge(d.Snap, a.Sources, v.ctx.Now)
				ageS, ageN := "-", math.NaN()
				if age >= 0 {
					ageS, ageN = present.Age(age), age.Seconds()
				}
				out = append(out, table.Row{
					Key:   cmp.Or(a.Key, a.View),
					Cells: []string{a.Name, a.Level.String(), common.Sanitize(a.Summary), ageS},
					// ties keep the fixed area order
					Nums:  []float64{math.NaN(), float64(a.Level)*100 - float64(i), math.NaN(), ageN},
					Level: a.Level,
				})
			}
			return out
		},
		Summary: func(ctx *common.Context, d *common.Data, w int) []string {
			if d.Snap.TakenAt.IsZero() {
				return nil
			}
			stale := 0
			for _, m := range d.Snap.Sources {
				if m.Stale || m.Error != "" {
					stale++
				}
			}
			s := fmt.Sprintf(" context %s · snapshot %s old · %d sources", common.Sanitize(d.Snap.Context), present.Age(ctx.Now.Sub(d.Snap.TakenAt)), len(d.Snap.Sources))
			if stale > 0 {
				s += ctx.Styles.Warn.Render(fmt.Sprintf(", %d stale", stale))
			}
			return []string{ctx.Styles.Muted.Render(s)}
		},
	})
	v = &View{TableView: tv, ctx: ctx}
	return v
}

// Update: Enter opens the area's view.
func (v *View) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok && key.Matches(km, v.ctx.Keys.Enter) {
		if k := v.Table.SelectedKey(); k != "" && k != alertsKey {
			return v, func() tea.Msg { return common.SwitchViewMsg{Name: k} }
		}
		return v, nil
	}
	_, cmd := v.TableView.Update(msg)
	return v, cmd
}

// ShortHelp for the footer.
func (v *View) ShortHelp() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open area")), v.ctx.Keys.Filter}
}

// dataAge is the age of the oldest good value among the sources; -1 if none.
func dataAge(s state.Snapshot, prefixes []string, now time.Time) time.Duration {
	age := time.Duration(-1)
	for _, m := range s.Sources {
		for _, p := range prefixes {
			if (p == "*" || strings.HasPrefix(m.Source, p)) && !m.FetchedAt.IsZero() {
				// now is the last tick: a value fetched after it is 0s old, not unknown
				age = max(age, m.Age(now), 0)
			}
		}
	}
	return age
}

// Areas computes the health of every area of a snapshot.
// An area none of whose sources has answered yet reads as loading.
func Areas(s state.Snapshot, th health.Thresholds) []Area {
	as := []Area{instances(s, th), deployments(s), consumers(s), replication(s, th), pools(s, th), nodes(s), regionsArea(s), backups(s)}
	if present.AlertSources(s) {
		as = append(as, alertsArea(s))
	}
	as = append(as, sourcesArea(s))
	for i := range as {
		if names, all := common.SourcesLoading(s, as[i].Sources); all {
			as[i].Level, as[i].Summary = common.LevelNone, common.LoadingText(names)
		}
	}
	return as
}

// alertsKey is the Alerts row's key: it has no view of its own.
const alertsKey = "alerts"

// alertsArea: the alerts the regions' Prometheus fire, from the rules
// generated from the same thresholds (ops/alerts).
func alertsArea(s state.Snapshot) Area {
	return Area{Name: "Alerts", View: "overview", Key: alertsKey, Level: health.Alerts(s.Alerts),
		Summary: present.AlertsSummary(s.Alerts), Sources: []string{state.SourceAlerts}}
}

// APIDeployment is the app label of the API pods the API load row counts.
const APIDeployment = "wotr-api"

func instances(s state.Snapshot, th health.Thresholds) Area {
	// Load comes from Prometheus, or from scraping the instances without it.
	a := Area{Name: "API load", View: "instances", Sources: []string{"prom", "metrics-scrape"}}
	// Consumer pods are instances too, but not API capacity.
	var api []state.Instance
	for _, in := range s.Instances {
		if in.Deployment == APIDeployment {
			api = append(api, in)
		}
	}
	if len(api) == 0 {
		a.Level, a.Summary = common.LevelWarn, "no "+APIDeployment+" instances reporting"
		return a
	}
	ready, rps, worstErr := 0, 0.0, 0.0
	for _, in := range api {
		if in.Ready {
			ready++
		}
		rps += in.RPS
		worstErr = math.Max(worstErr, in.ErrorRate)
	}
	a.Level = th.Instances(api)
	a.Summary = fmt.Sprintf("%d/%d ready · %s req/s · worst errors %s", ready, len(api), present.Rate(rps), present.Percent(worstErr))
	return a
}

func deployments(s state.Snapshot) Area {
	a := Area{Name: "Deployments", View: "deployments", Level: common.LevelOK, Sources: []string{"kube"}}
	if len(s.Deployments) == 0 {
		a.Level, a.Summary = common.LevelNone, "none"
		return a
	}
	sum := ""
	for i, d := range s.Deployments {
		a.Level = common.Worst(a.Level, health.Deployment(d))
		if i > 0 {
			sum += " · "
		}
		sum += fmt.Sprintf("%s %d/%d", d.Name, d.Ready, d.Desired)
	}
	a.Summary = sum
	return a
}

func consumers(s state.Snapshot) Area {
	a := Area{Name: "Consumers", View: "consumers", Level: common.LevelOK, Sources: []string{"kafka"}}
	if len(s.Kafka.Groups) == 0 {
		a.Level, a.Summary = common.LevelWarn, "no consumer groups"
		return a
	}
	worst := s.Kafka.Groups[0]
	for _, g := range s.Kafka.Groups {
		if g.Status.Severity() > worst.Status.Severity() || g.Status.Severity() == worst.Status.Severity() && g.TotalLag > worst.TotalLag {
			worst = g
		}
		a.Level = common.Worst(a.Level, health.Status(g.Status))
	}
	a.Summary = fmt.Sprintf("%s %s lag %s (%s) %s", worst.Name, worst.Status, present.Count(float64(worst.TotalLag)), present.Seconds(worst.LagSeconds), present.LagState(worst))
	return a
}

func replication(s state.Snapshot, th health.Thresholds) Area {
	a := Area{Name: "Replication", View: "replication", Level: common.LevelOK, Sources: []string{"postgres", "clickhouse", "redis"}}
	r := s.Replication
	pg, ch, rd := -1.0, -1.0, -1.0
	a.Level = th.ReplicationAll(r)
	for _, x := range r.Postgres {
		pg = math.Max(pg, x.ReplayLagSeconds)
	}
	for _, x := range r.ClickHouse {
		ch = math.Max(ch, x.AbsoluteDelay)
	}
	for _, x := range r.Redis {
		rd = math.Max(rd, x.LagSeconds)
	}
	if pg < 0 && ch < 0 && rd < 0 {
		a.Level, a.Summary = common.LevelWarn, "no replicas reporting"
		return a
	}
	a.Summary = fmt.Sprintf("postgres %s · clickhouse %s · redis %s", present.Seconds(pg), present.Seconds(ch), present.Seconds(rd))
	return a
}

func pools(s state.Snapshot, th health.Thresholds) Area {
	a := Area{Name: "Pools", View: "pools", Level: common.LevelOK, Sources: []string{"prom", "metrics-scrape", "postgres", "redis", "clickhouse"}}
	worst, worstStore := health.WorstPool(s.Pools)
	a.Level = th.Pool(worst)
	a.Summary = fmt.Sprintf("max utilisation %s", present.Percent(worst))
	if worstStore != "" {
		a.Summary += " (" + worstStore + ")"
	}
	for _, b := range s.Pools.Budget {
		if !b.OK {
			a.Level = common.Worst(a.Level, common.LevelWarn)
			a.Summary += fmt.Sprintf(" · %s budget %d > %d", b.Store, b.Total, b.Limit)
		}
	}
	return a
}

func nodes(s state.Snapshot) Area {
	a := Area{Name: "Nodes", View: "nodes", Level: common.LevelOK, Sources: []string{"kube"}}
	if len(s.Nodes) == 0 {
		a.Level, a.Summary = common.LevelNone, "no nodes"
		return a
	}
	ready, cordoned, pods := 0, 0, 0
	for _, n := range s.Nodes {
		if n.Ready {
			ready++
		}
		if n.Cordoned {
			cordoned++
		}
		pods += n.Pods
		a.Level = common.Worst(a.Level, health.Node(n))
	}
	a.Summary = fmt.Sprintf("%d/%d ready · %d cordoned · %d pods", ready, len(s.Nodes), cordoned, pods)
	return a
}

func regionsArea(s state.Snapshot) Area {
	a := Area{Name: "Regions / DR", View: "regions", Level: common.LevelOK, Sources: []string{"postgres"}}
	if len(s.Regions) == 0 {
		a.Level, a.Summary = common.LevelNone, "no regions"
		return a
	}
	sum := ""
	for i, r := range s.Regions {
		a.Level = common.Worst(a.Level, health.Region(r))
		if i > 0 {
			sum += ", "
		}
		sum += common.Sanitize(r.Name) + ": " + regionState(r)
	}
	a.Summary = sum
	return a
}

// regionState reads "standby ready" or "primary NOT READY"; the role is
// left out when the region's name already says it ("primary: ready").
func regionState(r state.Region) string {
	st := "ready"
	if !r.Ready {
		st = "NOT READY"
	}
	role := string(r.Role)
	if r.Role == state.RoleSecondary {
		role = "standby"
	}
	if r.Name == role {
		return st
	}
	return role + " " + st
}

func backups(s state.Snapshot) Area {
	a := Area{Name: "Backups", View: "backups", Level: common.LevelOK, Sources: []string{"backup"}}
	if len(s.Backups) == 0 {
		a.Level, a.Summary = common.LevelWarn, "no backups"
		return a
	}
	latest := map[string]state.Backup{}
	for _, b := range s.Backups {
		if cur, ok := latest[string(b.Store)]; !ok || b.StartedAt.After(cur.StartedAt) {
			latest[string(b.Store)] = b
		}
	}
	sum := ""
	for _, st := range []string{"postgres", "clickhouse", "redis"} {
		b, ok := latest[st]
		if !ok {
			continue
		}
		a.Level = common.Worst(a.Level, health.Backup(b))
		if sum != "" {
			sum += " · "
		}
		sum += fmt.Sprintf("%s %s %s ago", st, b.State, present.Age(s.TakenAt.Sub(b.StartedAt)))
	}
	a.Summary = sum
	return a
}

func sourcesArea(s state.Snapshot) Area {
	a := Area{Name: "Sources", View: "overview", Level: common.LevelOK, Sources: []string{"*"}}
	stale := []string{}
	for _, m := range s.Sources {
		if m.Stale || m.Error != "" {
			stale = append(stale, m.Source)
		}
	}
	if len(stale) > 0 {
		a.Level = common.LevelWarn
		a.Summary = fmt.Sprintf("%d of %d stale: %v", len(stale), len(s.Sources), stale)
	} else {
		a.Summary = fmt.Sprintf("%d sources fresh", len(s.Sources))
	}
	if loading, _ := common.SourcesLoading(s, a.Sources); len(loading) > 0 {
		a.Summary += fmt.Sprintf(", %d loading", len(loading))
		if len(stale) == 0 {
			a.Summary = fmt.Sprintf("%d of %d fresh, %d loading", len(s.Sources)-len(loading), len(s.Sources), len(loading))
		}
	}
	return a
}
