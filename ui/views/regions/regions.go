// Package regions shows the primary and secondary regions and DR readiness.
// Promote is bound here.
package regions

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// PromoteKey promotes the selected (secondary) region.
var PromoteKey = key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "promote region"))

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "regions", Title: "Regions", Short: "Reg", Aliases: []string{"region", "reg", "dr"},
		Sources: []string{"*"},
		Columns: []table.Column{
			{Title: "REGION", Width: 10, Ident: true},
			{Title: "ROLE", Width: 9},
			{Title: "DR READY", Width: 8, Status: true},
			{Title: "STANDBY LAG", Width: 11, Right: true, Numeric: true},
			{Title: "BACKUP AGE", Width: 10, Right: true, Numeric: true},
			{Title: "NODES", Width: 5, Right: true, Numeric: true, Priority: 1},
			{Title: "PODS", Width: 5, Right: true, Numeric: true, Priority: 1},
			{Title: "DEPLOYMENTS", Width: 28, Priority: 2},
			{Title: "NOTES", Width: 10, Flex: true, Priority: 2},
		},
		SortCol: -1,
		Empty:   "no regions configured",
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for _, r := range d.Snap.Regions {
				ready := "ready"
				if !r.Ready {
					ready = "NOT READY"
				}
				lag := "-"
				if r.Role == state.RoleSecondary {
					lag = present.Seconds(r.StandbyLagSec)
				}
				bak := "never"
				if r.LastBackupAge >= 0 {
					bak = present.AgeSeconds(r.LastBackupAge)
				}
				w := present.WorkloadOf(d.Snap, r.Name)
				out = append(out, table.Row{
					Key: r.Name,
					Cells: []string{r.Name, string(r.Role), ready, lag, bak, fmt.Sprint(r.Nodes), w.PodsCell(),
						common.Sanitize(w.Deployments), common.Sanitize(strings.Join(r.Notes, "; "))},
					Nums: []float64{math.NaN(), math.NaN(), math.NaN(), r.StandbyLagSec, r.LastBackupAge, float64(r.Nodes), float64(w.Pods),
						math.NaN(), math.NaN()},
					Level: health.Region(r),
				})
			}
			return out
		},
		Open: func(ctx *common.Context, d *common.Data, name string) base.Drill {
			return base.NewTextDrill(ctx, d, name, func(d *common.Data, w int) []string {
				for _, r := range d.Snap.Regions {
					if r.Name != name {
						continue
					}
					lines := []string{
						base.KV(ctx, "role", string(r.Role)),
						base.KV(ctx, "DR ready", fmt.Sprint(r.Ready)),
						base.KV(ctx, "standby lag", present.Seconds(r.StandbyLagSec)),
						base.KV(ctx, "backup age", present.AgeSeconds(r.LastBackupAge)),
						base.KV(ctx, "nodes", fmt.Sprint(r.Nodes)),
					}
					w := present.WorkloadOf(d.Snap, r.Name)
					lines = append(lines, base.KV(ctx, "pods ready", w.PodsCell()))
					if w.Deployments != "" {
						lines = append(lines, base.KV(ctx, "deployments", common.Sanitize(w.Deployments)))
					}
					for _, n := range r.Notes {
						lines = append(lines, base.KV(ctx, "note", n))
					}
					for _, m := range d.Snap.Sources {
						if m.Region == name {
							state := "ok"
							if m.Stale || m.Error != "" {
								state = "stale: " + m.Error
							}
							lines = append(lines, base.KV(ctx, "source", m.Source+" "+present.Age(m.Age(ctx.Now))+" "+state))
						}
					}
					return lines
				}
				return []string{"region " + common.Sanitize(name) + " is gone"}
			}, func(d *common.Data) []common.ActionBinding { return actions(d, name) }).
				WithWarnings(func(d *common.Data) (string, bool) {
					// only a region whose cluster the collector reads
					for _, m := range d.Snap.Sources {
						if m.Region == name && strings.HasPrefix(m.Source, "kube") {
							return name, true
						}
					}
					return "", false
				})
		},
		Actions: func(ctx *common.Context, d *common.Data, name string) []common.ActionBinding { return actions(d, name) },
	})
}

func actions(d *common.Data, name string) []common.ActionBinding {
	for _, r := range d.Snap.Regions {
		if r.Name == name && r.Role == state.RoleSecondary {
			return []common.ActionBinding{{Key: PromoteKey, Kind: action.KindPromote, Target: name}}
		}
	}
	return nil
}
