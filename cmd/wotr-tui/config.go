package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/config"
)

// newConfigCmd is kubectl's `config`: list, show and switch contexts, view
// the file with its secrets masked, init a context from a cluster.
func newConfigCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and switch contexts, view the config (secrets masked), init a context from a cluster",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return withCode(ExitUsage, cmd.Help()) },
	}
	var output string
	getContexts := &cobra.Command{
		Use:   "get-contexts",
		Short: "List the contexts (* marks the current one)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return withCode(ExitUsage, fmt.Errorf("-o %q: output must be table or json", output))
			}
			cfg, err := config.Load(d.flags.configPath)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			return printContexts(d, cfg, output)
		},
	}
	getContexts.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	current := &cobra.Command{
		Use:   "current-context",
		Short: "Print the current context",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(d.flags.configPath)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			c, err := cfg.Context("")
			if err != nil {
				return withCode(ExitUsage, err)
			}
			fmt.Fprintln(d.out, c.Name)
			return nil
		},
	}
	use := &cobra.Command{
		Use:               "use-context NAME",
		Short:             "Make NAME the current context",
		Args:              usageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeContexts(d),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := config.UseContext(d.flags.configPath, args[0]); err != nil {
				return withCode(ExitUsage, err)
			}
			fmt.Fprintf(d.out, "Switched to context %q.\n", args[0])
			return nil
		},
	}
	view := &cobra.Command{
		Use:   "view",
		Short: "Print the config file with every secret masked",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := config.MaskedFile(d.flags.configPath)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			fmt.Fprint(d.out, text)
			return nil
		},
	}
	cmd.AddCommand(getContexts, current, use, view, newConfigInitCmd(d))
	return cmd
}

// usageArgs makes an argument error exit with the usage code.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return withCode(ExitUsage, check(cmd, args))
	}
}

// contextRow is one context in `config get-contexts -o json`.
type contextRow struct {
	Name        string   `json:"name"`
	Current     bool     `json:"current"`
	ReadOnly    bool     `json:"readOnly"`
	HeaderColor string   `json:"headerColor,omitempty"`
	Regions     []string `json:"regions"`
}

func printContexts(d *deps, cfg *config.Config, output string) error {
	current := ""
	if c, err := cfg.Context(""); err == nil {
		current = c.Name
	}
	rows := make([]contextRow, 0, len(cfg.Contexts))
	for _, c := range cfg.Contexts {
		r := contextRow{Name: c.Name, Current: c.Name == current, ReadOnly: c.ReadOnly, HeaderColor: c.HeaderColor, Regions: []string{}}
		for _, reg := range c.RegionsPrimaryFirst() {
			r.Regions = append(r.Regions, reg.Name)
		}
		rows = append(rows, r)
	}
	if output == "json" {
		return writeJSON(d.out, rows)
	}
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CURRENT\tNAME\tREGIONS\tMODE\tHEADER")
	for _, r := range rows {
		mark, mode := "", "read-write"
		if r.Current {
			mark = "*"
		}
		if r.ReadOnly {
			mode = "read-only"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, r.Name, strings.Join(r.Regions, ","), mode, r.HeaderColor)
	}
	return tw.Flush()
}

// completeContexts offers the contexts of the config file.
func completeContexts(d *deps) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg, err := config.Load(d.flags.configPath)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(cfg.ContextNames(), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix keeps the names that start with prefix.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
