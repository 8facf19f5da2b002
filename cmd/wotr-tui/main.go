// Command wotr-tui is the operations console of the WOTR platform. With no
// arguments it opens the interactive console; verbs run non-interactively.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes scripts can branch on (DESIGN.md).
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitRefused = 3
)

// exitError carries an exit code out of a RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// globalFlags are shared by every verb.
type globalFlags struct {
	configPath string
	context    string
}

// commandFactories are registered by each verb's file in init().
var commandFactories []func(g *globalFlags, out, errOut io.Writer) *cobra.Command

func register(f func(g *globalFlags, out, errOut io.Writer) *cobra.Command) {
	commandFactories = append(commandFactories, f)
}

func newRootCmd(out, errOut io.Writer) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "wotr-tui",
		Short:         "Operations console for the WOTR event-ingest platform",
		Long:          "wotr-tui shows per-instance load, consumer lag, replication lag and pool utilization of the WOTR platform,\nand acts on it: scale, alter partitions, drain nodes, promote the secondary region, trigger backups.\nWith no arguments it opens the interactive console.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/wotr/config.yaml)")
	root.PersistentFlags().StringVar(&g.context, "context", "", "context to use (default: current-context of the config)")
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return withCode(ExitUsage, err) })
	for _, f := range commandFactories {
		root.AddCommand(f(g, out, errOut))
	}
	// no verb: open the interactive console (tui.go)
	rootTUI(root, g, out)
	return root
}

func run(args []string, out, errOut io.Writer) int {
	root := newRootCmd(out, errOut)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(errOut, "error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// cobra's own argument and unknown-command errors are usage errors.
	return ExitUsage
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
