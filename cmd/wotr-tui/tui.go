package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/backends/kube"
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
// runbooks, all over one set of clients. :ctx opens another context inside
// the same program; with no config at all it opens the first-run screen.
func runTUI(ctx context.Context, d *deps, f *tuiFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !d.isTerminal(d.in) || !d.isTerminal(d.out) {
		return withCode(ExitUsage, errors.New("the console needs a terminal on stdin and stdout; use a verb (see --help) in scripts"))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	opts, err := openConsole(ctx, d, f, d.flags.context)
	if config.IsNoConfig(err) {
		return runFirstRun(ctx, d, func(_ context.Context, name string) (ui.Options, error) { return openConsole(ctx, d, f, name) })
	}
	if err != nil {
		return err
	}
	if err := ui.Run(ctx, opts, d.in, d.out); err != nil && !errors.Is(err, context.Canceled) {
		return withCode(ExitFailed, err)
	}
	return nil
}

// runFirstRun is the console without a config: the first-run screen, whose
// form is config init; choosing the demo starts it once the screen is gone.
func runFirstRun(ctx context.Context, d *deps, open ui.OpenFunc) error {
	path := d.flags.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	d.flags.configPath = path // the context the form writes is opened from there
	startDemo := false
	opts := ui.Options{
		OpenContext: open,
		FirstRun: &ui.FirstRun{
			ConfigPath: path,
			Demo:       func() { startDemo = true },
			Init: func(ctx context.Context, r ui.InitRequest) (ui.InitReport, error) {
				f := &initFlags{name: r.Name, kubeconfig: r.Kubeconfig, kubeContext: r.KubeContext, namespace: r.Namespace}
				checks, err := initContext(ctx, path, f)
				if checks == nil {
					return ui.InitReport{}, err
				}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				writeChecks(tw, checks)
				_ = tw.Flush()
				return ui.InitReport{Context: f.name, Lines: strings.Split(strings.TrimRight(b.String(), "\n"), "\n")}, err
			},
		},
	}
	if err := ui.Run(ctx, opts, d.in, d.out); err != nil && !errors.Is(err, context.Canceled) {
		return withCode(ExitFailed, err)
	}
	if startDemo {
		return runDemo(ctx, d, defaultDemoFlags())
	}
	return nil
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
		ci := ui.ContextInfo{Name: c.Name, ReadOnly: c.ReadOnly}
		for _, r := range c.RegionsPrimaryFirst() {
			ci.Regions = append(ci.Regions, r.Name)
			kube := ""
			if r.Kube != nil {
				kube = r.Kube.Context
			}
			ci.KubeContexts = append(ci.KubeContexts, kube)
		}
		out = append(out, ci)
	}
	return out
}

// probeContext is the :ctx view's REACHABLE: the primary region's
// apiserver answers /version, or (without a cluster) its first Kafka
// broker accepts a connection. The view bounds ctx.
func probeContext(d *deps) func(ctx context.Context, name string) error {
	return func(ctx context.Context, name string) error {
		cc, err := d.loadContext(d.flags.configPath, name)
		if err != nil {
			return err
		}
		regions := cc.RegionsPrimaryFirst()
		if len(regions) == 0 {
			return errors.New("no regions")
		}
		r := regions[0]
		switch {
		case r.Kube != nil:
			kc, err := kube.New(*r.Kube)
			if err != nil {
				return err
			}
			return kc.Clientset.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error()
		case r.Kafka != nil && len(r.Kafka.Brokers) > 0:
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.Kafka.Brokers[0])
			if err == nil {
				conn.Close()
			}
			return err
		}
		return errors.New("no cluster or Kafka to check")
	}
}

// openConsole opens the console's options on one context (name "" is the
// config's current one): the clients, the collector polling until Close,
// the actions and the runbooks.
func openConsole(ctx context.Context, d *deps, f *tuiFlags, name string) (ui.Options, error) {
	cc, err := d.loadContext(d.flags.configPath, name)
	if config.IsNoConfig(err) {
		return ui.Options{}, err
	}
	if err != nil {
		return ui.Options{}, withCode(ExitUsage, err)
	}
	// --read-only makes the context read-only, so the action service (the
	// one chokepoint) refuses every action, whichever key or step asks.
	readOnly := f.readOnly || cc.ReadOnly
	cc.ReadOnly = readOnly
	platform := d.open(ctx, *cc)
	col, err := platform.Collector(collect.Options{Context: cc.Name})
	if err != nil {
		platform.Close()
		return ui.Options{}, withCode(ExitFailed, err)
	}
	env, err := platform.RunbookEnv()
	if err != nil {
		platform.Close()
		return ui.Options{}, withCode(ExitFailed, err)
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		_ = col.Run(pollCtx)
	}()
	load := func() ([]*runbook.Runbook, error) { return runbook.LoadAll(runbookDir(d)) }
	th := cc.Health()
	return ui.Options{
		Context:    cc.Name,
		Thresholds: &th,
		ReadOnly:   readOnly,
		Audit:      ui.AuditFromOps(audit.NewLog(audit.PathFor(*cc))),
		Runbooks:   ui.RunbooksFromOps(load),
		Runner:     ui.RunbookRunnerFromOps(runbook.NewService(env, d.stateDir()), load),
		Source:     col,
		Actor:      platform.Actions(),
		// logs and events: the platform's clusters
		Inspect:      platform.Inspector(),
		HeaderColor:  cc.HeaderColor,
		Contexts:     consoleContexts(d),
		ProbeContext: probeContext(d),
		// :ctx opens the next context the same way, inside the program
		OpenContext: func(_ context.Context, name string) (ui.Options, error) { return openConsole(ctx, d, f, name) },
		// the clients close once nothing polls them any more (ui.Run calls
		// it after the console's actions returned)
		Close: func() {
			stopPolling()
			<-polled
			platform.Close()
		},
	}, nil
}
