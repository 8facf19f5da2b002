// Package pools shows connection pools per instance and per store, with the
// connection budget (pool max x instances at the HPA maximum vs the limit).
package pools

import (
	"fmt"
	"math"

	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "pools", Title: "Pools", Short: "Pool", Aliases: []string{"pool", "conn", "connections"},
		Sources: []string{"prom", "postgres", "redis", "clickhouse"},
		Columns: []table.Column{
			{Title: "POD", Width: 14, Flex: true, Ident: true},
			{Title: "STORE", Width: 10},
			{Title: "IN USE", Width: 7, Right: true, Numeric: true},
			{Title: "SIZE", Width: 5, Right: true, Numeric: true},
			{Title: "UTIL", Width: 5, Right: true, Numeric: true, Status: true},
			{Title: "", Width: 10, Priority: 2},
			{Title: "WAITS", Width: 6, Right: true, Numeric: true, Priority: 1},
		},
		SortCol: 4, Desc: true,
		Empty: "no pool metrics",
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for _, ip := range d.Snap.Pools.Instances {
				for _, p := range ip.Pools {
					u := p.Utilization()
					out = append(out, table.Row{
						Key:   ip.Pod + "/" + string(p.Store),
						Cells: []string{common.Sanitize(ip.Pod), string(p.Store), present.Count(p.InUse), present.Count(p.Size), present.Percent(u), common.Bar(u, 10), present.Count(p.Waits)},
						Nums:  []float64{math.NaN(), math.NaN(), p.InUse, p.Size, u, math.NaN(), p.Waits},
						Level: ctx.Health.Pool(u),
					})
				}
			}
			return out
		},
		Summary: summary,
	})
}

func summary(ctx *common.Context, d *common.Data, w int) []string {
	st := ctx.Styles
	out := []string{}
	// a store runs in each region: its server line names the region
	labelW := 11
	for _, s := range d.Snap.Pools.Stores {
		labelW = max(labelW, common.Width(storeLabel(s))+1)
	}
	for _, s := range d.Snap.Pools.Stores {
		u := 0.0
		if s.Limit > 0 {
			u = float64(s.Connections) / float64(s.Limit)
		}
		line := " " + common.Fit(storeLabel(s), labelW) + fmt.Sprintf("%5d/%-5d ", s.Connections, s.Limit) +
			st.LevelStyle(ctx.Health.Pool(u)).Render(common.Bar(u, 12)+" "+common.FitRight(present.Percent(u), 4)) + st.Muted.Render(" server connections")
		if s.Stale {
			line += st.Warn.Render(" ⚠ stale")
		}
		out = append(out, line)
	}
	for _, b := range d.Snap.Pools.Budget {
		verdict := st.OK.Render("within limit")
		if !b.OK {
			verdict = st.Crit.Render("OVER LIMIT")
		}
		out = append(out, " "+common.Fit(string(b.Store), labelW)+st.Muted.Render("budget ")+
			fmt.Sprintf("%d per instance x %d = %d of %d ", b.PerInstance, b.Instances, b.Total, b.Limit)+verdict)
	}
	return out
}

func storeLabel(s state.StorePool) string {
	if s.Region == "" {
		return string(s.Store)
	}
	return string(s.Store) + " " + common.Sanitize(s.Region)
}
