package main

import (
	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
)

func newBackupVerifyCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindBackupVerify, "verify ID|latest",
		"Restore a backup set into scratch servers on free ports, check it against what was recorded, remove them",
		"backup verify takes one backup set ID (see wotr-tui backups) or latest")
}

func newRestoreCmd(d *deps) *cobra.Command {
	cmd := newActionCmd(d, action.KindRestore, "restore postgres|clickhouse|redis --from ID [--to-time T | --to-lsn L]",
		"Restore a store from a backup set into a new data dir, check it, then swap it in (the old data dir is kept)",
		"restore takes one store: postgres, clickhouse or redis")
	cmd.AddCommand(newActionCmd(d, action.KindRestoreSet, "set ID",
		"Restore a backup set as one point: PostgreSQL to its LSN, ClickHouse to its parts, the consumer group rewound to its Kafka offsets",
		"restore set takes one backup set ID (see wotr-tui backups)"))
	return cmd
}
