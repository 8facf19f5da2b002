package collect

import (
	"math"
	"sort"
	"time"

	"github.com/wotr/wotr-tui/ops/capacity"
	"github.com/wotr/wotr-tui/ops/state"
)

// assemble builds a snapshot from every source's last good value. Slices are
// fresh so a published snapshot is never touched again.
func (c *Collector) assemble(now time.Time) state.Snapshot {
	snap := state.Snapshot{Context: c.opts.Context, TakenAt: now}
	loads := map[string]*instanceLoad{}
	loadMeta := map[string]state.Meta{}
	kafkaSet := false
	for _, s := range c.sources {
		snap.Sources = append(snap.Sources, s.meta)
		if !s.ok {
			continue
		}
		switch s.kind {
		case kindInstances:
			for _, in := range s.value.([]state.Instance) {
				in.Meta = s.meta
				snap.Instances = append(snap.Instances, in)
			}
		case kindDeployments:
			for _, d := range s.value.([]state.Deployment) {
				d.Meta = s.meta
				snap.Deployments = append(snap.Deployments, d)
			}
		case kindNodes:
			for _, n := range s.value.([]state.Node) {
				n.Meta = s.meta
				if n.Region == "" {
					n.Region = s.region
				}
				snap.Nodes = append(snap.Nodes, n)
			}
		case kindKafka:
			if !kafkaSet {
				k := s.value.(state.KafkaState)
				k.Meta = s.meta
				snap.Kafka = k
				kafkaSet = true
			}
		case kindLoad:
			for k, v := range s.value.(loadResult) {
				loads[k] = v
				loadMeta[k] = s.meta
			}
		case kindPGReplication:
			for _, p := range s.value.([]state.PGStandby) {
				p.Meta = s.meta
				snap.Replication.Postgres = append(snap.Replication.Postgres, p)
			}
		case kindCHReplicas:
			for _, r := range s.value.([]state.CHReplica) {
				r.Meta = s.meta
				snap.Replication.ClickHouse = append(snap.Replication.ClickHouse, r)
			}
		case kindRedisReplication:
			for _, r := range s.value.([]state.RedisReplica) {
				r.Meta = s.meta
				snap.Replication.Redis = append(snap.Replication.Redis, r)
			}
		case kindPGPool, kindRedisPool:
			p := s.value.(state.StorePool)
			p.Meta = s.meta
			snap.Pools.Stores = append(snap.Pools.Stores, p)
		case kindBackups:
			snap.Backups = append(snap.Backups, s.value.([]state.Backup)...)
		case kindAlerts:
			for _, a := range s.value.([]state.Alert) {
				a.Meta = s.meta
				snap.Alerts = append(snap.Alerts, a)
			}
		}
	}
	// Per-instance load and pools, and each instance's share of the total.
	var total float64
	for i := range snap.Instances {
		in := &snap.Instances[i]
		l := loads[in.Pod]
		if l == nil && in.Address != "" {
			l = loads[in.Address]
		}
		if l == nil {
			continue
		}
		in.RPS, in.P50, in.P99, in.ErrorRate = l.RPS, l.P50, l.P99, l.ErrorRate
		if l.CPU > 0 {
			in.CPU = l.CPU
		}
		if l.Memory > 0 {
			in.Memory = l.Memory
		}
		total += in.RPS
		if len(l.Pools) > 0 {
			snap.Pools.Instances = append(snap.Pools.Instances, state.InstancePools{Pod: in.Pod, Pools: append([]state.Pool(nil), l.Pools...)})
		}
	}
	if total > 0 {
		for i := range snap.Instances {
			snap.Instances[i].LoadShare = snap.Instances[i].RPS / total
		}
	}
	sort.SliceStable(snap.Instances, func(i, j int) bool {
		a, b := snap.Instances[i], snap.Instances[j]
		if a.Deployment != b.Deployment {
			return a.Deployment < b.Deployment
		}
		return a.Pod < b.Pod
	})
	sort.SliceStable(snap.Nodes, func(i, j int) bool { return snap.Nodes[i].Name < snap.Nodes[j].Name })
	sort.SliceStable(snap.Backups, func(i, j int) bool { return snap.Backups[i].StartedAt.After(snap.Backups[j].StartedAt) })
	snap.Pools.Budget = c.budget(&snap)
	snap.Regions = c.RegionSummary(&snap, now)
	return snap
}

// budget: for each store with a known server limit, pool max x instances at
// the HPA maximum plus rolling-update surge, summed over deployments.
func (c *Collector) budget(s *state.Snapshot) []state.Budget {
	limits := map[state.System]state.StorePool{}
	// A deployment in a region with a server of its own (a region with its
	// own cluster) connects there, not to the server the budget judges.
	ownServer := map[state.System]map[string]bool{}
	for _, p := range s.Pools.Stores {
		if p.Limit > 0 {
			if _, ok := limits[p.Store]; !ok {
				limits[p.Store] = p
			}
			if ownServer[p.Store] == nil {
				ownServer[p.Store] = map[string]bool{}
			}
			ownServer[p.Store][p.Region] = true
		}
	}
	if len(limits) == 0 {
		return nil
	}
	// observed pool max per deployment and store
	podDep := map[string]string{}
	for _, in := range s.Instances {
		podDep[in.Pod] = in.Deployment
	}
	observed := map[string]map[state.System]int{}
	for _, ip := range s.Pools.Instances {
		d := podDep[ip.Pod]
		for _, p := range ip.Pools {
			if observed[d] == nil {
				observed[d] = map[state.System]int{}
			}
			if n := int(p.Size); n > observed[d][p.Store] {
				observed[d][p.Store] = n
			}
		}
	}
	byStore := map[state.System]*state.Budget{}
	for _, d := range s.Deployments {
		n := int(d.Desired)
		if d.HPA != nil && d.HPA.Max > 0 {
			n = int(d.HPA.Max)
		}
		surge := capacity.Surge(d.MaxSurge, n)
		per := observed[d.Name]
		if len(per) == 0 {
			per = map[state.System]int{}
			for _, st := range capacity.StoresOf(d.Name) {
				per[st] = capacity.DefaultPoolMax[st]
			}
		}
		for st, size := range per {
			l, ok := limits[st]
			if !ok || size == 0 || (d.Region != l.Region && ownServer[st][d.Region]) {
				continue
			}
			b := byStore[st]
			if b == nil {
				b = &state.Budget{Store: st}
				byStore[st] = b
			}
			if size > b.PerInstance {
				b.PerInstance = size
			}
			b.Instances += n + surge
			b.Total += capacity.Connections{PerInstance: size, Instances: n, Surge: surge}.Total()
		}
	}
	var out []state.Budget
	for st, b := range byStore {
		l := limits[st]
		b.Limit = l.Limit
		b.OK = capacity.Judge(b.Total, l.Limit, l.Reserved) != capacity.Over
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Store < out[j].Store })
	return out
}

// RegionSummary: role, standby lag, last backup age, nodes and readiness.
func (c *Collector) RegionSummary(s *state.Snapshot, now time.Time) []state.Region {
	lastBackup := -1.0
	for _, b := range s.Backups {
		if b.State != "done" {
			continue
		}
		t := b.Finished
		if t.IsZero() {
			t = b.StartedAt
		}
		if age := now.Sub(t).Seconds(); lastBackup < 0 || age < lastBackup {
			lastBackup = age
		}
	}
	var out []state.Region
	for _, rs := range c.regions {
		r := state.Region{Name: rs.Region, Role: rs.Role, LastBackupAge: lastBackup, Ready: true}
		if live := livePGRole(s, rs.Region); live != "" {
			r.Role = live // a promote done elsewhere shows before the config is reloaded
		}
		for _, n := range s.Nodes {
			// a node's region label wins over the region whose cluster listed it
			if n.Region == rs.Region || (n.Region == "" && n.Meta.Region == rs.Region) {
				r.Nodes++
			}
		}
		if r.Role != state.RolePrimary {
			for _, p := range s.Replication.Postgres {
				// the standby's own report, or the primary's row naming this region
				if p.Meta.Region == rs.Region || p.Name == rs.Region {
					r.StandbyLagSec = math.Max(r.StandbyLagSec, p.ReplayLagSeconds)
				}
			}
		}
		polled := 0
		for _, m := range s.Sources {
			if m.Region != rs.Region {
				continue
			}
			polled++
			if m.Stale || m.FetchedAt.IsZero() {
				r.Ready = false
				note := m.Source + ": no data yet"
				if m.Error != "" {
					note = m.Source + ": " + m.Error
				}
				r.Notes = append(r.Notes, note)
			}
		}
		if polled == 0 {
			r.Ready = false
		}
		out = append(out, r)
	}
	return out
}

// livePGRole is the role the region's PostgreSQL shows: "secondary" when it
// reports itself as a standby, "primary" when it streams to a standby, and ""
// when its replication data says neither (then the config's role stands).
func livePGRole(s *state.Snapshot, region string) state.Role {
	role := state.Role("")
	for _, p := range s.Replication.Postgres {
		if p.Meta.Region != region {
			continue
		}
		if p.Self {
			return state.RoleSecondary
		}
		if p.State == "streaming" {
			role = state.RolePrimary
		}
	}
	return role
}
