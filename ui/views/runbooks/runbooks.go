// Package runbooks lists the runbooks of the runbooks engine.
package runbooks

import (
	"fmt"
	"math"

	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "runbooks", Title: "Runbooks", Short: "Run", Aliases: []string{"rb", "runbook"},
		Columns: []table.Column{
			{Title: "NAME", Width: 16},
			{Title: "STEPS", Width: 5, Right: true, Numeric: true},
			{Title: "TITLE", Width: 20, Flex: true},
		},
		SortCol: 0,
		Empty:   "no runbooks",
		EmptyMessage: func(d *common.Data) string {
			switch {
			case d.NoRunbooks:
				return "no runbooks (no runbooks engine configured)"
			case d.RunbookErr != "":
				return "runbooks unavailable: " + common.Sanitize(d.RunbookErr)
			case len(d.Runbooks) == 0:
				return "no runbooks"
			}
			return ""
		},
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for _, r := range d.Runbooks {
				out = append(out, table.Row{Key: r.Name,
					Cells: []string{common.Sanitize(r.Name), fmt.Sprint(r.Steps), common.Sanitize(r.Title)},
					Nums:  []float64{math.NaN(), float64(r.Steps), math.NaN()}})
			}
			return out
		},
		Open: func(ctx *common.Context, d *common.Data, name string) base.Drill {
			if ctx.Runner != nil {
				return newRunDrill(ctx, name)
			}
			return base.NewTextDrill(ctx, d, name, func(d *common.Data, w int) []string {
				for _, r := range d.Runbooks {
					if r.Name == name {
						return []string{base.KV(ctx, "title", r.Title), base.KV(ctx, "steps", fmt.Sprint(r.Steps)), "", common.Sanitize(r.Description)}
					}
				}
				return []string{"runbook is gone"}
			}, nil)
		},
	})
}
