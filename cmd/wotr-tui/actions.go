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
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/backup"
)

// actionFlags are common to every action verb.
type actionFlags struct {
	dryRun  bool
	yes     bool
	output  string
	force   bool
	reason  string
	region  string
	confirm string
}

func (f *actionFlags) bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "plan and validate only (server-side dry run on Kubernetes); nothing changes")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "confirm without prompting (scripts)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&f.force, "force", false, "override failed preflight checks (needs --reason; audited)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why --force is used (written to the audit log)")
	cmd.Flags().StringVar(&f.region, "region", "", "region to act in (default: the primary)")
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
	if f.force && strings.TrimSpace(f.reason) == "" {
		return withCode(ExitUsage, errors.New("--force needs --reason: the override is audited with its reason"))
	}
	if f.region != "" {
		if req.Params == nil {
			req.Params = map[string]string{}
		}
		req.Params["region"] = f.region
	}
	req.DryRun, req.Force, req.Reason = f.dryRun, f.force, f.reason
	cc, err := d.contextConfig()
	if err != nil {
		return withCode(ExitUsage, err)
	}
	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt)
	defer stop()
	platform := d.open(ctx, *cc)
	defer platform.Close()
	return driveAction(ctx, platform.Actions(), d, f, req)
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

func intParam(cmd *cobra.Command, params map[string]string, name string, v int) {
	if cmd.Flags().Changed(name) {
		params[name] = strconv.Itoa(v)
	}
}

func newScaleCmd(d *deps) *cobra.Command {
	f := &actionFlags{}
	var replicas, min, max int
	cmd := &cobra.Command{
		Use:   "scale api|consumer --replicas N | --min N --max M",
		Short: "Scale the API or the consumers (the HPA's bounds when an HPA owns the Deployment)",
		Args:  exactArgs(1, "scale takes one target: api or consumer"),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]string{}
			intParam(cmd, params, "replicas", replicas)
			intParam(cmd, params, "min", min)
			intParam(cmd, params, "max", max)
			return runAction(cmd, d, f, action.Request{Kind: action.KindScale, Target: args[0], Params: params})
		},
	}
	cmd.Flags().IntVar(&replicas, "replicas", 0, "desired replicas (with an HPA: its new minimum)")
	cmd.Flags().IntVar(&min, "min", 0, "HPA minReplicas")
	cmd.Flags().IntVar(&max, "max", 0, "HPA maxReplicas")
	f.bind(cmd)
	return cmd
}

func newPartitionsCmd(d *deps) *cobra.Command {
	f := &actionFlags{}
	var count int
	cmd := &cobra.Command{
		Use:   "partitions TOPIC --count N",
		Short: "Increase a topic's partition count (decreases are refused)",
		Args:  exactArgs(1, "partitions takes one TOPIC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]string{}
			intParam(cmd, params, "count", count)
			return runAction(cmd, d, f, action.Request{Kind: action.KindPartitions, Target: args[0], Params: params})
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "new total partition count")
	f.bind(cmd)
	return cmd
}

func newDrainCmd(d *deps) *cobra.Command {
	f := &actionFlags{}
	var grace int
	var timeout, pdbWait time.Duration
	var ignoreDS, emptyDir, unmanaged, noEviction bool
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Cordon a node and evict its pods (PodDisruptionBudgets honoured)",
		Args:  exactArgs(1, "drain takes one NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := map[string]string{}
			intParam(cmd, params, "grace-period", grace)
			if cmd.Flags().Changed("timeout") {
				params["timeout"] = timeout.String()
			}
			if cmd.Flags().Changed("pdb-wait") {
				params["pdb-wait"] = pdbWait.String()
			}
			params["ignore-daemonsets"] = strconv.FormatBool(ignoreDS)
			params["delete-emptydir-data"] = strconv.FormatBool(emptyDir)
			params["force-unmanaged"] = strconv.FormatBool(unmanaged)
			params["disable-eviction"] = strconv.FormatBool(noEviction)
			return runAction(cmd, d, f, action.Request{Kind: action.KindDrain, Target: args[0], Params: params})
		},
	}
	cmd.Flags().IntVar(&grace, "grace-period", -1, "seconds each pod gets to terminate (-1: the pod's own)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (default 5m)")
	cmd.Flags().DurationVar(&pdbWait, "pdb-wait", 10*time.Second, "how long an eviction a PodDisruptionBudget refuses is retried before the drain reports the block")
	cmd.Flags().BoolVar(&ignoreDS, "ignore-daemonsets", true, "leave DaemonSet pods in place")
	cmd.Flags().BoolVar(&emptyDir, "delete-emptydir-data", false, "evict pods with emptyDir volumes (their data is lost)")
	cmd.Flags().BoolVar(&unmanaged, "force-unmanaged", false, "delete pods that no controller recreates")
	cmd.Flags().BoolVar(&noEviction, "disable-eviction", false, "delete instead of evict (bypasses PodDisruptionBudgets)")
	f.bind(cmd)
	return cmd
}

func newCordonCmd(d *deps, kind action.Kind, short string) *cobra.Command {
	f := &actionFlags{}
	cmd := &cobra.Command{
		Use:   string(kind) + " NODE",
		Short: short,
		Args:  exactArgs(1, string(kind)+" takes one NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd, d, f, action.Request{Kind: kind, Target: args[0]})
		},
	}
	f.bind(cmd)
	return cmd
}

func newPromoteCmd(d *deps) *cobra.Command {
	f := &actionFlags{}
	var rebuildOld bool
	cmd := &cobra.Command{
		Use:   "promote REGION",
		Short: "Fail over to REGION: DR gate, fence the old primary, promote PostgreSQL and Redis, repoint the API",
		Args:  exactArgs(1, "promote takes one REGION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := action.Request{Kind: action.KindPromote, Target: args[0]}
			if rebuildOld {
				req.Params = map[string]string{action.ParamRebuildOld: "true"}
			}
			return runAction(cmd, d, f, req)
		},
	}
	cmd.Flags().BoolVar(&rebuildOld, "rebuild-old-primary", false, "afterwards rebuild the old primary as a streaming standby of the new one (local installations)")
	f.bind(cmd)
	return cmd
}

func newBackupCmd(d *deps) *cobra.Command {
	f := &actionFlags{}
	cmd := &cobra.Command{
		Use:   "backup postgres|clickhouse|redis|all",
		Short: "Back up a store (one backup at a time per store); Kafka offsets are recorded with each set",
		Args:  exactArgs(1, "backup takes one store: postgres, clickhouse, redis or all"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd, d, f, action.Request{Kind: action.KindBackup, Target: args[0]})
		},
	}
	f.bind(cmd)
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
			fmt.Fprintln(tw, "STORE\tSET\tSTATE\tAGE\tSIZE\tMETHOD\tWAL\tLOCATION")
			now := d.now()
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Store, e.ID, e.State,
					now.Sub(e.StartedAt).Round(time.Second), e.SizeBytes, e.Method, e.WALPosition, e.Location)
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
		Short: "List the audit log of actions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cc, err := d.contextConfig()
			if err != nil {
				return withCode(ExitUsage, err)
			}
			recs, err := audit.NewLog(audit.PathFor(*cc)).Records(cmdContext(cmd), limit)
			if err != nil {
				return withCode(ExitFailed, err)
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
			fmt.Fprintln(tw, "TIME\tWHO\tCONTEXT\tACTION\tTARGET\tOUTCOME\tSUMMARY")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format(time.RFC3339), r.Who, r.Context, r.Action, r.Target, r.Outcome, r.Detail())
			}
			return withCode(ExitFailed, tw.Flush())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().IntVar(&limit, "limit", 50, "most records to show (0: all)")
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
