package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui"
)

// consoleBackends connects the console to a context's platform: the
// collector (run until ctx ends) and the action service. The file that wires
// the backends sets it; until then the console opens without live data and
// without actions, and says so.
var consoleBackends func(ctx context.Context, cfg config.ContextConfig) (src ui.StateSource, actor action.Actor, err error)

// tuiFlags of the console.
type tuiFlags struct {
	readOnly bool
}

func init() {
	register(func(g *globalFlags, out, errOut io.Writer) *cobra.Command {
		f := &tuiFlags{}
		cmd := &cobra.Command{
			Use:    "tui",
			Short:  "Open the interactive console (the default with no verb)",
			Hidden: true,
			Args:   cobra.NoArgs,
			RunE:   func(cmd *cobra.Command, args []string) error { return runTUI(cmd.Context(), g, f, out) },
		}
		cmd.Flags().BoolVar(&f.readOnly, "read-only", false, "show state only: no action can be started")
		return cmd
	})
}

// rootTUI makes the root command open the console when no verb is given.
func rootTUI(root *cobra.Command, g *globalFlags, out io.Writer) {
	f := &tuiFlags{}
	root.Flags().BoolVar(&f.readOnly, "read-only", false, "open the console without actions")
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, args []string) error { return runTUI(cmd.Context(), g, f, out) }
}

func runTUI(ctx context.Context, g *globalFlags, f *tuiFlags, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
		return withCode(ExitUsage, errors.New("the console needs a terminal on stdin and stdout; use a verb (see --help) in scripts"))
	}
	cfg, err := config.Load(g.configPath)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	cc, err := cfg.Context(g.context)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	opts := ui.Options{
		Context:  cc.Name,
		ReadOnly: f.readOnly || cc.ReadOnly,
		Audit:    ui.AuditFromOps(audit.NewLog(audit.PathFor(*cc))),
		Runbooks: ui.RunbooksFromOps(func() ([]*runbook.Runbook, error) {
			return runbook.LoadAll(runbookDir(g))
		}),
	}
	runner, closeRunner := consoleRunbookRunner(ctx, g, *cc, opts.ReadOnly)
	defer closeRunner()
	opts.Runner = runner
	if consoleBackends != nil {
		src, actor, err := consoleBackends(ctx, *cc)
		if err != nil {
			return withCode(ExitFailed, err)
		}
		opts.Source, opts.Actor = src, actor
	}
	if err := ui.Run(ctx, opts, os.Stdin, out); err != nil && !errors.Is(err, context.Canceled) {
		return withCode(ExitFailed, err)
	}
	return nil
}
