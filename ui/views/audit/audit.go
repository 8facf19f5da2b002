// Package audit shows the audit log, newest first.
package audit

import (
	"math"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// UndoKey undoes the selected action (the action service refuses what
// cannot be undone, with the reason).
var UndoKey = key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo"))

// UndoAction undoes the audited action id.
func UndoAction(id string) common.ActionBinding {
	return common.ActionBinding{Key: UndoKey, Kind: action.KindUndo, Target: id}
}

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "audit", Title: "Audit log", Short: "Aud", Aliases: []string{"log", "auditlog"},
		Columns: []table.Column{
			{Title: "TIME", Width: 19, Numeric: true},
			{Title: "USER", Width: 8, Priority: 2},
			{Title: "ACTION", Width: 9},
			{Title: "TARGET", Width: 14},
			{Title: "OUTCOME", Width: 7, Status: true},
			{Title: "DETAIL", Width: 10, Flex: true, Priority: 1},
		},
		SortCol: 0, Desc: true,
		Actions: func(ctx *common.Context, d *common.Data, key string) []common.ActionBinding {
			for _, a := range d.Audit {
				if a.ID != "" && a.ID == key {
					return []common.ActionBinding{UndoAction(a.ID)}
				}
			}
			return nil
		},
		Empty: "no audit records",
		EmptyMessage: func(d *common.Data) string {
			switch {
			case d.NoAudit:
				return "no audit log configured"
			case d.AuditErr != "" && len(d.Audit) == 0:
				return "audit log unavailable: " + common.Sanitize(d.AuditErr)
			case !d.AuditOK:
				return "reading audit log…"
			}
			return ""
		},
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for i, a := range d.Audit {
				lvl := common.LevelOK
				switch a.Outcome {
				case "failed", "interrupted":
					// interrupted: an intent without a result; the action may have run in part.
					lvl = common.LevelCrit
				case "refused":
					lvl = common.LevelWarn
				}
				key := a.ID
				if key == "" {
					key = a.Time.UTC().Format("20060102T150405.000000000") + "/" + string(rune('a'+i%26))
				}
				detail := a.Detail
				if a.Undoes != "" {
					detail = "undoes " + a.Undoes + ": " + detail
				}
				out = append(out, table.Row{
					Key:   key,
					Cells: []string{a.Time.UTC().Format("2006-01-02 15:04:05"), common.Sanitize(a.User), a.Kind, common.Sanitize(a.Target), a.Outcome, common.Sanitize(detail)},
					Nums:  []float64{float64(a.Time.UnixNano()), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()},
					Level: lvl,
				})
			}
			return out
		},
	})
}
