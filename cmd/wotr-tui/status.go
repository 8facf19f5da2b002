package main

import (
	"github.com/spf13/cobra"
)

func newStatusCmd(d *deps) *cobra.Command {
	f := &readFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Overview of the platform: instances, nodes, lag, replication, budget, regions, sources",
		Long: "status polls every source of the context once (twice, --rate-window apart, so rates are known)\n" +
			"and prints one line per area. -o wide adds every source with its age and error; -o json prints\n" +
			"the whole snapshot (ops/present/JSON.md). A source that cannot be reached makes the exit code 1.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return withCode(ExitUsage, cobra.NoArgs(cmd, args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRead(cmd, d, f, "status")
		},
	}
	f.bind(cmd)
	return cmd
}
