// Package deployments is `:deploy`: the Deployments of every region with
// their HPA, and the drill-in behind Enter: replica counts, HPA, rollout
// conditions, the pods (l opens the selected pod's log) and the events.
package deployments

import (
	"fmt"
	"math"
	"strings"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
	"github.com/wotr/wotr-tui/ui/views/instances"
)

// Name of the view in command mode.
const Name = "deployments"

// View is the Deployments table; it has no tab (command mode, or Enter on
// the overview's Deployments row).
type View struct{ *base.TableView }

// Hidden: the view has no tab.
func (v *View) Hidden() bool { return true }

// New builds the view.
func New(ctx *common.Context) *View {
	return &View{base.New(ctx, base.Spec{
		Name: Name, Title: "Deployments", Short: "Dep", Aliases: []string{"deploy", "dp", "deployment"},
		Sources: []string{"kube"},
		Columns: []table.Column{
			{Title: "NAME", Width: 14, Flex: true, Ident: true},
			{Title: "REGION", Width: 9, Priority: 2},
			{Title: "READY", Width: 7, Right: true, Numeric: true, Status: true},
			{Title: "UP-TO-DATE", Width: 10, Right: true, Numeric: true, Priority: 1},
			{Title: "HPA", Width: 7, Priority: 1},
			{Title: "TARGETS", Width: 16, Flex: true, Priority: 3, Muted: true},
		},
		SortCol: 0,
		Empty:   "no deployments",
		Rows:    rows,
		Open:    open,
		Actions: func(ctx *common.Context, d *common.Data, key string) []common.ActionBinding {
			if _, name, ok := splitKey(key); ok {
				return []common.ActionBinding{instances.ScaleAction(d, name)}
			}
			return nil
		},
	})}
}

// Key of a Deployment's row: region and name (two clusters may both run one).
func Key(region, name string) string { return region + "/" + name }

func splitKey(k string) (region, name string, ok bool) {
	region, name, ok = strings.Cut(k, "/")
	return region, name, ok && name != ""
}

func rows(d *common.Data) []table.Row {
	out := make([]table.Row, 0, len(d.Snap.Deployments))
	for _, dep := range d.Snap.Deployments {
		hpa, targets := "-", ""
		if h := dep.HPA; h != nil {
			hpa = fmt.Sprintf("%d..%d", h.Min, h.Max)
			targets = hpaTargets(h.Metrics)
		}
		out = append(out, table.Row{
			Key: Key(dep.Region, dep.Name),
			Cells: []string{common.Sanitize(dep.Name), common.Sanitize(dep.Region), fmt.Sprintf("%d/%d", dep.Ready, dep.Desired),
				fmt.Sprint(dep.Updated), hpa, common.Sanitize(targets)},
			Nums:  []float64{math.NaN(), math.NaN(), float64(dep.Ready), float64(dep.Updated), math.NaN(), math.NaN()},
			Level: health.Deployment(dep),
		})
	}
	return out
}

func hpaTargets(ms []state.HPAMetric) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		cur := m.Current
		if cur == "" {
			cur = "?"
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s", m.Name, cur, m.Target))
	}
	return strings.Join(parts, " · ")
}

// find the Deployment of the snapshot.
func find(d *common.Data, region, name string) (state.Deployment, bool) {
	for _, dep := range d.Snap.Deployments {
		if dep.Region == region && dep.Name == name {
			return dep, true
		}
	}
	return state.Deployment{}, false
}

func open(ctx *common.Context, d *common.Data, key string) base.Drill {
	region, name, ok := splitKey(key)
	if !ok {
		return nil
	}
	return newDrill(ctx, d, region, name)
}
