package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/platform/demo"
)

// demoFlags of `wotr-tui demo`.
type demoFlags struct {
	noTUI       bool
	output      string
	binDir      string
	controlAddr string
	noLoad      bool
	rate        float64
	mode        string
	skew        float64
	keepDir     bool
}

func (f *demoFlags) validate() (demo.LoadSettings, error) {
	if f.output != "table" && f.output != "json" {
		return demo.LoadSettings{}, fmt.Errorf("output %q: must be table or json", f.output)
	}
	if f.output == "json" && !f.noTUI {
		return demo.LoadSettings{}, errors.New("-o json prints the endpoints for scripts: use it with --no-tui")
	}
	s := demo.DefaultLoadSettings()
	s.Rate, s.Mode, s.Skew = f.rate, f.mode, f.skew
	if err := s.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

const demoLong = `Start the whole WOTR platform on this machine and open the console on it.

platform/local starts Kafka, the Kubernetes control plane with kwok nodes in two
regions, PostgreSQL primary and standby, Redis primary and replica, ClickHouse,
Prometheus and HAProxy. The wotr-api (3 replicas) and wotr-consumer (5) Deployments,
their HPA, PDBs and Services are created in namespace wotr; every Running pod is one
real local process, so scaling, draining and env changes made through Kubernetes
change the real processes, the consumer group, Prometheus' targets and HAProxy's
backends. A load generator sends events through HAProxy.

The demo writes the context "demo" into the config (other contexts are kept) with
regions primary and secondary. Ctrl-C (or q in the console, or q + Enter with
--no-tui) stops everything and leaves no process behind.

` + demo.ControlHelp

// defaultDemoFlags are `wotr-tui demo` with no flags (the first-run
// screen's demo choice).
func defaultDemoFlags() *demoFlags {
	return &demoFlags{output: "table", controlAddr: "127.0.0.1:0", rate: demo.DefaultLoadSettings().Rate, mode: demo.ModeSteady}
}

func newDemoCmd(d *deps) *cobra.Command {
	f := &demoFlags{}
	def := defaultDemoFlags()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole platform locally under load and open the console on it",
		Long:  demoLong,
		Example: `  wotr-tui demo                       # start, then open the console
  wotr-tui demo --no-tui -o json      # headless; endpoints as JSON for scripts
  wotr-tui demo --no-tui -o json > demo.json &   # keeps running; endpoints in demo.json
  curl -X POST "$(jq -r .control_url demo.json)/load?rate=2000"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), d, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.noTUI, "no-tui", false, "run headless until interrupted; print the context and every endpoint")
	fl.StringVarP(&f.output, "output", "o", def.output, "endpoint format with --no-tui: table or json")
	fl.StringVar(&f.binDir, "bin-dir", "", "directory of wotr-api and wotr-consumer (default: next to wotr-tui, then ./bin)")
	fl.StringVar(&f.controlAddr, "control-addr", def.controlAddr, "listen address of the load control endpoint")
	fl.BoolVar(&f.noLoad, "no-load", false, "start no load generator")
	fl.Float64Var(&f.rate, "rate", def.rate, "events per second at start (peak in daily mode)")
	fl.StringVar(&f.mode, "mode", def.mode, "load mode: steady or daily")
	fl.Float64Var(&f.skew, "skew", 0, "load skew over sources and partitions, 0 (even) to 1 (one hot key)")
	fl.BoolVar(&f.keepDir, "keep-dir", false, "keep the platform's temp dir (logs, data) after stopping")
	return cmd
}

func runDemo(ctx context.Context, d *deps, f *demoFlags) error {
	in, out, errOut := d.in, d.out, d.errOut
	if ctx == nil {
		ctx = context.Background()
	}
	settings, err := f.validate()
	if err != nil {
		return withCode(ExitUsage, err)
	}
	interactive := d.isTerminal(in) && d.isTerminal(out)
	if !f.noTUI && !interactive {
		return withCode(ExitUsage, errors.New("the console needs a terminal on stdin and stdout: use --no-tui in scripts"))
	}
	opts := demo.Options{BinDir: f.binDir, ConfigPath: d.flags.configPath, ControlAddr: f.controlAddr, NoLoad: f.noLoad, Load: &settings}
	opts.Local.KeepDir = f.keepDir
	if missing := d.missingDeps(opts.Local); len(missing) > 0 {
		var lines []string
		for _, m := range missing {
			lines = append(lines, "  "+m.String())
		}
		return withCode(ExitFailed, fmt.Errorf("missing parts of the local platform (run `make demo`, which installs and builds them):\n%s", strings.Join(lines, "\n")))
	}
	logPath, logClose, err := demoLogger(&opts)
	if err != nil {
		return withCode(ExitFailed, err)
	}
	defer logClose()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	t0 := time.Now()
	fmt.Fprintf(errOut, "starting the demo (log: %s)\n", logPath)
	opts.Progress = func(step string, took time.Duration) {
		if took > 0 {
			fmt.Fprintf(errOut, "  ✓ %-58s %5.1fs\n", step, took.Seconds())
		} else {
			fmt.Fprintf(errOut, "  ✓ %s\n", step)
		}
	}
	dm, err := d.startDemo(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return withCode(ExitFailed, fmt.Errorf("demo interrupted while starting: %w", err))
		}
		return withCode(ExitFailed, fmt.Errorf("demo: %w (log: %s)", err, logPath))
	}
	defer func() {
		t1 := time.Now()
		fmt.Fprintln(errOut, "stopping the demo ...")
		pids := dm.PIDs()
		if err := dm.Stop(); err != nil {
			fmt.Fprintf(errOut, "stop: %v\n", err)
		}
		if left := alivePIDs(pids); len(left) > 0 {
			fmt.Fprintf(errOut, "demo stopped in %.1fs; processes still alive: %v\n", time.Since(t1).Seconds(), left)
			return
		}
		fmt.Fprintf(errOut, "demo stopped in %.1fs; none of its %d processes is left\n", time.Since(t1).Seconds(), len(pids))
	}()
	fmt.Fprintf(errOut, "demo ready in %.1fs\n", time.Since(t0).Seconds())

	if f.noTUI {
		if err := printEndpoints(out, f.output, dm.Endpoints); err != nil {
			return withCode(ExitFailed, err)
		}
		// Reading q needs only a terminal on stdin: stdout may go to a file or tee.
		readQuit := d.isTerminal(in)
		if readQuit {
			fmt.Fprintln(errOut, "press q and Enter, or Ctrl-C, to stop")
		}
		waitForQuit(ctx, in, readQuit)
		return nil
	}
	// The console opens the demo's own context.
	td := *d
	td.flags = globalFlags{configPath: dm.Endpoints.ConfigPath, context: demo.ContextName}
	return runTUI(ctx, &td, &tuiFlags{})
}

// alivePIDs are the pids that still exist in /proc.
func alivePIDs(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// waitForQuit returns on interrupt, or on a "q" line when stdin is a terminal.
func waitForQuit(ctx context.Context, in io.Reader, readQuit bool) {
	quit := make(chan struct{})
	if readQuit && in != nil {
		go func() {
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				if strings.EqualFold(strings.TrimSpace(sc.Text()), "q") {
					close(quit)
					return
				}
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-quit:
	}
}

// demoLogger sends the demo's logs to a file: the console owns the terminal.
func demoLogger(opts *demo.Options) (string, func(), error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "wotr-tui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "demo.log")
	// Appended, so that two demos running at once do not wipe each other's
	// lines; started afresh once it grows past 10 MiB.
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if st, err := os.Stat(path); err == nil && st.Size() > 10<<20 {
		flags |= os.O_TRUNC
	}
	fh, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return "", nil, err
	}
	log := slog.New(slog.NewTextHandler(fh, &slog.HandlerOptions{Level: slog.LevelInfo})).With("demo_pid", os.Getpid())
	opts.Logger = log
	opts.Local.Logger = log
	return path, func() { fh.Close() }, nil
}

// printEndpoints writes the demo's endpoints as a table or JSON (the stable
// format: demo.Endpoints' field tags).
func printEndpoints(w io.Writer, format string, e demo.Endpoints) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	ctx := e.Context
	if e.ConfigPath != "" {
		ctx += " (in " + e.ConfigPath + ")"
	}
	row("context", ctx)
	row("kubeconfig", fmt.Sprintf("%s (context %s, namespace %s)", e.Kubeconfig, e.KubeContext, e.Namespace))
	row("kafka", strings.Join(e.Kafka, ","))
	row("prometheus", e.Prometheus)
	for _, r := range []string{demo.RegionPrimary, demo.RegionSecondary} {
		re := e.Regions[r]
		if re.KubeContext != "" && re.Kubeconfig != e.Kubeconfig {
			row("kubeconfig "+r, fmt.Sprintf("%s (context %s, namespace %s)", re.Kubeconfig, re.KubeContext, e.Namespace))
		}
		row("postgres "+r, re.Postgres)
		row("redis "+r, re.Redis)
	}
	row("clickhouse", strings.Join(e.ClickHouse, ","))
	if e.HAProxy != nil {
		row("haproxy", fmt.Sprintf("frontend http://%s, runtime socket %s", e.HAProxy.Frontend, e.HAProxy.Socket))
	}
	row("load control", e.Control)
	row("pod logs", e.LogDir)
	return tw.Flush()
}
