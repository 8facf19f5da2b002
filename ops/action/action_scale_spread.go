package action

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
)

// maxLoadDeviation is how far one instance's share of requests may stray from
// the fair share 1/n (relative) before the spread counts as uneven; the same
// bound as the load-spread runbook check.
const maxLoadDeviation = 0.5

// loadSpread judges per-instance request rates of one Deployment's pods: every
// one of want instances must take traffic, each within maxLoadDeviation of the
// fair share. ok is false while it is not so; detail says why, with figures.
func loadSpread(samples []state.Sample, deployment string, want int32) (ok bool, detail string) {
	type inst struct {
		pod string
		rps float64
	}
	var insts []inst
	var total float64
	for _, s := range samples {
		pod := s.Labels["pod"]
		if !strings.HasPrefix(pod, deployment+"-") || math.IsNaN(s.Value) {
			continue
		}
		insts = append(insts, inst{pod, s.Value})
		total += s.Value
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i].rps > insts[j].rps })
	if total <= 0 {
		return false, fmt.Sprintf("no requests measured on %s", deployment)
	}
	var parts []string
	for _, in := range insts {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", in.pod, 100*in.rps/total))
	}
	shares := strings.Join(parts, ", ")
	active := 0
	for _, in := range insts {
		if in.rps > 0 {
			active++
		}
	}
	if int32(active) < want {
		return false, fmt.Sprintf("%d of %d instances take traffic (%.1f req/s): %s", active, want, total, shares)
	}
	fair := 1 / float64(len(insts))
	for _, in := range insts {
		if math.Abs(in.rps/total-fair)/fair > maxLoadDeviation {
			return false, fmt.Sprintf("uneven: %s takes %.0f%% (fair %.0f%%): %s", in.pod, 100*in.rps/total, 100*fair, shares)
		}
	}
	return true, fmt.Sprintf("%d instances within %.0f%% of the fair share %.0f%% (%.1f req/s): %s", len(insts), 100*maxLoadDeviation, 100*fair, total, shares)
}

// verifyLoadSpread waits (up to half the verify timeout) for requests to spread
// over the scaled Deployment's instances, from Prometheus' per-pod request
// rate. Without Prometheus, or without traffic, it warns rather than fails:
// a scale is not undone for want of load.
func verifyLoadSpread(ctx context.Context, a *Service, deployment string, replicas int32) Check {
	c := Check{Name: "load spread"}
	q, _, err := primaryCapability[state.PromQuerier](a, state.SystemPrometheus)
	if err != nil {
		c.Status, c.Detail = CheckWarn, "not checked: "+err.Error()
		return c
	}
	o := a.opts()
	detail, err := waitFor(ctx, o.VerifyTimeout/2, o.PollInterval, func(ctx context.Context) (bool, string, error) {
		samples, err := q.QueryVector(ctx, collect.LoadQueries["rps"])
		if err != nil {
			return false, "", err
		}
		ok, d := loadSpread(samples, deployment, replicas)
		return ok, d, nil
	})
	if err != nil {
		c.Status, c.Detail = CheckWarn, err.Error()
		return c
	}
	c.Status, c.Detail = CheckPass, detail
	return c
}
