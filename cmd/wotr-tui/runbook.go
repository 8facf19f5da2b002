package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/backends/clickhouse"
	"github.com/wotr/wotr-tui/backends/haproxy"
	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/backends/postgres"
	"github.com/wotr/wotr-tui/backends/prom"
	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui"
	"github.com/wotr/wotr-tui/ui/common"
)

func init() { register(newRunbookCmd) }

// runbookDir is where runbooks override and extend the shipped ones: the
// runbooks/ directory next to the config file.
func runbookDir(g *globalFlags) string {
	path := g.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	return filepath.Join(filepath.Dir(path), "runbooks")
}

// runbookStateDir is where runs and reports go; tests replace it.
var runbookStateDir = runbook.StateDir

type runbookFlags struct {
	output  string
	yes     bool
	restart bool
	report  string
}

func (f *runbookFlags) validOutput() error {
	if f.output != "table" && f.output != "json" {
		return withCode(ExitUsage, fmt.Errorf("-o %q: output is table or json", f.output))
	}
	return nil
}

func newRunbookCmd(g *globalFlags, out, errOut io.Writer) *cobra.Command {
	f := &runbookFlags{}
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "List, show and run on-call runbooks (checklists and diagnoses)",
		Long: "Runbooks are the scaling guide's deployment checklists and troubleshooting sections as steps that run:\n" +
			"checks over the collected state, PromQL, SQL and Kubernetes queries, actions and manual steps.\n" +
			"Shipped runbooks are overridden and extended by YAML files in the runbooks/ directory next to the config.",
	}
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the runbooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validOutput(); err != nil {
				return err
			}
			rbs, err := runbook.LoadAll(runbookDir(g))
			if err != nil {
				return withCode(ExitUsage, err)
			}
			if f.output == "json" {
				type item struct {
					Name        string `json:"name"`
					Title       string `json:"title"`
					Kind        string `json:"kind"`
					Steps       int    `json:"steps"`
					Source      string `json:"source"`
					Description string `json:"description,omitempty"`
				}
				items := make([]item, 0, len(rbs))
				for _, rb := range rbs {
					items = append(items, item{rb.Name, rb.Title, rb.Kind, len(rb.Steps), rb.Source, rb.Description})
				}
				return writeJSON(out, items)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tSTEPS\tSOURCE\tTITLE")
			for _, rb := range rbs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", rb.Name, rb.Kind, len(rb.Steps), rb.Source, rb.Title)
			}
			return tw.Flush()
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a runbook's steps",
		Args:  exactArgs(1, "runbook show needs a NAME (see `wotr-tui runbook list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validOutput(); err != nil {
				return err
			}
			rb, err := findRunbook(g, args[0])
			if err != nil {
				return err
			}
			if f.output == "json" {
				return writeJSON(out, rb)
			}
			printRunbook(out, rb)
			return nil
		},
	}

	runCmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a runbook; the exit code is its worst step (0 pass/warn, 1 fail/error/pending, 3 refused)",
		Long: "Runs every step in order and writes a Markdown report with evidence and timestamps.\n" +
			"Actions ask for their confirmation phrase and manual steps to be ticked off on a terminal;\n" +
			"--yes confirms and acknowledges them in scripts. Without either, an action is refused and a\n" +
			"manual step stays pending. State is saved after every step: running the same runbook again\n" +
			"resumes after the last finished step (--restart starts over).",
		Args: exactArgs(1, "runbook run needs a NAME (see `wotr-tui runbook list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validOutput(); err != nil {
				return err
			}
			rb, err := findRunbook(g, args[0])
			if err != nil {
				return err
			}
			cc, err := loadContextConfig(g)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
			defer stop()
			env, closeEnv, err := newRunbookEnv(ctx, *cc)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			defer closeEnv()
			return runRunbook(ctx, env, rb, f, cmd.InOrStdin(), out, errOut)
		},
	}
	runCmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "confirm actions and acknowledge manual steps without prompting (scripts)")
	runCmd.Flags().BoolVar(&f.restart, "restart", false, "start over instead of resuming an interrupted run")
	runCmd.Flags().StringVar(&f.report, "report", "", "Markdown report path (default $XDG_STATE_HOME/wotr/reports/<runbook>-<time>.md)")

	cmd.AddCommand(list, show, runCmd)
	return cmd
}

func findRunbook(g *globalFlags, name string) (*runbook.Runbook, error) {
	rbs, err := runbook.LoadAll(runbookDir(g))
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	rb, err := runbook.Find(rbs, name)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return rb, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return withCode(ExitFailed, err)
	}
	return nil
}

// stepDetail is what a step runs, in one line.
func stepDetail(s runbook.Step) string {
	args := func() string {
		if len(s.Args) == 0 {
			return ""
		}
		keys := make([]string, 0, len(s.Args))
		for k := range s.Args {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+s.Args[k])
		}
		return " (" + strings.Join(parts, ", ") + ")"
	}
	switch {
	case s.Check != "":
		return s.Check + args()
	case s.PromQL != "":
		return s.PromQL + "  expect " + s.Expect
	case s.SQL != nil:
		return s.SQL.Store + ": " + strings.Join(strings.Fields(s.SQL.Query), " ") + "  expect " + s.Expect
	case s.Kube != nil:
		d := s.Kube.Resource + "/" + s.Kube.Name + " " + s.Kube.Path
		if s.Expect != "" {
			d += "  expect " + s.Expect
		}
		return d
	case s.Action != nil:
		d := string(s.Action.Kind) + " " + s.Action.Target
		for k, v := range s.Action.Params {
			d += " " + k + "=" + v
		}
		return d
	case s.Manual != "":
		return s.Manual
	}
	return ""
}

func printRunbook(w io.Writer, rb *runbook.Runbook) {
	fmt.Fprintf(w, "%s (%s, %s)\n", rb.Title, rb.Kind, rb.Source)
	if rb.Description != "" {
		fmt.Fprintln(w, rb.Description)
	}
	fmt.Fprintln(w)
	for i, s := range rb.Steps {
		fmt.Fprintf(w, "%2d. %-7s %s  [%s]\n", i+1, s.Kind(), s.Title, s.ID)
		fmt.Fprintf(w, "             %s\n", stepDetail(s))
		if s.Severity == "warn" {
			fmt.Fprintln(w, "             severity: warn")
		}
		if s.Cause != "" {
			fmt.Fprintf(w, "             cause: %s\n", s.Cause)
		}
		if s.Fix != "" {
			fmt.Fprintf(w, "             fix: %s\n", s.Fix)
		}
	}
}

// runbookOutput is the -o json document of `runbook run`.
type runbookOutput struct {
	Runbook string            `json:"runbook"`
	Kind    string            `json:"kind"`
	Resumed bool              `json:"resumed"`
	Run     *runbook.RunState `json:"run"`
	Report  string            `json:"report"`
	Error   string            `json:"error,omitempty"`
	Exit    int               `json:"exitCode"`
}

// runRunbook runs rb in env with the CLI's prompts, progress lines, state
// and report.
func runRunbook(ctx context.Context, env runbook.Env, rb *runbook.Runbook, f *runbookFlags, in io.Reader, out, errOut io.Writer) error {
	jsonOut := f.output == "json"
	progressOut := out
	if jsonOut {
		progressOut = errOut // stdout carries only the JSON document
	}
	stateDir := runbookStateDir()
	statePath := runbook.RunStatePath(stateDir, env.Context, rb.Name)
	var resume *runbook.RunState
	if f.restart {
		if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return withCode(ExitFailed, err)
		}
	} else {
		st, err := runbook.LoadRunState(statePath, rb)
		if err != nil {
			return withCode(ExitFailed, err)
		}
		resume = st
	}
	if resume != nil {
		fmt.Fprintf(progressOut, "resuming %s started %s: %d of %d steps done (--restart to start over)\n",
			rb.Name, resume.Started.Local().Format(time.DateTime), len(resume.Steps), len(rb.Steps))
	} else {
		fmt.Fprintf(progressOut, "running %s on context %s: %d steps\n", rb.Name, env.Context, len(rb.Steps))
	}

	env.AssumeYes = f.yes
	if !f.yes && stdinIsTerminal(in) {
		reader := bufio.NewReader(in)
		env.Confirm = func(plan *action.Plan) (string, error) {
			printPlan(progressOut, plan)
			fmt.Fprintf(errOut, "Type %q to proceed: ", plan.ConfirmPhrase)
			line, err := reader.ReadString('\n')
			if err != nil {
				return "", err
			}
			return strings.TrimSpace(line), nil
		}
		env.Ack = func(s runbook.Step) (bool, error) {
			fmt.Fprintf(progressOut, "\n  %s\n  %s\n", s.Title, s.Manual)
			fmt.Fprint(errOut, "  Done? [y/N] ")
			line, err := reader.ReadString('\n')
			if err != nil {
				return false, err
			}
			a := strings.ToLower(strings.TrimSpace(line))
			return a == "y" || a == "yes", nil
		}
	}
	done := 0
	if resume != nil {
		done = len(resume.Steps)
	}
	env.Progress = func(r runbook.StepResult) {
		done++
		fmt.Fprintf(progressOut, "[%d/%d] %-7s %s: %s (%s)\n", done, len(rb.Steps), strings.ToUpper(string(r.Status)), r.Title, r.Summary,
			r.Finished.Sub(r.Started).Round(time.Millisecond))
		if r.Status != runbook.StepPass {
			for _, e := range r.Evidence {
				fmt.Fprintf(progressOut, "          %s\n", e)
			}
		}
	}

	st, runErr := runbook.Run(ctx, env, rb, resume, statePath)
	reportPath := f.report
	if reportPath == "" {
		reportPath = runbook.ReportPath(stateDir, rb.Name, st.Started)
	}
	if err := runbook.WriteReport(reportPath, rb, st); err != nil {
		return withCode(ExitFailed, err)
	}

	code := st.Worst.ExitCode()
	var err error
	switch {
	case runErr != nil && ctx.Err() != nil:
		code, err = ExitFailed, fmt.Errorf("interrupted after %d of %d steps: run it again to resume", len(st.Steps), len(rb.Steps))
	case runErr != nil:
		code, err = ExitFailed, runErr
	case !st.Done(rb) || st.Finished.IsZero():
		if code == ExitOK {
			code = ExitFailed
		}
		err = fmt.Errorf("%s stopped at step %d of %d (%s): run it again to resume", rb.Name, len(st.Steps), len(rb.Steps), st.Worst)
	case code != ExitOK:
		err = fmt.Errorf("%s: %s", rb.Name, st.Worst)
	}
	if jsonOut {
		doc := runbookOutput{Runbook: rb.Name, Kind: rb.Kind, Resumed: resume != nil, Run: st, Report: reportPath, Exit: code}
		if err != nil {
			doc.Error = err.Error()
		}
		if jerr := writeJSON(out, doc); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintf(out, "\nresult: %s", strings.ToUpper(string(st.Worst)))
		if rb.Kind == runbook.RunbookDiagnosis {
			if len(st.Diagnosis) == 0 {
				fmt.Fprint(out, " - no cause found")
			} else {
				fmt.Fprint(out, "\nlikely causes:")
				for _, d := range st.Diagnosis {
					fmt.Fprintf(out, "\n  - %s", d)
				}
			}
		}
		fmt.Fprintf(out, "\nreport: %s\n", reportPath)
	}
	return withCode(code, err)
}

// newRunbookEnv opens what runbook steps read for a context: the collector
// (one fresh snapshot per Collect) and, from the primary region, Prometheus,
// PostgreSQL, ClickHouse, Kubernetes and HAProxy; actions go through the
// action service. Missing endpoints leave their steps erroring with "not configured".
func newRunbookEnv(ctx context.Context, cc config.ContextConfig) (runbook.Env, func(), error) {
	env := runbook.Env{Context: cc.Name, SQL: map[string]runbook.SQLQuerier{}}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (runbook.Env, func(), error) {
		closeAll()
		return runbook.Env{}, func() {}, err
	}
	col, closeSources, err := wire.NewCollector(ctx, cc, collect.Options{})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, closeSources)
	env.Collect = collectFunc(col)

	// Every region's stores by name; "postgres" follows the writable one.
	var pgs []*postgres.Client
	for _, r := range regionsPrimaryFirst(cc) {
		if r.Postgres != nil {
			p, err := postgres.New(ctx, *r.Postgres, r.Name)
			if err != nil {
				return fail(err)
			}
			closers = append(closers, p.Close)
			env.SQL["postgres@"+r.Name] = p
			pgs = append(pgs, p)
		}
		if r.ClickHouse != nil {
			c, err := clickhouse.New(*r.ClickHouse)
			if err != nil {
				return fail(err)
			}
			closers = append(closers, c.Close)
			env.SQL["clickhouse@"+r.Name] = c
			if env.SQL["clickhouse"] == nil {
				env.SQL["clickhouse"] = c
			}
		}
	}
	if len(pgs) > 0 {
		env.SQL["postgres"] = writablePostgres(pgs)
	}
	primary := primaryRegion(cc)
	if primary != nil {
		if primary.Prometheus != nil {
			p, err := prom.New(*primary.Prometheus)
			if err != nil {
				return fail(err)
			}
			env.Prom = p
		}
		if primary.Kube != nil {
			k, err := kube.New(*primary.Kube)
			if err != nil {
				return fail(err)
			}
			env.Kube = k
		}
		if primary.HAProxy != nil {
			h, err := haproxy.New(*primary.HAProxy)
			if err != nil {
				return fail(err)
			}
			env.LB = h
		}
	}
	if !cc.ReadOnly {
		svc := newActionService(cc)
		closers = append(closers, svc.Close)
		env.Actor = svc
	}
	return env, closeAll, nil
}

// collectFunc takes one fresh snapshot per call. Without Prometheus, rates
// come from two scrapes of /metrics: the first call scrapes twice, a second apart.
func collectFunc(col *collect.Collector) func(ctx context.Context) (state.Snapshot, error) {
	scraping := false
	for _, s := range col.Sources() {
		if strings.HasPrefix(s, "metrics-scrape") {
			scraping = true
		}
	}
	primed := false
	return func(ctx context.Context) (state.Snapshot, error) {
		if scraping && !primed {
			col.CollectOnce(ctx)
			select {
			case <-ctx.Done():
				return state.Snapshot{}, ctx.Err()
			case <-time.After(time.Second):
			}
			primed = true
		}
		snap := col.CollectOnce(ctx)
		return snap, ctx.Err()
	}
}

// writablePostgres runs a query on the first server (configured primary
// first) that is not in recovery: after a promotion, the new primary.
type writablePostgres []*postgres.Client

func (w writablePostgres) QueryRows(ctx context.Context, query string) ([]string, [][]string, error) {
	for _, c := range w {
		if _, rows, err := c.QueryRows(ctx, "select pg_is_in_recovery()"); err == nil && len(rows) == 1 && rows[0][0] == "f" {
			return c.QueryRows(ctx, query)
		}
	}
	return w[0].QueryRows(ctx, query)
}

func regionsPrimaryFirst(cc config.ContextConfig) []config.RegionConfig {
	out := append([]config.RegionConfig(nil), cc.Regions...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Role == "primary" && out[j].Role != "primary" })
	return out
}

// primaryRegion is the region configured as primary, else the first one.
func primaryRegion(cc config.ContextConfig) *config.RegionConfig {
	for i := range cc.Regions {
		if cc.Regions[i].Role == "primary" {
			return &cc.Regions[i]
		}
	}
	if len(cc.Regions) > 0 {
		return &cc.Regions[0]
	}
	return nil
}

// consoleRunbookRunner runs runbooks step by step in the console, with the
// same state and reports as `runbook run`; what steps read is opened on the
// first step. The returned func closes it.
func consoleRunbookRunner(ctx context.Context, g *globalFlags, cc config.ContextConfig, readOnly bool) (common.RunbookRunner, func()) {
	var closeEnv func()
	load := func() ([]*runbook.Runbook, error) { return runbook.LoadAll(runbookDir(g)) }
	open := func(context.Context) (runbook.Env, error) {
		if readOnly {
			cc.ReadOnly = true // no actor: action steps report "not available"
		}
		env, c, err := newRunbookEnv(ctx, cc)
		closeEnv = c
		return env, err
	}
	return ui.RunbookRunnerFromOps(cc.Name, runbookStateDir(), load, open), func() {
		if closeEnv != nil {
			closeEnv()
		}
	}
}
