package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/wotr/wotr-tui/cmd/internal/version"
	"github.com/wotr/wotr-tui/ops/alerts"
	"github.com/wotr/wotr-tui/ops/health"
	promrules "github.com/wotr/wotr-tui/platform/deploy/prometheus"
)

// addVersion gives root `version` and `--version`, and the hidden `man`
// verb that `make man` runs.
func addVersion(root *cobra.Command, d *deps) {
	root.Version = version.Get("wotr-tui").String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newVersionCmd(d), newManCmd(root), newAlertRulesCmd(d))
}

func newVersionCmd(d *deps) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the module version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			i := version.Get("wotr-tui")
			switch output {
			case "text":
				_, err := fmt.Fprintln(d.out, i)
				return withCode(ExitFailed, err)
			case "json":
				enc := json.NewEncoder(d.out)
				enc.SetIndent("", "  ")
				return withCode(ExitFailed, enc.Encode(i))
			}
			return withCode(ExitUsage, fmt.Errorf("-o %q: output must be text or json", output))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// newManCmd writes one man page per command of the tree (section 1).
func newManCmd(root *cobra.Command) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "man",
		Short:  "Write man pages of every command into --dir",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return withCode(ExitUsage, fmt.Errorf("--dir is empty: name the directory for the man pages"))
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return withCode(ExitFailed, err)
			}
			root.DisableAutoGenTag = true
			hdr := &doc.GenManHeader{Title: "WOTR-TUI", Section: "1", Source: "wotr-tui " + version.Get("wotr-tui").Version, Manual: "WOTR operations console"}
			if err := doc.GenManTree(root, hdr, dir); err != nil {
				return withCode(ExitFailed, err)
			}
			pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
			fmt.Fprintf(cmd.OutOrStdout(), "%d man pages in %s\n", len(pages), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "man", "directory for the pages")
	return cmd
}

// newAlertRulesCmd prints the alerting rules for the context's thresholds
// (the shipped files are the defaults'), for a Prometheus of one's own.
func newAlertRulesCmd(d *deps) *cobra.Command {
	var format string
	var defaults bool
	cmd := &cobra.Command{
		Use:   "alert-rules",
		Short: "Print Prometheus alerting rules from the context's thresholds",
		Long: "Prints the alerting rules made from the health thresholds the console judges with, the context's\n" +
			"overrides applied: a rules file (--format rules) or a PrometheusRule (--format prometheusrule).\n" +
			"platform/deploy/prometheus ships both for the default thresholds (--defaults).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "rules" && format != "prometheusrule" {
				return withCode(ExitUsage, fmt.Errorf("--format %q: must be rules or prometheusrule", format))
			}
			th := health.Defaults()
			if !defaults {
				cc, err := d.contextConfig()
				if err != nil {
					return withCode(ExitUsage, err)
				}
				th = cc.Health()
			}
			rules, pr, err := promrules.Generate(th, alerts.Options{})
			if err != nil {
				return withCode(ExitFailed, err)
			}
			out := rules
			if format == "prometheusrule" {
				out = pr
			}
			_, err = d.out.Write(out)
			return withCode(ExitFailed, err)
		},
	}
	cmd.Flags().StringVar(&format, "format", "rules", "rules (a Prometheus rules file) or prometheusrule (monitoring.coreos.com/v1)")
	cmd.Flags().BoolVar(&defaults, "defaults", false, "use the default thresholds, not the context's")
	return cmd
}
