package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/present"
)

// actionFlags are common to every action verb.
type actionFlags struct {
	dryRun  bool
	yes     bool
	output  string
	force   bool
	reason  string
	confirm string
}

func (f *actionFlags) bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "plan and validate only (server-side dry run on Kubernetes); nothing changes")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "confirm without prompting (scripts)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&f.force, "force", false, "override failed preflight checks (needs --reason; audited)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why --force is used (written to the audit log)")
	cmd.Flags().StringVar(&f.confirm, "confirm", "", "the confirmation phrase, typed in advance (promote: the region name)")
}

// exitCodeFor maps an action error to the exit codes scripts branch on.
func exitCodeFor(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, action.ErrInvalid), errors.Is(err, action.ErrUnsupported):
		return ExitUsage
	case errors.Is(err, action.ErrRefused), errors.Is(err, action.ErrBlocked):
		return ExitRefused
	}
	return ExitFailed
}

// actionOutput is the -o json document: stable field names (ops' JSON tags).
type actionOutput struct {
	Plan   *action.Plan   `json:"plan"`
	Result *action.Result `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
	Exit   int            `json:"exitCode"`
}

// runAction is the verbs' shared flow: plan -> show -> confirm -> execute with
// progress -> show the verified result. The audit record is written by Execute.
func runAction(cmd *cobra.Command, d *deps, f *actionFlags, req action.Request) error {
	if f.output != "table" && f.output != "json" {
		return withCode(ExitUsage, fmt.Errorf("-o %q: output is table or json", f.output))
	}
	req.DryRun, req.Force, req.Reason = f.dryRun, f.force, f.reason
	s, err := d.session(cmd)
	if err != nil {
		return err
	}
	defer s.close()
	return driveAction(s.ctx, s.platform.Actions(), d, f, req)
}

func cmdContext(cmd *cobra.Command) context.Context {
	if c := cmd.Context(); c != nil {
		return c
	}
	return context.Background()
}

func driveAction(ctx context.Context, actor action.Actor, d *deps, f *actionFlags, req action.Request) error {
	in, out, errOut := d.in, d.out, d.errOut
	jsonOut := f.output == "json"
	emit := func(plan *action.Plan, res *action.Result, err error) error {
		code := exitCodeFor(err)
		if jsonOut {
			doc := actionOutput{Plan: plan, Result: res, Exit: code}
			if err != nil {
				doc.Error = err.Error()
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(doc); jerr != nil {
				return withCode(ExitFailed, jerr)
			}
		} else if res != nil {
			printResult(out, res)
		}
		return withCode(code, err)
	}
	plan, err := actor.Plan(ctx, req)
	if err != nil {
		return emit(nil, nil, err)
	}
	if !jsonOut {
		printPlan(out, plan)
	}
	if plan.Blocked {
		// Execute refuses a blocked plan and audits the refusal.
		res, err := actor.Execute(ctx, plan, "", nil)
		return emit(plan, res, err)
	}
	confirmation := ""
	switch {
	case req.DryRun:
	case f.confirm != "":
		confirmation = f.confirm
	case f.yes:
		confirmation = plan.ConfirmPhrase
	case d.isTerminal(in):
		fmt.Fprintf(errOut, "Type %q to proceed: ", plan.ConfirmPhrase)
		line, _ := bufio.NewReader(in).ReadString('\n')
		confirmation = strings.TrimSpace(line)
	default:
		res, _ := actor.Execute(ctx, plan, "", nil)
		return emit(plan, res, fmt.Errorf("%w: not confirmed: stdin is not a terminal; pass --yes (or --confirm %q) to run %s non-interactively",
			action.ErrRefused, plan.ConfirmPhrase, req.Kind))
	}
	progress := func(p action.Progress) {
		if jsonOut {
			return
		}
		if p.Total > 0 {
			fmt.Fprintf(errOut, "[%d/%d] %s %s\n", p.Done, p.Total, p.Step, p.Detail)
		} else {
			fmt.Fprintf(errOut, "%s %s\n", p.Step, p.Detail)
		}
	}
	res, err := actor.Execute(ctx, plan, confirmation, progress)
	return emit(plan, res, err)
}

func checkMark(s action.CheckStatus) string {
	switch s {
	case action.CheckPass:
		return "ok  "
	case action.CheckWarn:
		return "WARN"
	}
	return "FAIL"
}

func printPlan(w io.Writer, p *action.Plan) {
	fmt.Fprintf(w, "Plan (%s): %s\n", p.Context, p.Summary)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "  step: %s\n", s)
	}
	for _, e := range p.Effects {
		fmt.Fprintf(w, "  effect: %s\n", e)
	}
	for _, wn := range p.Warnings {
		fmt.Fprintf(w, "  WARNING: %s\n", wn)
	}
	if len(p.Checks) > 0 {
		fmt.Fprintln(w, "Preflight:")
		for _, c := range p.Checks {
			fmt.Fprintf(w, "  [%s] %s: %s\n", checkMark(c.Status), c.Name, c.Detail)
		}
	}
	if p.Blocked {
		fmt.Fprintln(w, "Refused: a preflight check failed.")
	}
}

func printResult(w io.Writer, r *action.Result) {
	state := "OK"
	if !r.OK {
		state = "FAILED"
	}
	fmt.Fprintf(w, "Result: %s: %s (%.2fs)\n", state, r.Summary, r.Duration.Seconds())
	for _, c := range r.Verified {
		fmt.Fprintf(w, "  [%s] %s: %s\n", checkMark(c.Status), c.Name, c.Detail)
	}
	keys := make([]string, 0, len(r.Measurements))
	for k := range r.Measurements {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s = %.3f\n", k, r.Measurements[k])
	}
}

// paramFlags are an action's own parameters as flags, one per ParamSpec, so
// the CLI offers exactly what the action declares, with its defaults and help.
type paramFlags struct {
	kind  action.Kind
	specs []action.ParamSpec
}

func bindParams(cmd *cobra.Command, kind action.Kind) *paramFlags {
	specs, err := action.Params(kind)
	if err != nil {
		panic(err) // a verb for a kind the service does not know is a programming error
	}
	fs := cmd.Flags()
	for _, s := range specs {
		switch s.Type {
		case action.ParamInt:
			n, _ := strconv.Atoi(s.Default)
			fs.Int(s.Name, n, s.Help)
		case action.ParamBool:
			fs.Bool(s.Name, s.Default == "true", s.Help)
		case action.ParamDuration:
			dur, _ := time.ParseDuration(s.Default)
			fs.Duration(s.Name, dur, s.Help)
		default:
			fs.String(s.Name, s.Default, s.Help)
		}
	}
	return &paramFlags{kind: kind, specs: specs}
}

// values are the parameters set on the command line; the action applies
// the declared defaults to the rest.
func (p *paramFlags) values(cmd *cobra.Command) map[string]string {
	out := map[string]string{}
	for _, s := range p.specs {
		if f := cmd.Flags().Lookup(s.Name); f != nil && f.Changed {
			out[s.Name] = f.Value.String()
		}
	}
	return out
}

// newActionCmd is one action verb: its target argument, its parameters as
// flags, and the common action flags.
func newActionCmd(d *deps, kind action.Kind, use, short, argsMsg string) *cobra.Command {
	f := &actionFlags{}
	var params *paramFlags
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              exactArgs(1, argsMsg),
		ValidArgsFunction: completeTarget(d, kind),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd, d, f, action.Request{Kind: kind, Target: args[0], Params: params.values(cmd)})
		},
	}
	params = bindParams(cmd, kind)
	f.bind(cmd)
	return cmd
}

func newScaleCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindScale, "scale api|consumer --replicas N | --min N --max M",
		"Scale the API or the consumers (the HPA's bounds when an HPA owns the Deployment)",
		"scale takes one target: api or consumer")
}

func newPartitionsCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindPartitions, "partitions TOPIC --count N",
		"Increase a topic's partition count (decreases are refused)", "partitions takes one TOPIC")
}

func newDrainCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindDrain, "drain NODE",
		"Cordon a node and evict its pods (PodDisruptionBudgets honoured)", "drain takes one NODE")
}

func newCordonCmd(d *deps, kind action.Kind, short string) *cobra.Command {
	return newActionCmd(d, kind, string(kind)+" NODE", short, string(kind)+" takes one NODE")
}

func newPromoteCmd(d *deps) *cobra.Command {
	return newActionCmd(d, action.KindPromote, "promote REGION",
		"Fail over to REGION: DR gate, fence the old primary, promote PostgreSQL and Redis, repoint the API",
		"promote takes one REGION")
}

func newBackupCmd(d *deps) *cobra.Command {
	cmd := newActionCmd(d, action.KindBackup, "backup postgres|clickhouse|redis|all",
		"Back up a store (one backup at a time per store); Kafka offsets are recorded with each set",
		"backup takes one store: postgres, clickhouse, redis or all")
	cmd.AddCommand(newBackupVerifyCmd(d))
	return cmd
}

func newBackupsCmd(d *deps) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "backups",
		Short: "List the backup catalog with age and size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cc, err := d.contextConfig()
			if err != nil {
				return withCode(ExitUsage, err)
			}
			entries, err := backup.ListEntries(backup.Dir(*cc))
			if err != nil {
				return withCode(ExitFailed, err)
			}
			if output == "json" {
				enc := json.NewEncoder(d.out)
				enc.SetIndent("", "  ")
				if entries == nil {
					entries = []backup.Entry{}
				}
				return withCode(ExitFailed, enc.Encode(entries))
			}
			tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STORE\tSET\tSTATE\tAGE\tSIZE\tMETHOD\tWAL\tVERIFIED\tLOCATION")
			now := d.now()
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.Store, e.ID, e.State,
					now.Sub(e.StartedAt).Round(time.Second), e.SizeBytes, e.Method, e.WALPosition, present.Verification(e.Verification, now), e.Location)
			}
			return withCode(ExitFailed, tw.Flush())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func newAuditCmd(d *deps) *cobra.Command {
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the audit log of actions, newest first (verify: check its hash chain)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := auditLog(d, output)
			if err != nil {
				return err
			}
			recs, err := log.Records(cmdContext(cmd), limit)
			var dmg *audit.DamageError
			if err != nil && !errors.As(err, &dmg) {
				return withCode(ExitFailed, err)
			}
			if dmg != nil {
				// The readable records are still listed; the damage is not skipped silently.
				fmt.Fprintln(d.errOut, "warning:", dmg.Error())
			}
			if output == "json" {
				enc := json.NewEncoder(d.out)
				enc.SetIndent("", "  ")
				if recs == nil {
					recs = []audit.Record{}
				}
				return withCode(ExitFailed, enc.Encode(recs))
			}
			tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tWHO\tCONTEXT\tACTION\tTARGET\tOUTCOME\tSUMMARY")
			for _, r := range recs {
				outcome := r.Outcome
				if r.DryRun {
					outcome += " (dry-run)"
				}
				id := r.ActionID()
				if id == "" {
					id = "-"
				}
				summary := r.Detail()
				if r.Undoes != "" {
					summary = "undoes " + r.Undoes + ": " + summary
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, r.Time.Local().Format(time.RFC3339), r.Who, r.Context, r.Action, r.Target, outcome, summary)
			}
			return withCode(ExitFailed, tw.Flush())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().IntVar(&limit, "limit", 50, "most records to show (0: all)")
	cmd.AddCommand(newAuditVerifyCmd(d))
	return cmd
}

// auditLog is the context's audit log, once -o is known to be table or json.
func auditLog(d *deps, output string) (*audit.Log, error) {
	if output != "table" && output != "json" {
		return nil, withCode(ExitUsage, fmt.Errorf("-o %q: output is table or json", output))
	}
	cc, err := d.contextConfig()
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	return audit.NewLog(audit.PathFor(*cc)), nil
}

// newAuditVerifyCmd checks the log's hash chain: exit 0 when intact, 1 at
// the first line that does not check out.
func newAuditVerifyCmd(d *deps) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain; report the first edited, deleted, reordered or torn record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := auditLog(d, output)
			if err != nil {
				return err
			}
			rep, err := log.Verify(cmdContext(cmd))
			if err != nil {
				return withCode(ExitFailed, err)
			}
			var broken error
			if !rep.Intact {
				broken = fmt.Errorf("audit log %s does not check out from line %d", rep.Path, rep.Problems[0].Line)
			}
			if output == "json" {
				enc := json.NewEncoder(d.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return withCode(ExitFailed, err)
				}
				return withCode(ExitFailed, broken)
			}
			if rep.Intact {
				fmt.Fprintf(d.out, "intact: %s: %d records", rep.Path, rep.Records)
				if rep.Legacy > 0 {
					fmt.Fprintf(d.out, " (%d legacy, before the chain: unverified)", rep.Legacy)
				}
				fmt.Fprintf(d.out, "\nhead: sha256:%s\n", rep.Head)
			} else {
				first := rep.Problems[0]
				fmt.Fprintf(d.out, "BROKEN: %s: line %d: %s\n", rep.Path, first.Line, first.What)
				if n := len(rep.Problems) - 1; n > 0 {
					fmt.Fprintf(d.out, "%d more line(s) after it do not check out (-o json lists them)\n", n)
				}
			}
			for _, n := range rep.Notes {
				fmt.Fprintf(d.out, "note: line %d: %s\n", n.Line, n.What)
			}
			return withCode(ExitFailed, broken)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// exactArgs is cobra.ExactArgs with a message naming the rule (exit 2).
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return withCode(ExitUsage, fmt.Errorf("%s (got %d arguments)", msg, len(args)))
		}
		return nil
	}
}
