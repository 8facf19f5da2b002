// Package nodes shows cluster nodes: cordon state, pods per node, zone.
// Cordon, uncordon and drain are bound here.
package nodes

import (
	"fmt"
	"math"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// Action keys of the view.
var (
	CordonKey   = key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cordon"))
	UncordonKey = key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "uncordon"))
	DrainKey    = key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "drain"))
)

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "nodes", Title: "Nodes", Short: "Node", Aliases: []string{"no", "node"},
		Sources: []string{"kube"},
		Columns: []table.Column{
			{Title: "NAME", Width: 14, Flex: true, Ident: true},
			{Title: "STATUS", Width: 8, Status: true},
			{Title: "SCHED", Width: 11}, // fits "schedulable"
			{Title: "PODS", Width: 8, Right: true, Numeric: true},
			{Title: "CPU REQ", Width: 10, Right: true, Numeric: true, Priority: 2},
			{Title: "ZONE", Width: 10, Priority: 1},
			{Title: "REGION", Width: 10, Priority: 3},
			{Title: "AGE", Width: 4, Right: true, Priority: 4, Muted: true},
		},
		SortCol: 0,
		Empty:   "no nodes",
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for _, n := range d.Snap.Nodes {
				status := "Ready"
				if !n.Ready {
					status = "NotReady"
				}
				sched := "schedulable"
				if n.Cordoned {
					sched = "cordoned"
				}
				cpu := fmt.Sprintf("%.1f/%.0f", n.CPUReq, n.CPUAlloc)
				out = append(out, table.Row{
					Key:   n.Name,
					Cells: []string{common.Sanitize(n.Name), status, sched, fmt.Sprintf("%d/%d", n.Pods, n.PodsAlloc), cpu, n.Zone, n.Region, ""},
					Nums:  []float64{math.NaN(), math.NaN(), math.NaN(), float64(n.Pods), n.CPUReq, math.NaN(), math.NaN(), math.NaN()},
					Level: health.Node(n),
				})
			}
			return out
		},
		Actions: func(ctx *common.Context, d *common.Data, name string) []common.ActionBinding {
			for _, n := range d.Snap.Nodes {
				if n.Name != name {
					continue
				}
				out := []common.ActionBinding{{Key: DrainKey, Kind: action.KindDrain, Target: name}}
				if n.Cordoned {
					out = append(out, common.ActionBinding{Key: UncordonKey, Kind: action.KindUncordon, Target: name})
				} else {
					out = append(out, common.ActionBinding{Key: CordonKey, Kind: action.KindCordon, Target: name})
				}
				return out
			}
			return nil
		},
	})
}
