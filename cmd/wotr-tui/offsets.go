package main

import (
	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
)

// newOffsetsCmd groups the consumer-offset verbs: offsets reset.
func newOffsetsCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Move a consumer group's committed offsets",
		Args:  cobra.NoArgs,
	}
	reset := newActionCmd(d, action.KindOffsetReset,
		"reset GROUP --topic T (--to-earliest | --to-latest | --to-datetime T | --shift-by N | --to-backup ID | --to-offsets P=O,...) [--stop-consumers]",
		"Reset a consumer group's offsets on a topic (replay or skip events); refused while the group has members unless --stop-consumers",
		"offsets reset takes one consumer GROUP")
	cmd.AddCommand(reset)
	return cmd
}

func newUndoCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindUndo, "undo AUDIT_ID",
		"Undo an audited action (scale, HPA bounds, cordon, drain, offset reset) from its recorded previous state",
		"undo takes one AUDIT_ID (wotr-tui audit lists them)")
}
