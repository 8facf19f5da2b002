package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
)

// runbookDir is where runbooks override and extend the shipped ones: the
// runbooks/ directory next to the config file.
func runbookDir(d *deps) string {
	path := d.flags.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	return filepath.Join(filepath.Dir(path), "runbooks")
}

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

func newRunbookCmd(d *deps) *cobra.Command {
	out := d.out
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
			rbs, err := runbook.LoadAll(runbookDir(d))
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
		Use:               "show NAME",
		Short:             "Show a runbook's steps",
		ValidArgsFunction: completeRunbooks(d),
		Args:              exactArgs(1, "runbook show needs a NAME (see `wotr-tui runbook list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validOutput(); err != nil {
				return err
			}
			rb, err := findRunbook(d, args[0])
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
		ValidArgsFunction: completeRunbooks(d),
		Args:              exactArgs(1, "runbook run needs a NAME (see `wotr-tui runbook list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validOutput(); err != nil {
				return err
			}
			rb, err := findRunbook(d, args[0])
			if err != nil {
				return err
			}
			s, err := d.session(cmd)
			if err != nil {
				return err
			}
			defer s.close()
			env, err := s.platform.RunbookEnv()
			if err != nil {
				return withCode(ExitUsage, err)
			}
			return runRunbook(s.ctx, runbook.NewService(env, d.stateDir()), env.Context, rb, f, d)
		},
	}
	runCmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "confirm actions and acknowledge manual steps without prompting (scripts)")
	runCmd.Flags().BoolVar(&f.restart, "restart", false, "start over instead of resuming an interrupted run")
	runCmd.Flags().StringVar(&f.report, "report", "", "Markdown report path (default $XDG_STATE_HOME/wotr/reports/<runbook>-<time>.md)")

	cmd.AddCommand(list, show, runCmd)
	return cmd
}

func findRunbook(d *deps, name string) (*runbook.Runbook, error) {
	rbs, err := runbook.LoadAll(runbookDir(d))
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

// runRunbook runs rb with the CLI's prompts and progress lines; the service
// saves the state after every step and writes the report.
func runRunbook(ctx context.Context, svc *runbook.Service, contextName string, rb *runbook.Runbook, f *runbookFlags, d *deps) error {
	in, out, errOut := d.in, d.out, d.errOut
	jsonOut := f.output == "json"
	progressOut := out
	if jsonOut {
		progressOut = errOut // stdout carries only the JSON document
	}
	open := svc.Open
	if f.restart {
		open = svc.Restart
	}
	run, openErr := open(rb)
	if openErr != nil {
		return withCode(ExitFailed, openErr)
	}
	run.Report = f.report
	resume := run.State
	if resume != nil {
		fmt.Fprintf(progressOut, "resuming %s started %s: %d of %d steps done (--restart to start over)\n",
			rb.Name, resume.Started.Local().Format(time.DateTime), len(resume.Steps), len(rb.Steps))
	} else {
		fmt.Fprintf(progressOut, "running %s on context %s: %d steps\n", rb.Name, contextName, len(rb.Steps))
	}

	op := runbook.Operator{AssumeYes: f.yes}
	if !f.yes && d.isTerminal(in) {
		reader := bufio.NewReader(in)
		op.Confirm = func(plan *action.Plan) (string, error) {
			printPlan(progressOut, plan)
			fmt.Fprintf(errOut, "Type %q to proceed: ", plan.ConfirmPhrase)
			line, err := reader.ReadString('\n')
			if err != nil {
				return "", err
			}
			return strings.TrimSpace(line), nil
		}
		op.Ack = func(s runbook.Step) (bool, error) {
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
	op.Progress = func(r runbook.StepResult) {
		done++
		fmt.Fprintf(progressOut, "[%d/%d] %-7s %s: %s (%s)\n", done, len(rb.Steps), strings.ToUpper(string(r.Status)), r.Title, r.Summary,
			r.Finished.Sub(r.Started).Round(time.Millisecond))
		if r.Status != runbook.StepPass {
			for _, e := range r.Evidence {
				fmt.Fprintf(progressOut, "          %s\n", e)
			}
		}
	}

	runErr := svc.RunAll(ctx, run, op)
	var reportErr *runbook.ReportError
	if errors.As(runErr, &reportErr) {
		return withCode(ExitFailed, reportErr)
	}
	st, reportPath := run.State, svc.ReportPath(run)

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
		doc := runbookOutput{Runbook: rb.Name, Kind: rb.Kind, Resumed: run.Resumed, Run: st, Report: reportPath, Exit: code}
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
				for _, cause := range st.Diagnosis {
					fmt.Fprintf(out, "\n  - %s", cause)
				}
			}
		}
		fmt.Fprintf(out, "\nreport: %s\n", reportPath)
	}
	return withCode(code, err)
}
