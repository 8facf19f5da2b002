// Command wotr-tui is the operations console of the WOTR platform. With no
// arguments it opens the interactive console; verbs run non-interactively.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
)

// Exit codes scripts can branch on (README.md, "Using it").
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

// deps is what the commands take from outside the process: streams, config,
// the platform, the clock, where state goes. main passes the real ones; tests
// pass their own.
type deps struct {
	in          io.Reader
	out, errOut io.Writer
	// isTerminal tells whether a stream is a terminal (prompts, the console).
	isTerminal func(stream any) bool
	// loadContext resolves --config and --context.
	loadContext func(configPath, context string) (*config.ContextConfig, error)
	// open is the composition root: every client of a context.
	open func(ctx context.Context, cc config.ContextConfig) *wire.Platform
	now  func() time.Time
	// stateDir holds runbook runs and reports.
	stateDir    func() string
	startDemo   func(ctx context.Context, o demo.Options) (*demo.Demo, error)
	missingDeps func(local.Options) []local.MissingDep

	// flags holds --config and --context once the root command parsed them.
	flags globalFlags
}

// defaultDeps are the process's own.
func defaultDeps(in io.Reader, out, errOut io.Writer) *deps {
	return &deps{
		in: in, out: out, errOut: errOut,
		isTerminal: func(stream any) bool {
			f, ok := stream.(*os.File)
			return ok && term.IsTerminal(f.Fd())
		},
		loadContext: func(configPath, context string) (*config.ContextConfig, error) {
			cfg, err := config.Load(configPath)
			if err != nil {
				return nil, err
			}
			return cfg.Context(context)
		},
		open: func(ctx context.Context, cc config.ContextConfig) *wire.Platform {
			return wire.Open(ctx, cc)
		},
		now:         time.Now,
		stateDir:    runbook.StateDir,
		startDemo:   demo.Start,
		missingDeps: local.Missing,
	}
}

// contextConfig is the context --config and --context name.
func (d *deps) contextConfig() (*config.ContextConfig, error) {
	return d.loadContext(d.flags.configPath, d.flags.context)
}

// session is what a verb works in: the context's config, its platform and a
// context that ends on Ctrl-C. close releases the platform.
type session struct {
	ctx      context.Context
	cc       *config.ContextConfig
	platform *wire.Platform
	close    func()
}

func (d *deps) session(cmd *cobra.Command) (*session, error) {
	cc, err := d.contextConfig()
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
	platform := d.open(ctx, *cc)
	return &session{ctx: ctx, cc: cc, platform: platform, close: func() { platform.Close(); stop() }}, nil
}

func newRootCmd(d *deps) *cobra.Command {
	g := &d.flags
	root := &cobra.Command{
		Use:           "wotr-tui",
		Short:         "Operations console for the WOTR event-ingest platform",
		Long:          "wotr-tui shows per-instance load, consumer lag, replication lag and pool utilization of the WOTR platform,\nand acts on it: scale, alter partitions, drain nodes, promote the secondary region, trigger backups.\nWith no arguments it opens the interactive console.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/wotr/config.yaml)")
	root.PersistentFlags().StringVar(&g.context, "context", "", "context to use (default: current-context of the config)")
	_ = root.RegisterFlagCompletionFunc("context", completeContexts(d))
	root.SetIn(d.in)
	root.SetOut(d.out)
	root.SetErr(d.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return withCode(ExitUsage, err) })
	root.AddCommand(
		newStatusCmd(d),
		newGetCmd(d),
		newScaleCmd(d),
		newPartitionsCmd(d),
		newDrainCmd(d),
		newCordonCmd(d, action.KindCordon, "Mark a node unschedulable"),
		newCordonCmd(d, action.KindUncordon, "Mark a node schedulable again"),
		newPromoteCmd(d),
		newBackupCmd(d),
		newBackupsCmd(d),
		newOffsetsCmd(d),
		newUndoCmd(d),
		newRestoreCmd(d),
		newAuditCmd(d),
		newRunbookCmd(d),
		newDemoCmd(d),
		newConfigCmd(d),
		newTUICmd(d),
	)
	addVersion(root, d)
	// no verb: open the interactive console (tui.go)
	rootTUI(root, d)
	return root
}

func run(args []string, d *deps) int {
	root := newRootCmd(d)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(d.errOut, "error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// cobra's own argument and unknown-command errors are usage errors.
	return ExitUsage
}

func main() { os.Exit(run(os.Args[1:], defaultDeps(os.Stdin, os.Stdout, os.Stderr))) }
