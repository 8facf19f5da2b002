package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ops/state"
)

// completionTimeout bounds a completion that reads the live context: a
// slow or unreachable platform offers nothing rather than hanging the shell.
const completionTimeout = 2 * time.Second

type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeFirst offers names() for the first argument only.
func completeFirst(names func(cmd *cobra.Command) []string) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(names(cmd), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeTarget is the target completion of an action verb.
func completeTarget(d *deps, kind action.Kind) completeFunc {
	switch kind {
	case action.KindScale:
		return completeFirst(func(*cobra.Command) []string { return action.ScaleTargets() })
	case action.KindBackup:
		return completeFirst(func(*cobra.Command) []string {
			out := []string{}
			for _, s := range state.Stores {
				out = append(out, string(s))
			}
			return append(out, "all")
		})
	case action.KindPromote:
		return completeFirst(func(*cobra.Command) []string { return regionNames(d) })
	case action.KindDrain, action.KindCordon, action.KindUncordon:
		return completeFirst(func(cmd *cobra.Command) []string { return liveNames(cmd, d, nodeNames) })
	case action.KindPartitions:
		return completeFirst(func(cmd *cobra.Command) []string { return liveNames(cmd, d, topicNames) })
	case action.KindOffsetReset:
		return completeFirst(func(cmd *cobra.Command) []string { return liveNames(cmd, d, groupNames) })
	}
	return nil
}

// completeRunbooks offers the runbooks' names.
func completeRunbooks(d *deps) completeFunc {
	return completeFirst(func(*cobra.Command) []string {
		rbs, err := runbook.LoadAll(runbookDir(d))
		if err != nil {
			return nil
		}
		out := make([]string, 0, len(rbs))
		for _, rb := range rbs {
			out = append(out, rb.Name)
		}
		return out
	})
}

func regionNames(d *deps) []string {
	cc, err := d.contextConfig()
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range cc.RegionsPrimaryFirst() {
		out = append(out, r.Name)
	}
	return out
}

// liveNames reads names from every region of the context within
// completionTimeout; whatever fails is left out silently.
func liveNames(cmd *cobra.Command, d *deps, read func(ctx context.Context, c any) []string) []string {
	cc, err := d.contextConfig()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
	defer cancel()
	p := d.open(ctx, *cc)
	defer p.Close()
	seen := map[string]bool{}
	var out []string
	for _, r := range cc.RegionsPrimaryFirst() {
		for _, sys := range []state.System{state.SystemKube, state.SystemKafka} {
			c, err := p.Client(sys, r)
			if err != nil || c == nil {
				continue
			}
			for _, n := range read(ctx, c) {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
		}
	}
	return out
}

func nodeNames(ctx context.Context, c any) []string {
	k, ok := c.(interface {
		ReadNodes(context.Context) ([]state.Node, error)
	})
	if !ok {
		return nil
	}
	nodes, err := k.ReadNodes(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

func topicNames(ctx context.Context, c any) []string {
	return kafkaNames(ctx, c, func(ks state.KafkaState) (out []string) {
		for _, t := range ks.Topics {
			out = append(out, t.Name)
		}
		return out
	})
}

// groupNames are the consumer groups Kafka lists (the reset's target).
func groupNames(ctx context.Context, c any) []string {
	return kafkaNames(ctx, c, func(ks state.KafkaState) (out []string) {
		for _, g := range ks.Groups {
			out = append(out, g.Name)
		}
		return out
	})
}

// kafkaNames reads Kafka once and picks names from it; nil when it cannot.
func kafkaNames(ctx context.Context, c any, pick func(state.KafkaState) []string) []string {
	k, ok := c.(interface {
		ReadKafka(context.Context) (state.KafkaState, error)
	})
	if !ok {
		return nil
	}
	ks, err := k.ReadKafka(ctx)
	if err != nil {
		return nil
	}
	return pick(ks)
}
