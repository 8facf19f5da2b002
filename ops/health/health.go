// Package health judges figures: one table of thresholds, shared by the
// console's colours, the CLI's status and the runbooks' checks, so all three
// call the same value "needs a look" at the same point.
package health

import (
	"github.com/wotr/wotr-tui/ops/state"
)

// Level is the health of a figure, a row or an area, ordered by severity.
type Level int

const (
	None Level = iota // not a health value (plain row)
	OK
	Warn
	Crit
)

// String is the badge text of a level.
func (l Level) String() string {
	switch l {
	case OK:
		return "OK"
	case Warn:
		return "WARN"
	case Crit:
		return "CRIT"
	}
	return "-"
}

// Worst of two levels.
func Worst(a, b Level) Level {
	if b > a {
		return b
	}
	return a
}

// Bound is a warn and a critical threshold; a value at or above one is at
// that level.
type Bound struct {
	Warn float64
	Crit float64
}

// Judge places v against b; unknown values (negative, NaN) are OK, the
// staleness badges speak for them.
func (b Bound) Judge(v float64) Level {
	switch {
	case v >= b.Crit:
		return Crit
	case v >= b.Warn:
		return Warn
	}
	return OK
}

// Thresholds are the values the console, status and runbooks judge with.
// They are "needs a look", not alert rules.
type Thresholds struct {
	ReplicationLag  Bound // seconds behind, any store
	ErrorRate       Bound // fraction of requests answered 5xx
	PoolUtilization Bound // fraction of a pool or connection limit in use
	LatencyP99      Bound // seconds, per API instance
	ConsumerLag     Bound // seconds behind at the group's processing rate
}

// Defaults is the table in force when a context overrides nothing.
func Defaults() Thresholds {
	return Thresholds{
		ReplicationLag:  Bound{Warn: 5, Crit: 60},
		ErrorRate:       Bound{Warn: 0.01, Crit: 0.05},
		PoolUtilization: Bound{Warn: 0.80, Crit: 0.95},
		LatencyP99:      Bound{Warn: 0.25, Crit: 1},
		ConsumerLag:     Bound{Warn: 30, Crit: 300},
	}
}

// Replication of a lag in seconds.
func (t Thresholds) Replication(sec float64) Level { return t.ReplicationLag.Judge(sec) }

// Pool of a utilisation fraction.
func (t Thresholds) Pool(f float64) Level { return t.PoolUtilization.Judge(f) }

// Errors of an error-rate fraction.
func (t Thresholds) Errors(f float64) Level { return t.ErrorRate.Judge(f) }

// Latency of a p99 in seconds.
func (t Thresholds) Latency(sec float64) Level { return t.LatencyP99.Judge(sec) }

// Instance: not ready or erroring. Latency colours its own cell only, so a
// slow instance is not an unhealthy one.
func (t Thresholds) Instance(in state.Instance) Level {
	if !in.Ready {
		return Crit
	}
	l := t.Errors(in.ErrorRate)
	if in.Stale {
		l = Worst(l, Warn)
	}
	return l
}

// Instances of one deployment: a minority critical is degraded, not an outage.
func (t Thresholds) Instances(ins []state.Instance) Level {
	if len(ins) == 0 {
		return Warn
	}
	l, crit := OK, 0
	for _, in := range ins {
		il := t.Instance(in)
		l = Worst(l, il)
		if il == Crit {
			crit++
		}
	}
	if l == Crit && crit*2 < len(ins) {
		l = Warn
	}
	return l
}

// PG of a standby.
func (t Thresholds) PG(s state.PGStandby) Level {
	if s.State != "" && s.State != "streaming" {
		return Crit
	}
	l := t.Replication(s.ReplayLagSeconds)
	if s.ReplayPaused {
		l = Worst(l, Warn)
	}
	return l
}

// CH of a replica.
func (t Thresholds) CH(r state.CHReplica) Level {
	if r.IsReadonly || r.SessionExpired {
		return Crit
	}
	return t.Replication(r.AbsoluteDelay)
}

// Redis of a replica.
func (t Thresholds) Redis(r state.RedisReplica) Level {
	if r.LinkStatus != "up" {
		return Crit
	}
	return t.Replication(r.LagSeconds)
}

// ReplicationAll is the worst level of every replica of every store; Warn
// when none reports.
func (t Thresholds) ReplicationAll(r state.Replication) Level {
	if len(r.Postgres)+len(r.ClickHouse)+len(r.Redis) == 0 {
		return Warn
	}
	l := OK
	for _, x := range r.Postgres {
		l = Worst(l, t.PG(x))
	}
	for _, x := range r.ClickHouse {
		l = Worst(l, t.CH(x))
	}
	for _, x := range r.Redis {
		l = Worst(l, t.Redis(x))
	}
	return l
}

// Status maps a Burrow consumer status onto a level.
func Status(s state.Status) Level {
	switch s {
	case state.StatusOK:
		return OK
	case state.StatusWarn, state.StatusRewind:
		return Warn
	case state.StatusStall, state.StatusStop, state.StatusErr:
		return Crit
	}
	return None
}

// Node: not ready is critical, cordoned is a warning.
func Node(n state.Node) Level {
	switch {
	case !n.Ready:
		return Crit
	case n.Cordoned:
		return Warn
	}
	return OK
}

// Deployment: no ready replica is critical, fewer than desired a warning.
func Deployment(d state.Deployment) Level {
	switch {
	case d.Desired > 0 && d.Ready == 0:
		return Crit
	case d.Ready < d.Desired:
		return Warn
	}
	return OK
}

// Backup of one backup.
func Backup(b state.Backup) Level {
	switch b.State {
	case "failed":
		return Crit
	case "running":
		return None
	}
	return OK
}

// Region of its DR readiness: a secondary that cannot take over is critical.
func Region(r state.Region) Level {
	switch {
	case r.Role == state.RoleSecondary && !r.Ready:
		return Crit
	case !r.Ready:
		return Warn
	}
	return OK
}

// WorstPool is the highest utilisation of any instance pool or server
// connection limit, and where it is.
func WorstPool(p state.Pools) (float64, string) {
	worst, where := 0.0, ""
	for _, ip := range p.Instances {
		for _, pl := range ip.Pools {
			if u := pl.Utilization(); u > worst {
				worst, where = u, string(pl.Store)
			}
		}
	}
	for _, st := range p.Stores {
		if st.Limit > 0 {
			if u := float64(st.Connections) / float64(st.Limit); u > worst {
				worst, where = u, string(st.Store)+" server"
			}
		}
	}
	return worst, where
}

// Alerts: a firing critical alert is critical, any other firing alert a
// warning; pending ones have not held long enough to count.
func Alerts(as []state.Alert) Level {
	l := OK
	for _, a := range as {
		if a.State != "firing" {
			continue
		}
		if a.Severity == "critical" {
			return Crit
		}
		l = Warn
	}
	return l
}
