// Package present is how figures look, with no styling: one formatter per
// quantity and the rows of the CLI's tables. The console formats every
// number through the same functions, so `get`, `status` and the screens print
// the same value the same way.
package present

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/lagstate"
	"github.com/wotr/wotr-tui/ops/state"
)

// Table is a header and rows of cells.
type Table struct {
	Title   string
	Headers []string
	Rows    [][]string
}

// WriteCSV prints t's header and rows as RFC 4180 CSV, for spreadsheets.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Headers); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	return cw.Error()
}

// Write prints t aligned in columns (kubectl's style).
func Write(w io.Writer, t Table) error {
	if t.Title != "" {
		if _, err := fmt.Fprintln(w, t.Title); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Headers, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func yesno(b bool, y, n string) string {
	if b {
		return y
	}
	return n
}

// Instances: one row per pod.
func Instances(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"POD", "READY", "NODE", "ZONE", "RPS", "SHARE", "P50", "P99", "ERRORS", "CPU", "MEM"}}
	if wide {
		t.Headers = append(t.Headers, "CPU REQ/LIM", "MEM REQ/LIM", "ADDRESS", "AGE")
	}
	for _, in := range s.Instances {
		r := []string{in.Pod, yesno(in.Ready, "yes", "no"), in.Node, in.Zone, Rate(in.RPS), Percent(in.LoadShare),
			Millis(in.P50), Millis(in.P99), Percent(in.ErrorRate),
			cpuOf(in.CPU, in.CPULimit), memOf(in.Memory, in.MemLimit)}
		if wide {
			r = append(r, fmt.Sprintf("%gm/%gm", in.CPURequest*1000, in.CPULimit*1000),
				Bytes(in.MemRequest)+"/"+Bytes(in.MemLimit), in.Address, SourceAge(in.Meta, s.TakenAt))
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

func cpuOf(used, limit float64) string {
	s := strconv.Itoa(int(math.Round(used*1000))) + "m"
	if limit > 0 {
		s += " (" + Percent(used/limit) + ")"
	}
	return s
}

func memOf(used, limit float64) string {
	s := Bytes(used)
	if limit > 0 {
		s += " (" + Percent(used/limit) + ")"
	}
	return s
}

// Deployments with HPA bounds and targets.
func Deployments(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"DEPLOYMENT", "DESIRED", "CURRENT", "READY", "HPA MIN/MAX", "TARGETS", "LAST SCALE"}}
	// Each region's cluster has Deployments of the same names.
	regional := multiRegion(s.Deployments)
	if regional {
		t.Headers = append([]string{"REGION"}, t.Headers...)
	}
	for _, d := range s.Deployments {
		hpa, targets, last := "-", "-", "-"
		if h := d.HPA; h != nil {
			hpa = fmt.Sprintf("%d/%d", h.Min, h.Max)
			var ts []string
			for _, m := range h.Metrics {
				cur := m.Current
				if cur == "" {
					cur = "<unknown>"
				}
				ts = append(ts, fmt.Sprintf("%s %s/%s", m.Name, cur, m.Target))
			}
			targets = strings.Join(ts, ", ")
			if !h.LastScaleTime.IsZero() {
				last = Age(s.TakenAt.Sub(h.LastScaleTime)) + " ago"
			}
		}
		row := []string{d.Name, itoa(d.Desired), itoa(d.Current), itoa(d.Ready), hpa, targets, last}
		if regional {
			row = append([]string{d.Region}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func itoa[T ~int | ~int32 | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// Lag: one row per group; wide adds one row per partition under it.
func Lag(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"GROUP", "STATE", "MEMBERS", "PARTITIONS", "LAG", "LAG TIME", "LAG STATE", "STATUS"}}
	for _, g := range s.Kafka.Groups {
		t.Rows = append(t.Rows, []string{g.Name, g.State, itoa(len(g.Members)), itoa(len(g.Partitions)),
			Count(g.TotalLag), Seconds(g.LagSeconds), LagState(g), string(g.Status)})
		if wide {
			for _, p := range g.Partitions {
				committed := itoa(p.Committed)
				if p.Committed < 0 {
					committed = "-"
				}
				t.Rows = append(t.Rows, []string{"  " + p.Topic + "/" + itoa(p.Partition), committed + "/" + itoa(p.End),
					short(p.Member), "", Count(p.Lag), Seconds(p.LagSeconds), "", string(p.Status)})
			}
		}
	}
	return t
}

// LagState names what the group's lag is doing, with the ETA when catching
// up; before the collector has judged it (one poll), the lag alone.
func LagState(g state.Group) string {
	switch {
	case g.LagState == string(lagstate.CatchingUp) && g.ETASeconds >= 0:
		return "catching up (ETA " + Seconds(g.ETASeconds) + ")"
	case g.LagState != "":
		return g.LagState
	case g.TotalLag == 0:
		return string(lagstate.CaughtUp)
	}
	return "unknown"
}

func short(id string) string {
	if len(id) > 24 {
		return id[:24] + "…"
	}
	return id
}

// Topics with partitions and produce rate.
func Topics(s state.Snapshot) Table {
	t := Table{Headers: []string{"TOPIC", "PARTITIONS", "REPLICAS", "PRODUCE/S"}}
	for _, tp := range s.Kafka.Topics {
		t.Rows = append(t.Rows, []string{tp.Name, itoa(tp.Partitions), itoa(tp.Replicas), Rate(tp.ProduceRate)})
	}
	return t
}

// Replication of all stores side by side, normalised to seconds.
func Replication(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"STORE", "REPLICA", "STATE", "LAG", "LAG BYTES/QUEUE", "DETAIL"}}
	if wide {
		t.Headers = append(t.Headers, "SOURCE", "AGE")
	}
	add := func(m state.Meta, r ...string) {
		if wide {
			r = append(r, m.Source, SourceAge(m, s.TakenAt))
		}
		t.Rows = append(t.Rows, r)
	}
	for _, p := range s.Replication.Postgres {
		// A primary reports its standbys; a standby reports itself.
		detail := fmt.Sprintf("seen by %s: write %s flush %s", p.Region, Seconds(p.WriteLagSeconds), Seconds(p.FlushLagSeconds))
		if p.Self {
			detail = "own report: last replay " + Age(s.TakenAt.Sub(p.LastReplay)) + " ago"
		}
		if p.ReplayPaused {
			detail += ", replay PAUSED"
		}
		add(p.Meta, "postgres", p.Name, p.State, Seconds(p.ReplayLagSeconds), Bytes(p.ReplayLagBytes), detail)
	}
	for _, r := range s.Replication.ClickHouse {
		state := "ok"
		switch {
		case r.SessionExpired:
			state = "session expired"
		case r.IsReadonly:
			state = "readonly"
		}
		add(r.Meta, "clickhouse", r.Replica+" "+r.Database+"."+r.Table, state, Seconds(r.AbsoluteDelay),
			"queue "+Count(r.QueueSize), fmt.Sprintf("inserts in queue %d%s", r.InsertsInQueue, yesno(r.IsLeader, ", leader", "")))
	}
	for _, r := range s.Replication.Redis {
		detail := "seen by " + r.Region + ": seconds since last ack"
		if r.Self {
			detail = "own report: seconds since last I/O with primary"
		}
		add(r.Meta, "redis", r.Name, "link "+r.LinkStatus, Seconds(r.LagSeconds), Bytes(r.OffsetLag), detail)
	}
	return t
}

// Pools: per store server side, then the budget; wide adds per-instance pools.
func Pools(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"STORE", "SCOPE", "IN USE", "SIZE/LIMIT", "UTIL", "WAITS", "DETAIL"}}
	for _, p := range s.Pools.Stores {
		util := "-"
		if p.Limit > 0 {
			util = Percent(float64(p.Connections) / float64(p.Limit))
		}
		var apps []string
		for a, n := range p.ByApplication {
			apps = append(apps, fmt.Sprintf("%s=%d", a, n))
		}
		sort.Strings(apps)
		t.Rows = append(t.Rows, []string{string(p.Store), "server " + p.Region, itoa(p.Connections), itoa(p.Limit), util, "", strings.Join(apps, " ")})
	}
	for _, b := range s.Pools.Budget {
		t.Rows = append(t.Rows, []string{string(b.Store), "budget", itoa(b.Total), itoa(b.Limit),
			Percent(float64(b.Total) / float64(b.Limit)), "",
			fmt.Sprintf("%d per instance x %d instances (HPA max + surge) %s", b.PerInstance, b.Instances, yesno(b.OK, "fits", "EXCEEDS LIMIT"))})
	}
	// per store sums over instances
	type agg struct{ inUse, size, waits float64 }
	sums := map[string]*agg{}
	var stores []string
	for _, ip := range s.Pools.Instances {
		for _, p := range ip.Pools {
			a := sums[string(p.Store)]
			if a == nil {
				a = &agg{}
				sums[string(p.Store)] = a
				stores = append(stores, string(p.Store))
			}
			a.inUse += p.InUse
			a.size += p.Size
			a.waits += p.Waits
			if wide {
				t.Rows = append(t.Rows, []string{string(p.Store), ip.Pod, Count(p.InUse), Count(p.Size), Percent(p.Utilization()), Count(p.Waits), ""})
			}
		}
	}
	sort.Strings(stores)
	for _, st := range stores {
		a := sums[st]
		util := "-"
		if a.size > 0 {
			util = Percent(a.inUse / a.size)
		}
		t.Rows = append(t.Rows, []string{st, "all instances", Count(a.inUse), Count(a.size), util, Count(a.waits), ""})
	}
	return t
}

// Nodes of every region.
func Nodes(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"NODE", "STATUS", "PODS", "ZONE", "REGION"}}
	if wide {
		t.Headers = append(t.Headers, "CPU REQ/ALLOC", "PODS ALLOC")
	}
	for _, n := range s.Nodes {
		st := yesno(n.Ready, "Ready", "NotReady")
		if n.Cordoned {
			st += ",SchedulingDisabled"
		}
		r := []string{n.Name, st, itoa(n.Pods), n.Zone, n.Region}
		if wide {
			r = append(r, fmt.Sprintf("%.1f/%.1f", n.CPUReq, n.CPUAlloc), itoa(n.PodsAlloc))
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// Regions: role, standby lag, last backup, readiness.
func Regions(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"REGION", "ROLE", "READY", "NODES", "PODS", "STANDBY LAG", "LAST BACKUP", "DEPLOYMENTS", "NOTES"}}
	for _, r := range s.Regions {
		lag := "-"
		if r.Role != state.RolePrimary {
			lag = Seconds(r.StandbyLagSec)
		}
		backup := "none"
		if r.LastBackupAge >= 0 {
			backup = AgeSeconds(r.LastBackupAge) + " ago"
		}
		notes := strings.Join(r.Notes, "; ")
		if !wide && len(notes) > 60 {
			notes = notes[:60] + "…"
		}
		w := WorkloadOf(s, r.Name)
		deps := w.Deployments
		if deps == "" {
			deps = "-"
		}
		t.Rows = append(t.Rows, []string{r.Name, string(r.Role), yesno(r.Ready, "yes", "no"), itoa(r.Nodes), w.PodsCell(), lag, backup, deps, notes})
	}
	return t
}

// Backups: newest first; without wide only the latest per store.
func Backups(s state.Snapshot, wide bool) Table {
	t := Table{Headers: []string{"STORE", "ID", "STATE", "AGE", "SIZE", "VERIFIED", "LOCATION"}}
	if wide {
		t.Headers = append(t.Headers, "WAL", "ERROR")
	}
	seen := map[string]bool{}
	for _, b := range s.Backups {
		if !wide && seen[string(b.Store)] {
			continue
		}
		seen[string(b.Store)] = true
		r := []string{string(b.Store), b.ID, b.State, Age(s.TakenAt.Sub(b.StartedAt)), Bytes(b.SizeBytes), Verification(b.Verification, s.TakenAt), b.Location}
		if wide {
			r = append(r, b.WALPosition, b.Error)
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// Sources: every polled source with its status.
func Sources(s state.Snapshot) Table {
	t := Table{Headers: []string{"SOURCE", "STATUS", "AGE", "TOOK", "ERROR"}}
	for _, m := range s.Sources {
		st := "ok"
		switch {
		case m.Stale:
			st = "STALE"
		case m.FetchedAt.IsZero():
			st = "FAILED"
		}
		if m.Error != "" && !m.Stale {
			st = "FAILED"
		}
		t.Rows = append(t.Rows, []string{m.Source, st, SourceAge(m, s.TakenAt), Millis(m.Duration / 1000), m.Error})
	}
	return t
}

// Failed lists sources whose last poll failed, for exit codes and badges.
func Failed(s state.Snapshot) []state.Meta {
	var out []state.Meta
	for _, m := range s.Sources {
		if m.Error != "" || m.FetchedAt.IsZero() {
			out = append(out, m)
		}
	}
	return out
}

// Overview is the status screen: one line per area, judged by th (the
// console's thresholds).
func Overview(s state.Snapshot, th health.Thresholds) Table {
	t := Table{Headers: []string{"AREA", "STATUS", "SUMMARY"}}
	ready, rps, worstErr := 0, 0.0, 0.0
	for _, in := range s.Instances {
		if in.Ready {
			ready++
		}
		rps += in.RPS
		worstErr = math.Max(worstErr, in.ErrorRate)
	}
	t.Rows = append(t.Rows, []string{"instances", th.Instances(s.Instances).String(),
		fmt.Sprintf("%d/%d ready, %s req/s, worst errors %s", ready, len(s.Instances), Rate(rps), Percent(worstErr))})
	cordoned, notReady := 0, 0
	nodes := health.OK
	for _, n := range s.Nodes {
		if n.Cordoned {
			cordoned++
		}
		if !n.Ready {
			notReady++
		}
		nodes = health.Worst(nodes, health.Node(n))
	}
	t.Rows = append(t.Rows, []string{"nodes", nodes.String(),
		fmt.Sprintf("%d nodes, %d not ready, %d cordoned", len(s.Nodes), notReady, cordoned)})
	for _, g := range s.Kafka.Groups {
		t.Rows = append(t.Rows, []string{"lag " + g.Name, string(g.Status),
			fmt.Sprintf("%s records, %s behind, %s", Count(g.TotalLag), Seconds(g.LagSeconds), LagState(g))})
	}
	worst := -1.0
	for _, p := range s.Replication.Postgres {
		worst = math.Max(worst, p.ReplayLagSeconds)
	}
	for _, r := range s.Replication.ClickHouse {
		worst = math.Max(worst, r.AbsoluteDelay)
	}
	for _, r := range s.Replication.Redis {
		worst = math.Max(worst, r.LagSeconds)
	}
	n := len(s.Replication.Postgres) + len(s.Replication.ClickHouse) + len(s.Replication.Redis)
	t.Rows = append(t.Rows, []string{"replication", th.ReplicationAll(s.Replication).String(),
		fmt.Sprintf("%d replicas, worst lag %s", n, Seconds(worst))})
	if u, where := health.WorstPool(s.Pools); where != "" {
		t.Rows = append(t.Rows, []string{"pools", th.Pool(u).String(), fmt.Sprintf("max utilisation %s (%s)", Percent(u), where)})
	}
	for _, b := range s.Pools.Budget {
		t.Rows = append(t.Rows, []string{string("budget " + b.Store), yesno(b.OK, "OK", "WARN"),
			fmt.Sprintf("%d of %d connections at HPA max", b.Total, b.Limit)})
	}
	for _, r := range s.Regions {
		t.Rows = append(t.Rows, []string{"region " + r.Name, health.Region(r).String(), string(r.Role)})
	}
	if AlertSources(s) {
		t.Rows = append(t.Rows, []string{"alerts", health.Alerts(s.Alerts).String(), AlertsSummary(s.Alerts)})
	}
	failed := Failed(s)
	var names []string
	for _, m := range failed {
		names = append(names, m.Source)
	}
	t.Rows = append(t.Rows, []string{"sources", yesno(len(failed) == 0, "OK", "ERR"),
		fmt.Sprintf("%d polled, %d failed %s", len(s.Sources), len(failed), strings.Join(names, " "))})
	return t
}

// Thresholds lists the table in force, for `status -o wide` and the
// console's help.
func Thresholds(th health.Thresholds) Table {
	t := Table{Headers: []string{"THRESHOLD", "WARN", "CRIT", "JUDGES"}}
	for _, k := range health.Keys {
		b := th.Get(k)
		f := Percent
		if k.Unit == health.Seconds {
			f = Seconds
		}
		t.Rows = append(t.Rows, []string{k.Name, f(b.Warn), f(b.Crit), k.Help})
	}
	return t
}
