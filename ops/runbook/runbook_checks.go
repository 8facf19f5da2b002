package runbook

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// CheckInput is what a built-in check sees.
type CheckInput struct {
	Env      Env
	Snapshot state.Snapshot
	Args     map[string]string
}

// CheckOutput is a built-in check's verdict with evidence.
type CheckOutput struct {
	Status   StepStatus
	Summary  string
	Evidence []string
}

type checkFunc func(ctx context.Context, in CheckInput) CheckOutput

// runbookChecks are the conditions over collected state that runbook steps name.
var runbookChecks = map[string]checkFunc{
	"instances-healthy":       checkInstancesHealthy,
	"load-spread":             checkLoadSpread,
	"pool-budget":             checkPoolBudget,
	"pool-utilization":        checkPoolUtilization,
	"resource-utilization":    checkResourceUtilization,
	"partitions-vs-consumers": checkPartitionsVsConsumers,
	"group-rebalanced":        checkGroupRebalanced,
	"group-id-consistent":     checkGroupIDConsistent,
	"group-membership-stable": checkMembershipStable,
	"replication-lag":         checkReplicationLag,
	"sources-fresh":           checkSourcesFresh,
	"lb-backends-up":          checkLBBackends,
	"latency":                 checkLatency,
	"error-rate":              checkErrorRate,
	"backup-fresh":            checkBackupFresh,
	"standby-ready":           checkStandbyReady,
	"region-role":             checkRegionRole,
}

// CheckNames lists the built-in checks, for errors and documentation.
func CheckNames() []string {
	var out []string
	for k := range runbookChecks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func argFloat(args map[string]string, key string, def float64) float64 {
	if v, ok := args[key]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// limit is a check's threshold: the step's arg when it gives one (the value
// must be exceeded, as written), else the health table's warn value, so a
// check fails where the console starts to warn.
func limit(in CheckInput, key string, pick func(health.Thresholds) health.Bound) (float64, func(float64) bool) {
	th := health.Defaults()
	if in.Env.Thresholds != nil {
		th = *in.Env.Thresholds
	}
	if v, ok := in.Args[key]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, func(x float64) bool { return x > f }
		}
	}
	b := pick(th)
	return b.Warn, func(x float64) bool { return b.Judge(x) >= health.Warn }
}

func argString(args map[string]string, key, def string) string {
	if v, ok := args[key]; ok && v != "" {
		return v
	}
	return def
}

func verdict(bad []string, good []string, okSummary, badSummary string) CheckOutput {
	if len(bad) > 0 {
		return CheckOutput{Status: StepFail, Summary: badSummary, Evidence: append(bad, good...)}
	}
	return CheckOutput{Status: StepPass, Summary: okSummary, Evidence: good}
}

func apiInstances(s state.Snapshot, deployment string) []state.Instance {
	var out []state.Instance
	for _, in := range s.Instances {
		if in.Deployment == deployment {
			out = append(out, in)
		}
	}
	return out
}

func checkInstancesHealthy(_ context.Context, in CheckInput) CheckOutput {
	dep := argString(in.Args, "deployment", "wotr-api")
	insts := apiInstances(in.Snapshot, dep)
	if len(insts) == 0 {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("no instances of %s found", dep)}
	}
	var bad, good []string
	for _, i := range insts {
		line := fmt.Sprintf("%s on %s: ready=%v", i.Pod, i.Node, i.Ready)
		if !i.Ready {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, fmt.Sprintf("all %d instances of %s ready", len(insts), dep),
		fmt.Sprintf("%d of %d instances of %s not ready", len(bad), len(insts), dep))
}

// checkLoadSpread fails when one instance's share of requests deviates from the
// fair share 1/n by more than max_deviation (relative, default 0.5).
func checkLoadSpread(_ context.Context, in CheckInput) CheckOutput {
	dep := argString(in.Args, "deployment", "wotr-api")
	maxDev := argFloat(in.Args, "max_deviation", 0.5)
	minRPS := argFloat(in.Args, "min_rps", 1)
	insts := apiInstances(in.Snapshot, dep)
	var total float64
	for _, i := range insts {
		total += i.RPS
	}
	if len(insts) < 2 || total < minRPS {
		return CheckOutput{Status: StepPass, Summary: fmt.Sprintf("too little traffic to judge (%d instances, %.1f req/s)", len(insts), total)}
	}
	fair := 1 / float64(len(insts))
	var bad, good []string
	hot := insts[0]
	for _, i := range insts {
		if i.RPS > hot.RPS {
			hot = i
		}
	}
	for _, i := range insts {
		share := i.RPS / total
		line := fmt.Sprintf("%s: %.1f req/s, %.0f%% of load (fair %.0f%%)", i.Pod, i.RPS, share*100, fair*100)
		if math.Abs(share-fair)/fair > maxDev {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, "load spread evenly", fmt.Sprintf("%s takes %.0f%% of requests (fair share %.0f%%); %d of %d instances off by more than %.0f%%",
		hot.Pod, hot.RPS/total*100, fair*100, len(bad), len(insts), maxDev*100))
}

func checkPoolBudget(ctx context.Context, in CheckInput) CheckOutput {
	if argString(in.Args, "at", "max") == "current" {
		return checkPoolBudgetNow(ctx, in)
	}
	if len(in.Snapshot.Pools.Budget) == 0 {
		return CheckOutput{Status: StepError, Summary: "no connection budget computed (pool or server limits unknown)"}
	}
	var bad, good []string
	for _, b := range in.Snapshot.Pools.Budget {
		line := fmt.Sprintf("%s: %d per instance x %d instances = %d against limit %d", b.Store, b.PerInstance, b.Instances, b.Total, b.Limit)
		if !b.OK {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, "connection budget fits every store's limit", "connection budget exceeds a store's limit")
}

// checkPoolBudgetNow sums the pool sizes of the instances running now per
// store against the server's limit (less reserved connections): whether the
// pools can exhaust the server today, as opposed to at the HPA maximum.
func checkPoolBudgetNow(_ context.Context, in CheckInput) CheckOutput {
	sum := map[string]float64{}
	pods := map[string]int{}
	for _, ip := range in.Snapshot.Pools.Instances {
		for _, p := range ip.Pools {
			sum[string(p.Store)] += p.Size
			pods[string(p.Store)]++
		}
	}
	var bad, good []string
	for _, sp := range in.Snapshot.Pools.Stores {
		if sp.Limit <= 0 || pods[string(sp.Store)] == 0 {
			continue
		}
		limit := sp.Limit - sp.Reserved
		line := fmt.Sprintf("%s: pools of %d instances total %.0f against limit %d (%d open now)", sp.Store, pods[string(sp.Store)], sum[string(sp.Store)], limit, sp.Connections)
		if sum[string(sp.Store)] > float64(limit) {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	if len(bad)+len(good) == 0 {
		return CheckOutput{Status: StepError, Summary: "no pool sizes or server limits collected"}
	}
	return verdict(bad, good, "the running instances' pools fit every store's limit", "the running instances' pools exceed a store's limit")
}

// checkPoolUtilization fails when a pool is above max (default: the
// pool-utilization warn threshold).
func checkPoolUtilization(_ context.Context, in CheckInput) CheckOutput {
	max, over := limit(in, "max", func(t health.Thresholds) health.Bound { return t.PoolUtilization })
	store := argString(in.Args, "store", "")
	var bad, good []string
	n := 0
	for _, ip := range in.Snapshot.Pools.Instances {
		for _, p := range ip.Pools {
			if store != "" && string(p.Store) != store {
				continue
			}
			n++
			line := fmt.Sprintf("%s %s: %.0f/%.0f in use (%.0f%%), waits %.0f", ip.Pod, p.Store, p.InUse, p.Size, p.Utilization()*100, p.Waits)
			if over(p.Utilization()) {
				bad = append(bad, line)
			} else {
				good = append(good, line)
			}
		}
	}
	if n == 0 {
		return CheckOutput{Status: StepError, Summary: "no pool figures collected"}
	}
	return verdict(bad, good, fmt.Sprintf("every pool under %.0f%%", max*100), fmt.Sprintf("%d pools above %.0f%% utilization", len(bad), max*100))
}

func checkResourceUtilization(_ context.Context, in CheckInput) CheckOutput {
	max := argFloat(in.Args, "max", 0.9)
	var bad, good []string
	for _, i := range in.Snapshot.Instances {
		if i.CPULimit == 0 && i.MemLimit == 0 {
			continue
		}
		cpu, mem := ratio(i.CPU, i.CPULimit), ratio(i.Memory, i.MemLimit)
		line := fmt.Sprintf("%s: cpu %.0f%% of limit, memory %.0f%% of limit", i.Pod, cpu*100, mem*100)
		if cpu > max || mem > max {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	if len(bad)+len(good) == 0 {
		return CheckOutput{Status: StepWarn, Summary: "no resource figures with limits collected"}
	}
	return verdict(bad, good, fmt.Sprintf("every instance under %.0f%% of its limits", max*100), fmt.Sprintf("%d instances above %.0f%% of a limit", len(bad), max*100))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func findGroup(s state.Snapshot, name string) *state.Group {
	for i := range s.Kafka.Groups {
		if s.Kafka.Groups[i].Name == name {
			return &s.Kafka.Groups[i]
		}
	}
	return nil
}

func findDeployment(s state.Snapshot, name string) *state.Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Name == name {
			return &s.Deployments[i]
		}
	}
	return nil
}

func topicPartitions(s state.Snapshot, topic string) int32 {
	for _, t := range s.Kafka.Topics {
		if t.Name == topic {
			return t.Partitions
		}
	}
	return -1
}

// checkPartitionsVsConsumers: more consumers than partitions leaves some idle.
func checkPartitionsVsConsumers(_ context.Context, in CheckInput) CheckOutput {
	topic := argString(in.Args, "topic", "ingest-events")
	dep := argString(in.Args, "deployment", "wotr-consumer")
	parts := topicPartitions(in.Snapshot, topic)
	if parts < 0 {
		return CheckOutput{Status: StepError, Summary: fmt.Sprintf("topic %s not found", topic)}
	}
	consumers := 0
	evidence := []string{fmt.Sprintf("topic %s: %d partitions", topic, parts)}
	if d := findDeployment(in.Snapshot, dep); d != nil {
		consumers = int(d.Desired)
		evidence = append(evidence, fmt.Sprintf("deployment %s: %d replicas", dep, d.Desired))
		if d.HPA != nil {
			evidence = append(evidence, fmt.Sprintf("HPA %s: max %d", d.HPA.Name, d.HPA.Max))
		}
	}
	if g := findGroup(in.Snapshot, argString(in.Args, "group", "wotr-consumer-group")); g != nil {
		evidence = append(evidence, fmt.Sprintf("group %s: %d members", g.Name, len(g.Members)))
		if len(g.Members) > consumers {
			consumers = len(g.Members)
		}
	}
	if consumers > int(parts) {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("%d consumers for %d partitions: %d idle", consumers, parts, consumers-int(parts)), Evidence: evidence}
	}
	return CheckOutput{Status: StepPass, Summary: fmt.Sprintf("%d consumers for %d partitions", consumers, parts), Evidence: evidence}
}

// checkGroupRebalanced: group Stable, every partition assigned, members match
// the consumer Deployment's ready replicas.
func checkGroupRebalanced(_ context.Context, in CheckInput) CheckOutput {
	name := argString(in.Args, "group", "wotr-consumer-group")
	g := findGroup(in.Snapshot, name)
	if g == nil {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("group %s not found", name)}
	}
	var bad, good []string
	good = append(good, fmt.Sprintf("group %s: state %s, %d members", g.Name, g.State, len(g.Members)))
	if g.State != "Stable" {
		bad = append(bad, fmt.Sprintf("state %s, want Stable", g.State))
	}
	unassigned := 0
	for _, p := range g.Partitions {
		if p.Member == "" {
			unassigned++
		}
	}
	if unassigned > 0 {
		bad = append(bad, fmt.Sprintf("%d partitions without a member", unassigned))
	}
	if d := findDeployment(in.Snapshot, argString(in.Args, "deployment", "wotr-consumer")); d != nil {
		want := int(d.Ready)
		if parts := len(g.Partitions); parts > 0 && want > parts {
			want = parts
		}
		if len(g.Members) < want {
			bad = append(bad, fmt.Sprintf("%d members but %d ready consumer pods", len(g.Members), d.Ready))
		}
	}
	return verdict(bad, good, "group rebalanced: stable, every partition assigned", "group not rebalanced")
}

// checkGroupIDConsistent: every consumer pod should be a member of the group; a
// pod that consumes but is not in the group runs with another group id.
func checkGroupIDConsistent(_ context.Context, in CheckInput) CheckOutput {
	name := argString(in.Args, "group", "wotr-consumer-group")
	dep := argString(in.Args, "deployment", "wotr-consumer")
	g := findGroup(in.Snapshot, name)
	if g == nil {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("group %s not found: consumers use another group id", name)}
	}
	var others []string
	for _, og := range in.Snapshot.Kafka.Groups {
		if og.Name != name && len(og.Members) > 0 {
			for _, p := range og.Partitions {
				if p.Topic == argString(in.Args, "topic", "ingest-events") {
					others = append(others, fmt.Sprintf("group %s also consumes %s with %d members", og.Name, p.Topic, len(og.Members)))
					break
				}
			}
		}
	}
	pods := apiInstances(in.Snapshot, dep)
	evidence := []string{fmt.Sprintf("group %s: %d members; %d %s pods", name, len(g.Members), len(pods), dep)}
	if len(others) > 0 {
		return CheckOutput{Status: StepFail, Summary: "consumers split across group ids", Evidence: append(others, evidence...)}
	}
	return CheckOutput{Status: StepPass, Summary: "one group id consumes the topic", Evidence: evidence}
}

// checkMembershipStable samples the group over a window and fails when the
// member set changes (a flapping member: session timeout too short, or a crash loop).
func checkMembershipStable(ctx context.Context, in CheckInput) CheckOutput {
	name := argString(in.Args, "group", "wotr-consumer-group")
	window, err := time.ParseDuration(argString(in.Args, "window", "10s"))
	if err != nil {
		return CheckOutput{Status: StepError, Summary: "window: " + err.Error()}
	}
	interval, err := time.ParseDuration(argString(in.Args, "interval", "1s"))
	if err != nil {
		return CheckOutput{Status: StepError, Summary: "interval: " + err.Error()}
	}
	if in.Env.Collect == nil {
		return CheckOutput{Status: StepError, Summary: "no collector"}
	}
	var sets []string
	var evidence []string
	deadline := time.Now().Add(window)
	snap := in.Snapshot
	polls := 0
	for {
		if g := findGroup(snap, name); g != nil {
			var ids []string
			for _, m := range g.Members {
				ids = append(ids, m.ID)
			}
			sort.Strings(ids)
			key := g.State + " " + strings.Join(ids, ",")
			if len(sets) == 0 || sets[len(sets)-1] != key {
				sets = append(sets, key)
				evidence = append(evidence, fmt.Sprintf("%s state %s, %d members", time.Now().Format("15:04:05.000"), g.State, len(ids)))
			}
		}
		// At least one fresh sample, however late the first one comes.
		if time.Now().After(deadline) && polls > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return CheckOutput{Status: StepError, Summary: ctx.Err().Error()}
		case <-time.After(interval):
		}
		polls++
		s, err := in.Env.Collect(ctx)
		if err != nil {
			return CheckOutput{Status: StepError, Summary: err.Error()}
		}
		snap = s
	}
	if len(sets) > 1 {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("group membership changed %d times in %s", len(sets)-1, window), Evidence: evidence}
	}
	return CheckOutput{Status: StepPass, Summary: fmt.Sprintf("membership stable over %s", window), Evidence: evidence}
}

// checkReplicationLag: every replica of every store under max seconds
// (default: the replication-lag warn threshold).
func checkReplicationLag(_ context.Context, in CheckInput) CheckOutput {
	max, over := limit(in, "max_seconds", func(t health.Thresholds) health.Bound { return t.ReplicationLag })
	var bad, good []string
	add := func(line string, lag float64) {
		if over(lag) {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	r := in.Snapshot.Replication
	for _, p := range r.Postgres {
		add(fmt.Sprintf("postgres %s: %s, replay lag %.1fs (%d bytes)", p.Name, p.State, p.ReplayLagSeconds, p.ReplayLagBytes), p.ReplayLagSeconds)
	}
	for _, c := range r.ClickHouse {
		add(fmt.Sprintf("clickhouse %s %s.%s: delay %.0fs, queue %d", c.Replica, c.Database, c.Table, c.AbsoluteDelay, c.QueueSize), c.AbsoluteDelay)
	}
	for _, rr := range r.Redis {
		lag := rr.LagSeconds
		if rr.LinkStatus != "up" {
			lag = math.Inf(1)
		}
		add(fmt.Sprintf("redis %s: link %s, %d bytes behind", rr.Name, rr.LinkStatus, rr.OffsetLag), lag)
	}
	if len(bad)+len(good) == 0 {
		return CheckOutput{Status: StepError, Summary: "no replicas reported"}
	}
	return verdict(bad, good, fmt.Sprintf("every replica within %.0fs", max), fmt.Sprintf("%d replicas more than %.0fs behind", len(bad), max))
}

func checkSourcesFresh(_ context.Context, in CheckInput) CheckOutput {
	var bad, good []string
	for _, m := range in.Snapshot.Sources {
		line := fmt.Sprintf("%s: age %s", m.Source, m.Age(in.Snapshot.TakenAt).Round(time.Millisecond))
		if m.Stale || m.Error != "" {
			bad = append(bad, line+" error: "+m.Error)
		} else {
			good = append(good, line)
		}
	}
	if len(bad)+len(good) == 0 {
		return CheckOutput{Status: StepError, Summary: "no sources polled"}
	}
	return verdict(bad, good, "every source answering", fmt.Sprintf("%d sources failing", len(bad)))
}

// checkLBBackends: every ready API instance has an UP server in the load
// balancer, and no configured server fails its health checks. Servers in
// maintenance or drain are spare template slots unless instances lack an UP
// server, in which case they are the likely reason and listed as such.
func checkLBBackends(ctx context.Context, in CheckInput) CheckOutput {
	if in.Env.LB == nil {
		return CheckOutput{Status: StepError, Summary: "load balancer: not configured for this context"}
	}
	servers, err := in.Env.LB.Servers(ctx)
	if err != nil {
		return CheckOutput{Status: StepError, Summary: "load balancer: " + err.Error()}
	}
	var down, parked, up []string
	for _, s := range servers {
		if s.Addr == "" {
			continue // template slot never filled
		}
		line := fmt.Sprintf("%s %s: %s", s.Name, s.Addr, s.State)
		switch s.State {
		case "UP":
			up = append(up, line)
		case "DOWN":
			down = append(down, line)
		default:
			parked = append(parked, line)
		}
	}
	ready := 0
	for _, i := range apiInstances(in.Snapshot, argString(in.Args, "deployment", "wotr-api")) {
		if i.Ready {
			ready++
		}
	}
	count := fmt.Sprintf("%d ready API instances, %d servers UP in the load balancer", ready, len(up))
	switch {
	case len(up) == 0:
		return CheckOutput{Status: StepFail, Summary: "no backend server UP", Evidence: append(append([]string{count}, down...), parked...)}
	case len(up) < ready:
		return CheckOutput{Status: StepFail, Summary: count, Evidence: append(append(down, parked...), up...)}
	case len(down) > 0:
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("%d servers failing health checks", len(down)), Evidence: append(down, up...)}
	}
	return CheckOutput{Status: StepPass, Summary: fmt.Sprintf("all %d backends UP (%d ready instances)", len(up), ready), Evidence: append([]string{count}, up...)}
}

func checkLatency(_ context.Context, in CheckInput) CheckOutput {
	maxP99, over := limit(in, "max_p99_seconds", func(t health.Thresholds) health.Bound { return t.LatencyP99 })
	dep := argString(in.Args, "deployment", "wotr-api")
	var bad, good []string
	for _, i := range apiInstances(in.Snapshot, dep) {
		if i.RPS == 0 {
			continue
		}
		line := fmt.Sprintf("%s: p50 %.1fms p99 %.1fms at %.1f req/s", i.Pod, i.P50*1000, i.P99*1000, i.RPS)
		if over(i.P99) {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	if len(bad)+len(good) == 0 {
		return CheckOutput{Status: StepPass, Summary: "no traffic to judge latency"}
	}
	return verdict(bad, good, fmt.Sprintf("p99 under %.0fms everywhere", maxP99*1000), fmt.Sprintf("%d instances with p99 over %.0fms", len(bad), maxP99*1000))
}

func checkErrorRate(_ context.Context, in CheckInput) CheckOutput {
	max, over := limit(in, "max", func(t health.Thresholds) health.Bound { return t.ErrorRate })
	var bad, good []string
	for _, i := range apiInstances(in.Snapshot, argString(in.Args, "deployment", "wotr-api")) {
		line := fmt.Sprintf("%s: %.2f%% errors", i.Pod, i.ErrorRate*100)
		if over(i.ErrorRate) {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, fmt.Sprintf("error rate under %.1f%%", max*100), fmt.Sprintf("%d instances above %.1f%% errors", len(bad), max*100))
}

func checkBackupFresh(_ context.Context, in CheckInput) CheckOutput {
	maxAge, err := time.ParseDuration(argString(in.Args, "max_age", "26h"))
	if err != nil {
		return CheckOutput{Status: StepError, Summary: "max_age: " + err.Error()}
	}
	stores := strings.Split(argString(in.Args, "stores", "postgres,clickhouse,redis"), ",")
	latest := map[string]state.Backup{}
	for _, b := range in.Snapshot.Backups {
		if b.State != "done" {
			continue
		}
		if cur, ok := latest[string(b.Store)]; !ok || b.Finished.After(cur.Finished) {
			latest[string(b.Store)] = b
		}
	}
	var bad, good []string
	now := in.Snapshot.TakenAt
	for _, s := range stores {
		b, ok := latest[s]
		if !ok {
			bad = append(bad, s+": no completed backup")
			continue
		}
		age := now.Sub(b.Finished)
		line := fmt.Sprintf("%s: %s, %d bytes, age %s", s, b.ID, b.SizeBytes, age.Round(time.Second))
		if age > maxAge {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, "every store has a fresh backup", "a store lacks a fresh backup")
}

func checkStandbyReady(_ context.Context, in CheckInput) CheckOutput {
	_, over := limit(in, "max_seconds", func(t health.Thresholds) health.Bound { return t.ReplicationLag })
	if len(in.Snapshot.Replication.Postgres) == 0 {
		return CheckOutput{Status: StepFail, Summary: "no PostgreSQL standby streaming"}
	}
	var bad, good []string
	for _, p := range in.Snapshot.Replication.Postgres {
		line := fmt.Sprintf("%s: %s, replay lag %.1fs, paused=%v", p.Name, p.State, p.ReplayLagSeconds, p.ReplayPaused)
		if p.State != "streaming" || over(p.ReplayLagSeconds) || p.ReplayPaused {
			bad = append(bad, line)
		} else {
			good = append(good, line)
		}
	}
	return verdict(bad, good, "standby streaming and current", "standby not ready to promote")
}

func checkRegionRole(_ context.Context, in CheckInput) CheckOutput {
	want := argString(in.Args, "primary", "primary")
	var ev []string
	ok := false
	for _, r := range in.Snapshot.Regions {
		ev = append(ev, fmt.Sprintf("%s: %s", r.Name, r.Role))
		if r.Name == want && r.Role == state.RolePrimary {
			ok = true
		}
	}
	if !ok {
		return CheckOutput{Status: StepFail, Summary: fmt.Sprintf("region %s is not primary", want), Evidence: ev}
	}
	return CheckOutput{Status: StepPass, Summary: fmt.Sprintf("region %s is primary", want), Evidence: ev}
}
