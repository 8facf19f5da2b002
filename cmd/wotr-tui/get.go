package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// readFlags are shared by get and status.
type readFlags struct {
	output     string
	watch      bool
	interval   time.Duration
	timeout    time.Duration
	rateWindow time.Duration
	since      time.Duration
	watchCount int // stop after n prints (tests); 0 = until interrupted
}

func (f *readFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table, wide, json, yaml or csv (the table's rows; tables apart by an empty line)")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "keep polling and print again every --interval")
	cmd.Flags().DurationVar(&f.interval, "interval", 2*time.Second, "poll interval with --watch")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "timeout of each source's poll")
	cmd.Flags().DurationVar(&f.rateWindow, "rate-window", time.Second, "second poll after this long so rates (produce/s, req/s, lag seconds) are known; 0 polls once")
	cmd.Flags().DurationVar(&f.since, "since", 0, "with -o json or yaml, add the history the console draws over this window (15m, 1h, 6h or 24h; from Prometheus, else this run's polls); instances, lag and status")
	cmd.Flags().IntVar(&f.watchCount, "watch-count", 0, "with --watch, stop after this many prints")
	_ = cmd.Flags().MarkHidden("watch-count")
}

func (f *readFlags) validate() error {
	switch f.output {
	case "table", "wide", "json", "yaml", "csv":
	default:
		return fmt.Errorf("-o %q: output must be table, wide, json, yaml or csv", f.output)
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.watch && f.interval <= 0 {
		return fmt.Errorf("--interval %s: must be positive", f.interval)
	}
	if f.rateWindow < 0 {
		return fmt.Errorf("--rate-window %s: must not be negative", f.rateWindow)
	}
	return nil
}

// validateSince: history exists for some kinds, over the console's windows,
// and only the documents have room for it.
func (f *readFlags) validateSince(kind string) error {
	if f.since == 0 {
		return nil
	}
	ok := false
	for _, w := range collect.HistoryWindows {
		ok = ok || w == f.since
	}
	switch {
	case !ok:
		return fmt.Errorf("--since %s: must be one of 15m, 1h, 6h or 24h", f.since)
	case state.SeriesOf(kind, state.Snapshot{Instances: []state.Instance{{}}, Kafka: state.KafkaState{Groups: []state.Group{{}}}}) == nil:
		return fmt.Errorf("--since with %s: history exists for instances, lag and status", kind)
	case f.output != "json" && f.output != "yaml":
		return fmt.Errorf("--since with -o %s: history is printed with -o json or yaml", f.output)
	}
	return nil
}

// capsFor: the sources a kind needs, so `get lag` polls Kafka only.
func capsFor(kind string) []string {
	switch kind {
	case "instances":
		return []string{wire.CapKube, wire.CapLoad}
	case "lag":
		return []string{wire.CapKafka}
	case "replication":
		return []string{wire.CapReplication}
	case "pools":
		return []string{wire.CapPools}
	case "nodes":
		return []string{wire.CapKube}
	case "backups":
		return []string{wire.CapBackups}
	}
	return wire.AllCaps // status, regions
}

// needsRates: kinds whose figures come from differences between polls.
func needsRates(kind string) bool {
	switch kind {
	case "lag", "instances", "pools", "status":
		return true
	}
	return false
}

func newGetCmd(d *deps) *cobra.Command {
	f := &readFlags{}
	cmd := &cobra.Command{
		Use:   "get " + strings.Join(present.Kinds, "|"),
		Short: "Show one part of the platform's state",
		Long: "get polls the sources a kind needs and prints them. A source that cannot be reached is named\n" +
			"on stderr and the exit code is 1; everything else is still printed.\n" +
			"JSON and YAML documents are described in ops/present/JSON.md.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return withCode(ExitUsage, fmt.Errorf("get needs one kind: %s", strings.Join(present.Kinds, ", ")))
			}
			for _, k := range present.Kinds {
				if k == args[0] {
					return nil
				}
			}
			return withCode(ExitUsage, fmt.Errorf("unknown kind %q: must be one of %s", args[0], strings.Join(present.Kinds, ", ")))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRead(cmd, d, f, args[0])
		},
	}
	f.bind(cmd)
	return cmd
}

// runRead is get's and status' flow: poll, print, and name failed sources.
func runRead(cmd *cobra.Command, d *deps, f *readFlags, kind string) error {
	out := d.out
	if err := f.validate(); err != nil {
		return withCode(ExitUsage, err)
	}
	if err := f.validateSince(kind); err != nil {
		return withCode(ExitUsage, err)
	}
	s, err := d.session(cmd)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, cc := s.ctx, s.cc
	caps := capsFor(kind)
	if f.since > 0 {
		caps = append(caps, wire.CapHistory)
	}
	c, err := s.platform.Collector(collect.Options{Context: cc.Name, Timeout: f.timeout}, caps...)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	snap := c.CollectOnce(ctx)
	if needsRates(kind) && f.rateWindow > 0 {
		select {
		case <-time.After(f.rateWindow):
			snap = c.CollectOnce(ctx)
		case <-ctx.Done():
		}
	}
	for n := 1; ; n++ {
		var hist *present.History
		if f.since > 0 {
			hist = readHistory(ctx, c, kind, snap, f.since, d.errOut)
		}
		if err := printSnapshot(out, f.output, kind, snap, hist, cc.Health(), f.watch); err != nil {
			return withCode(ExitFailed, err)
		}
		if !f.watch || (f.watchCount > 0 && n >= f.watchCount) {
			break
		}
		select {
		case <-ctx.Done():
			return failedSources(snap)
		case <-time.After(f.interval):
		}
		snap = c.CollectOnce(ctx)
	}
	return failedSources(snap)
}

// failedSources is nil when every source answered, else an error naming each.
func failedSources(s state.Snapshot) error {
	failed := present.Failed(s)
	if len(failed) == 0 {
		return nil
	}
	var parts []string
	for _, m := range failed {
		e := m.Error
		if e == "" {
			e = "no answer"
		}
		parts = append(parts, m.Source+": "+e)
	}
	return withCode(ExitFailed, fmt.Errorf("%d source(s) unreachable: %s", len(failed), strings.Join(parts, "; ")))
}

// readHistory backfills the window and reads kind's series; without
// Prometheus it says so on stderr and returns this run's polls.
func readHistory(ctx context.Context, c *collect.Collector, kind string, s state.Snapshot, since time.Duration, errOut io.Writer) *present.History {
	_ = c.SetHistoryWindow(since) // validated
	source := "prometheus"
	if err := c.Backfill(ctx); err != nil {
		fmt.Fprintln(errOut, "warning: history:", err)
		if !c.HistoryStatus().Backfilled {
			source = "polls"
		}
	}
	h := &present.History{Window: since.String(), Source: source, Series: map[string][]state.Point{}}
	for _, name := range state.SeriesOf(kind, s) {
		h.Series[name] = nonNilPoints(c.HistoryPoints(name))
	}
	return h
}

func nonNilPoints(p []state.Point) []state.Point {
	if p == nil {
		return []state.Point{}
	}
	return p
}

func printSnapshot(w io.Writer, output, kind string, s state.Snapshot, hist *present.History, th health.Thresholds, watch bool) error {
	switch output {
	case "json", "yaml":
		doc, err := present.NewDocument(kind, s)
		if err != nil {
			return err
		}
		doc.History = hist
		var b []byte
		if output == "json" {
			if watch { // one document per line
				b, err = json.Marshal(doc)
			} else {
				b, err = json.MarshalIndent(doc, "", "  ")
			}
		} else {
			b, err = yaml.Marshal(doc)
			if watch {
				b = append([]byte("---\n"), b...)
			}
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, strings.TrimRight(string(b), "\n"))
		return err
	}
	tables, err := present.Tables(kind, s, output == "wide", th)
	if err != nil {
		return err
	}
	if watch {
		fmt.Fprintf(w, "# %s  %s\n", s.TakenAt.Format(time.RFC3339), s.Context)
	}
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(t.Rows) == 0 && i > 0 {
			continue
		}
		write := present.Write
		if output == "csv" {
			write = present.WriteCSV
		}
		if err := write(w, t); err != nil {
			return err
		}
	}
	return nil
}
