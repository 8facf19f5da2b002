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
