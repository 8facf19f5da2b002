package main

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui"
)

// tuiFlags of the console.
type tuiFlags struct {
	readOnly bool
}

func newTUICmd(d *deps) *cobra.Command {
	f := &tuiFlags{}
	cmd := &cobra.Command{
		Use:    "tui",
		Short:  "Open the interactive console (the default with no verb)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(cmd *cobra.Command, args []string) error { return runTUI(cmd.Context(), d, f) },
	}
	cmd.Flags().BoolVar(&f.readOnly, "read-only", false, "show state only: no action can be started")
	return cmd
}

// rootTUI makes the root command open the console when no verb is given.
func rootTUI(root *cobra.Command, d *deps) {
	f := &tuiFlags{}
	root.Flags().BoolVar(&f.readOnly, "read-only", false, "open the console without actions")
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, args []string) error { return runTUI(cmd.Context(), d, f) }
}

// runTUI opens the console on the context's platform: a collector over every
// source, polling until the console quits, the action service, and the
// runbooks, all over one set of clients.
func runTUI(ctx context.Context, d *deps, f *tuiFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !d.isTerminal(d.in) || !d.isTerminal(d.out) {
		return withCode(ExitUsage, errors.New("the console needs a terminal on stdin and stdout; use a verb (see --help) in scripts"))
	}
	// :ctx quits the console on one context and opens it on the next, with
	// its own collector, actions and runbooks.
	for {
		next, err := runConsole(ctx, d, f)
		if err != nil || next == "" {
			return err
		}
		d.flags.context = next
	}
}

// consoleContexts are the config's contexts for :ctx (none when the config
// cannot be read: the console then offers no switch).
func consoleContexts(d *deps) []ui.ContextInfo {
	cfg, err := config.Load(d.flags.configPath)
	if err != nil {
		return nil
	}
	out := make([]ui.ContextInfo, 0, len(cfg.Contexts))
	for _, c := range cfg.Contexts {
		out = append(out, ui.ContextInfo{Name: c.Name, ReadOnly: c.ReadOnly})
	}
	return out
}

// runConsole runs the console on one context; it returns the context :ctx
// switched to, or "" when the operator quit.
func runConsole(ctx context.Context, d *deps, f *tuiFlags) (string, error) {
	cc, err := d.contextConfig()
	if err != nil {
		return "", withCode(ExitUsage, err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	// --read-only makes the context read-only, so the action service (the
	// one chokepoint) refuses every action, whichever key or step asks.
	readOnly := f.readOnly || cc.ReadOnly
	cc.ReadOnly = readOnly
	platform := d.open(ctx, *cc)
	col, err := platform.Collector(collect.Options{Context: cc.Name})
	if err != nil {
		platform.Close()
		return "", withCode(ExitFailed, err)
	}
	env, err := platform.RunbookEnv()
	if err != nil {
		platform.Close()
		return "", withCode(ExitFailed, err)
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		_ = col.Run(pollCtx)
	}()
	// The clients close once nothing polls them any more.
	defer func() {
		stopPolling()
		<-polled
		platform.Close()
	}()
	next := ""
	load := func() ([]*runbook.Runbook, error) { return runbook.LoadAll(runbookDir(d)) }
	th := cc.Health()
	opts := ui.Options{
		Context:    cc.Name,
		Thresholds: &th,
		ReadOnly:   readOnly,
		Audit:      ui.AuditFromOps(audit.NewLog(audit.PathFor(*cc))),
		Runbooks:   ui.RunbooksFromOps(load),
		Runner:     ui.RunbookRunnerFromOps(runbook.NewService(env, d.stateDir()), load),
		Source:     col,
		Actor:      platform.Actions(),
		// logs and events: the platform's clusters
		Inspect:     platform.Inspector(),
		HeaderColor: cc.HeaderColor,
		Contexts:    consoleContexts(d),
		// the next context opens once this one's clients are closed
		SwitchContext: func(name string) { next = name },
	}
	if err := ui.Run(ctx, opts, d.in, d.out); err != nil && !errors.Is(err, context.Canceled) {
		return "", withCode(ExitFailed, err)
	}
	return next, nil
}
