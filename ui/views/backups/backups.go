// Package backups lists store backups; a backup of the selected store is
// bound here.
package backups

import (
	"math"
	"time"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// BackupKey takes a backup of the selected row's store.
var BackupKey = key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "backup store"))

// VerifyKey restores the selected backup into a scratch server and checks it.
var VerifyKey = key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify backup"))

// RestoreSetKey restores the selected row's set: PostgreSQL, ClickHouse and the consumer offsets.
var RestoreSetKey = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "restore set"))

// RestoreKey restores the selected row's store from its backup (PostgreSQL:
// optionally to a time or WAL position from the archive).
var RestoreKey = key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restore store"))

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "backups", Title: "Backups", Short: "Bak", Aliases: []string{"backup", "bak"},
		Sources: []string{"backup"},
		Columns: []table.Column{
			{Title: "STORE", Width: 10},
			{Title: "ID", Width: 14, Flex: true, Ident: true},
			{Title: "STATE", Width: 7, Status: true},
			{Title: "AGE", Width: 5, Right: true, Numeric: true},
			{Title: "TOOK", Width: 5, Right: true, Numeric: true, Priority: 1},
			{Title: "SIZE", Width: 8, Right: true, Numeric: true},
			{Title: "WAL", Width: 10, Priority: 3},
			{Title: "VERIFIED", Width: 12, Priority: 1},
			{Title: "LOCATION", Width: 14, Flex: true, Priority: 2},
		},
		SortCol: 3,
		Empty:   "no backups yet",
		Rows: func(d *common.Data) []table.Row {
			out := []table.Row{}
			for _, b := range d.Snap.Backups {
				age := d.Snap.TakenAt.Sub(b.StartedAt)
				took, tookN := "-", math.NaN()
				if !b.Finished.IsZero() {
					took, tookN = present.Duration(b.Finished.Sub(b.StartedAt)), b.Finished.Sub(b.StartedAt).Seconds()
				}
				state := b.State
				if b.Error != "" {
					state = "failed"
				}
				out = append(out, table.Row{
					Key:   string(b.Store) + "/" + b.ID,
					Cells: []string{string(b.Store), common.Sanitize(b.ID), state, present.Age(age), took, present.Bytes(float64(b.SizeBytes)), b.WALPosition, present.Verification(b.Verification, d.Snap.TakenAt), common.Sanitize(b.Location)},
					Nums:  []float64{math.NaN(), math.NaN(), math.NaN(), age.Seconds(), tookN, float64(b.SizeBytes), math.NaN(), math.NaN(), math.NaN()},
					Level: health.Backup(b),
				})
			}
			return out
		},
		Actions: func(ctx *common.Context, d *common.Data, k string) []common.ActionBinding {
			store, id := string(state.SystemPostgres), ""
			for _, b := range d.Snap.Backups {
				if string(b.Store)+"/"+b.ID == k {
					store, id = string(b.Store), b.ID
				}
			}
			out := []common.ActionBinding{{Key: BackupKey, Kind: action.KindBackup, Target: store,
				Params: []common.Param{{Name: "store", Prompt: "store to back up (postgres, clickhouse, redis)", Default: store, AsTarget: true}}}}
			if id != "" {
				out = append(out, common.ActionBinding{Key: VerifyKey, Kind: action.KindBackupVerify, Target: id,
					Params: []common.Param{{Name: "store", Prompt: "store to verify (postgres, clickhouse, redis, all)", Default: store}}},
					common.ActionBinding{Key: RestoreKey, Kind: action.KindRestore, Target: store,
						Params: []common.Param{{Name: action.ParamFrom, Prompt: "backup set to restore " + store + " from", Default: id},
							{Name: "target", Prompt: "PostgreSQL: to-time RFC3339 or to-lsn X/Y (empty: the backup's end)",
								Choices: []string{action.ParamToTime, action.ParamToLSN}}}},
					common.ActionBinding{Key: RestoreSetKey, Kind: action.KindRestoreSet, Target: id})
			}
			return out
		},
		Open: func(ctx *common.Context, d *common.Data, k string) base.Drill {
			return base.NewTextDrill(ctx, d, k, func(d *common.Data, w int) []string {
				for _, b := range d.Snap.Backups {
					if string(b.Store)+"/"+b.ID != k {
						continue
					}
					lines := []string{
						base.KV(ctx, "store", string(b.Store)), base.KV(ctx, "id", b.ID), base.KV(ctx, "state", b.State),
						base.KV(ctx, "started", b.StartedAt.UTC().Format(time.RFC3339)),
						base.KV(ctx, "size", present.Bytes(float64(b.SizeBytes))),
						base.KV(ctx, "location", b.Location),
					}
					if b.WALPosition != "" {
						lines = append(lines, base.KV(ctx, "WAL position", b.WALPosition))
					}
					for t, off := range b.KafkaOffsets {
						lines = append(lines, base.KV(ctx, "kafka offset", t+" "+present.Count(float64(off))))
					}
					if b.Error != "" {
						lines = append(lines, ctx.Styles.Crit.Render("error: ")+common.Sanitize(b.Error))
					}
					lines = append(lines, base.KV(ctx, "verified", present.Verification(b.Verification, d.Snap.TakenAt)))
					if v := b.Verification; v != nil && v.Detail != "" {
						lines = append(lines, base.KV(ctx, "verify detail", common.Sanitize(v.Detail)))
					}
					return lines
				}
				return []string{"backup is gone"}
			}, nil)
		},
	})
}
