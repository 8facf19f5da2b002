package collect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

type fakeNodes struct {
	mu    sync.Mutex
	nodes []state.Node
	err   error
	delay time.Duration
	calls atomic.Int32
}

func (f *fakeNodes) ReadNodes(ctx context.Context) ([]state.Node, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]state.Node(nil), f.nodes...), f.err
}

func (f *fakeNodes) set(n []state.Node, err error) {
	f.mu.Lock()
	f.nodes, f.err = n, err
	f.mu.Unlock()
}

type fakeCH struct{ delay time.Duration }

func (f fakeCH) ReadCHReplicas(ctx context.Context) ([]state.CHReplica, error) {
	select {
	case <-time.After(f.delay):
		return []state.CHReplica{{Replica: "ch-1", AbsoluteDelay: 3}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestCollectorKeepsLastGoodValueMarkedStale(t *testing.T) {
	nodes := &fakeNodes{nodes: []state.Node{{Name: "n1", Ready: true}}}
	c := New(Options{Context: "t"}, RegionSources{Region: "a", Role: "primary", Nodes: nodes})
	s := c.CollectOnce(context.Background())
	if len(s.Nodes) != 1 || s.Nodes[0].Stale || s.Nodes[0].Source != "kube/nodes@a" {
		t.Fatalf("first snapshot: %+v", s.Nodes)
	}
	nodes.set(nil, errors.New("connection refused"))
	s = c.CollectOnce(context.Background())
	if len(s.Nodes) != 1 || !s.Nodes[0].Stale || s.Nodes[0].Error != "connection refused" {
		t.Fatalf("after failure: %+v", s.Nodes)
	}
	if !s.Sources[0].Stale || s.Regions[0].Ready {
		t.Errorf("source meta %+v, region ready %v; want stale and not ready", s.Sources[0], s.Regions[0].Ready)
	}
	nodes.set([]state.Node{{Name: "n1"}, {Name: "n2"}}, nil)
	s = c.CollectOnce(context.Background())
	if len(s.Nodes) != 2 || s.Nodes[0].Stale || s.Nodes[0].Error != "" {
		t.Fatalf("after recovery: %+v", s.Nodes)
	}
}

func TestCollectorSlowSourceNeverDelaysOthers(t *testing.T) {
	nodes := &fakeNodes{nodes: []state.Node{{Name: "n1"}}}
	c := New(Options{Context: "t", Interval: 20 * time.Millisecond, Timeout: 2 * time.Second},
		RegionSources{Region: "a", Role: "primary", Nodes: nodes, CHReplicas: fakeCH{delay: time.Hour}})
	ch, cancelSub := c.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(time.Second)
	for nodes.calls.Load() < 3 {
		select {
		case s := <-ch:
			if len(s.Replication.ClickHouse) != 0 {
				t.Fatal("clickhouse answered although it hangs")
			}
		case <-deadline:
			t.Fatalf("nodes polled %d times within 1s while clickhouse hangs; want >= 3", nodes.calls.Load())
		}
	}
	if s := c.Latest(); len(s.Nodes) != 1 {
		t.Fatalf("latest nodes = %+v", s.Nodes)
	}
}

func TestCollectorTimeoutMarksSourceStale(t *testing.T) {
	c := New(Options{Timeout: 50 * time.Millisecond},
		RegionSources{Region: "a", CHReplicas: fakeCH{delay: time.Hour}})
	t0 := time.Now()
	s := c.CollectOnce(context.Background())
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("CollectOnce took %s with a 50ms timeout", d)
	}
	if !s.Sources[0].Stale || s.Sources[0].Error == "" {
		t.Fatalf("source = %+v, want stale with error", s.Sources[0])
	}
}

func TestCollectorHistoryIsBounded(t *testing.T) {
	nodes := &fakeNodes{}
	c := New(Options{HistoryLen: 5}, RegionSources{Region: "a", Nodes: nodes})
	for i := 0; i < 12; i++ {
		c.CollectOnce(context.Background())
	}
	if h := c.History("total/rps"); len(h) != 5 {
		t.Fatalf("history len %d, want 5", len(h))
	}
	if c.History("nope") != nil {
		t.Error("unknown series has history")
	}
}

func TestSubscribeNewestWinsAndCancelCloses(t *testing.T) {
	nodes := &fakeNodes{}
	c := New(Options{}, RegionSources{Region: "a", Nodes: nodes})
	ch, cancel := c.Subscribe()
	for i := 0; i < 3; i++ {
		nodes.set([]state.Node{{Name: fmt.Sprint("n", i)}}, nil)
		c.CollectOnce(context.Background())
	}
	s := <-ch
	if s.Nodes[0].Name != "n2" {
		t.Errorf("got %s, want the newest n2", s.Nodes[0].Name)
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Error("channel not closed after cancel")
	}
	cancel() // twice is safe
}

type fakeDeployments []state.Deployment

func (f fakeDeployments) ReadDeployments(context.Context) ([]state.Deployment, error) {
	return append([]state.Deployment(nil), f...), nil
}

type fakePool state.StorePool

func (f fakePool) ReadStorePool(context.Context) (state.StorePool, error) {
	return state.StorePool(f), nil
}

func TestConnectionBudgetAtHPAMaxWithSurge(t *testing.T) {
	deps := fakeDeployments{{Name: "wotr-api", Desired: 3, HPA: &state.HPA{Min: 3, Max: 10}, MaxSurge: "25%"}}
	c := New(Options{}, RegionSources{Region: "a", Role: "primary", Deployments: deps,
		PGPool:    fakePool{Store: "postgres", Limit: 100, Reserved: 3},
		RedisPool: fakePool{Store: "redis", Limit: 10000}})
	s := c.CollectOnce(context.Background())
	got := map[string]state.Budget{}
	for _, b := range s.Pools.Budget {
		got[string(b.Store)] = b
	}
	// 10 at the HPA max + ceil(25% of 10) = 13 instances; postgres 10 each.
	if b := got["postgres"]; b.Instances != 13 || b.Total != 130 || b.OK {
		t.Errorf("postgres budget %+v, want 13 instances, 130 total, not OK against 97", b)
	}
	if b := got["redis"]; b.Total != 650 || !b.OK {
		t.Errorf("redis budget %+v, want 650 OK", b)
	}
}

type fakeInstances []state.Instance

func (f fakeInstances) ListInstances(context.Context) ([]state.Instance, error) {
	return append([]state.Instance(nil), f...), nil
}

// scraper serves a counter that grows by a known amount between polls.
type fakeScraper struct {
	mu    sync.Mutex
	count map[string]float64
}

func (f *fakeScraper) Scrape(_ context.Context, addr string) ([]state.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.count[addr]
	s := func(name string, v float64, kv ...string) state.Sample {
		l := map[string]string{"__name__": name}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return state.Sample{Labels: l, Value: v}
	}
	return []state.Sample{
		s("fastapi_requests_total", n, "status", "200"),
		s("fastapi_requests_total", n/10, "status", "500"),
		s("fastapi_request_duration_seconds_bucket", n, "le", "0.1"),
		s("fastapi_request_duration_seconds_bucket", n*1.1, "le", "+Inf"),
		s("postgres_pool_size", 10),
		s("postgres_pool_in_use", 4),
		s("postgres_pool_available", 6),
	}, nil
}

func TestScrapedLoadRatesBetweenPolls(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := &fakeScraper{count: map[string]float64{"a:1": 1000, "b:1": 1000}}
	c := New(Options{Now: func() time.Time { return now }}, RegionSources{Region: "r",
		Instances: fakeInstances{{Pod: "a", Address: "a:1"}, {Pod: "b", Address: "b:1"}}, Scraper: sc})
	c.CollectOnce(context.Background())
	now = now.Add(10 * time.Second)
	sc.count["a:1"] += 300 // 30 rps (+10% errors)
	sc.count["b:1"] += 100 // 10 rps
	s := c.CollectOnce(context.Background())
	in := map[string]state.Instance{}
	for _, i := range s.Instances {
		in[i.Pod] = i
	}
	if a := in["a"]; a.RPS != 33 || a.LoadShare < 0.74 || a.LoadShare > 0.76 {
		t.Errorf("a: rps %v share %v, want 33 and 0.75", a.RPS, a.LoadShare)
	}
	if a := in["a"]; a.ErrorRate < 0.09 || a.ErrorRate > 0.1 || a.P50 <= 0 || a.P50 > 0.1 {
		t.Errorf("a: error rate %v p50 %v", a.ErrorRate, a.P50)
	}
	if len(s.Pools.Instances) != 2 || s.Pools.Instances[0].Pools[0].Utilization() != 0.4 {
		t.Errorf("pools %+v, want 2 instances at 0.4", s.Pools.Instances)
	}
}

// With a cluster per region, the secondary's standby API connects to the
// secondary's own server: it must not count against the primary's limit.
// A region without a server of its own still counts against the one known.
func TestConnectionBudgetCountsEachRegionAgainstItsOwnServer(t *testing.T) {
	api := func(max int32) fakeDeployments {
		return fakeDeployments{{Name: "wotr-api", Desired: 1, HPA: &state.HPA{Min: 1, Max: max}, MaxSurge: "1"}}
	}
	c := New(Options{},
		RegionSources{Region: "primary", Role: "primary", Deployments: api(10), PGPool: fakePool{Store: "postgres", Limit: 200}},
		RegionSources{Region: "secondary", Role: "secondary", Deployments: api(10), PGPool: fakePool{Store: "postgres", Limit: 200}},
		RegionSources{Region: "third", Role: "secondary", Deployments: api(4)})
	s := c.CollectOnce(context.Background())
	if len(s.Pools.Budget) != 1 {
		t.Fatalf("budgets %+v, want one for postgres", s.Pools.Budget)
	}
	// primary 10+1 and third 4+1 instances of 10 connections; secondary left out.
	if b := s.Pools.Budget[0]; b.Instances != 16 || b.Total != 160 || !b.OK {
		t.Fatalf("postgres budget %+v, want 16 instances (primary and third, not secondary), 160 of 200 OK", b)
	}
}

// A round of several sources makes one snapshot: one history point per
// CollectOnce, not one per source that answered.
func TestCollectOnceRebuildsOncePerRound(t *testing.T) {
	nodes := &fakeNodes{nodes: []state.Node{{Name: "n1"}}}
	c := New(Options{}, RegionSources{Region: "a", Nodes: nodes, CHReplicas: fakeCH{},
		Deployments: fakeDeployments{{Name: "wotr-api"}}, PGPool: fakePool{Store: "postgres", Limit: 100}})
	for i := 0; i < 4; i++ {
		s := c.CollectOnce(context.Background())
		if len(s.Nodes) != 1 || len(s.Replication.ClickHouse) != 1 || len(s.Deployments) != 1 {
			t.Fatalf("round %d: snapshot lacks a source: %d nodes, %d replicas, %d deployments",
				i, len(s.Nodes), len(s.Replication.ClickHouse), len(s.Deployments))
		}
	}
	if h := c.History(state.SeriesTotalRPS); len(h) != 4 {
		t.Fatalf("%d history points after 4 rounds of 4 sources, want 4 (one snapshot per round)", len(h))
	}
}
