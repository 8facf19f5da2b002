package collect

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// Options tunes polling. Zero values take the defaults.
type Options struct {
	Context    string
	Interval   time.Duration // between polls of one source; default 5s
	Timeout    time.Duration // per source call; default 4s
	HistoryLen int           // points per series; default 120
	LagWindow  int           // samples per partition window; default 10
	Now        func() time.Time
	Logger     *slog.Logger
}

// Collector polls sources and publishes snapshots.
type Collector struct {
	opts    Options
	regions []RegionSources
	sources []*source

	mu     sync.Mutex
	latest state.Snapshot
	subs   map[int]chan state.Snapshot
	nextID int
	hist   map[string]*ring[histPoint]
	back   backfill
	poke   chan struct{} // the history window changed

	lag   *lagEvaluator
	scrap *scrapeRates

	// A snapshot copies and sorts every area, so a burst of answers makes one
	// rebuild, not one each: CollectOnce rebuilds once when its round is in
	// (rounds counts those running), and under Run a rebuild loop takes the
	// dirty signal, so answers that arrive during a rebuild share the next.
	rounds  int
	running bool
	dirty   chan struct{}
}

type sourceKind int

const (
	kindInstances sourceKind = iota
	kindDeployments
	kindNodes
	kindKafka
	kindLoad
	kindPGReplication
	kindPGPool
	kindCHReplicas
	kindRedisReplication
	kindRedisPool
	kindBackups
	kindAlerts
)

// source is one polled capability of one region.
type source struct {
	name   string
	region string
	kind   sourceKind
	poll   func(ctx context.Context) (any, error)

	meta  state.Meta
	value any // last good value, post-processed
	ok    bool
}

// New builds a collector over the regions' sources.
func New(opts Options, regions ...RegionSources) *Collector {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 4 * time.Second
	}
	if opts.HistoryLen <= 0 {
		opts.HistoryLen = 120
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Collector{
		opts:    opts,
		regions: append([]RegionSources(nil), regions...),
		subs:    map[int]chan state.Snapshot{},
		hist:    map[string]*ring[histPoint]{},
		poke:    make(chan struct{}, 1),
		dirty:   make(chan struct{}, 1),
		lag:     newLagEvaluator(opts.LagWindow),
		scrap:   newScrapeRates(),
	}
	// Primary first: its Kafka view wins when both regions name a cluster.
	sort.SliceStable(c.regions, func(i, j int) bool {
		return c.regions[i].Role == state.RolePrimary && c.regions[j].Role != state.RolePrimary
	})
	for _, r := range c.regions {
		c.addSources(r)
	}
	c.latest = state.Snapshot{Context: opts.Context}
	c.back.window = HistoryWindows[0]
	return c
}

func (c *Collector) add(r RegionSources, name string, kind sourceKind, poll func(ctx context.Context) (any, error)) {
	full := name
	if r.Region != "" {
		full = name + "@" + r.Region
	}
	c.sources = append(c.sources, &source{name: full, region: r.Region, kind: kind, poll: poll,
		meta: state.Meta{Source: full, Region: r.Region}})
}

func (c *Collector) addSources(r RegionSources) {
	if r.Instances != nil {
		c.add(r, "kube/pods", kindInstances, func(ctx context.Context) (any, error) { return r.Instances.ListInstances(ctx) })
	}
	if r.Deployments != nil {
		c.add(r, "kube/deployments", kindDeployments, func(ctx context.Context) (any, error) { return r.Deployments.ReadDeployments(ctx) })
	}
	if r.Nodes != nil {
		c.add(r, "kube/nodes", kindNodes, func(ctx context.Context) (any, error) { return r.Nodes.ReadNodes(ctx) })
	}
	if r.Kafka != nil {
		c.add(r, "kafka", kindKafka, func(ctx context.Context) (any, error) { return r.Kafka.ReadKafka(ctx) })
	}
	if r.Metrics != nil {
		q := r.Metrics
		c.add(r, "prometheus", kindLoad, func(ctx context.Context) (any, error) { return queryLoad(ctx, q) })
	} else if r.Scraper != nil && r.Instances != nil {
		sc, region := r.Scraper, r.Region
		c.add(r, "metrics-scrape", kindLoad, func(ctx context.Context) (any, error) {
			return c.scrapeLoad(ctx, sc, c.instanceAddrs(region))
		})
	}
	if r.PGReplication != nil {
		c.add(r, "postgres/replication", kindPGReplication, func(ctx context.Context) (any, error) { return r.PGReplication.ReadPGReplication(ctx) })
	}
	if r.PGPool != nil {
		c.add(r, "postgres/connections", kindPGPool, func(ctx context.Context) (any, error) { return r.PGPool.ReadStorePool(ctx) })
	}
	if r.CHReplicas != nil {
		c.add(r, "clickhouse/replicas", kindCHReplicas, func(ctx context.Context) (any, error) { return r.CHReplicas.ReadCHReplicas(ctx) })
	}
	if r.RedisReplication != nil {
		c.add(r, "redis/replication", kindRedisReplication, func(ctx context.Context) (any, error) { return r.RedisReplication.ReadRedisReplication(ctx) })
	}
	if r.RedisPool != nil {
		c.add(r, "redis/clients", kindRedisPool, func(ctx context.Context) (any, error) { return r.RedisPool.ReadStorePool(ctx) })
	}
	if r.Backups != nil {
		c.add(r, "backups", kindBackups, func(ctx context.Context) (any, error) { return r.Backups.ListBackups(ctx) })
	}
	if r.Alerts != nil {
		c.add(r, state.SourceAlerts, kindAlerts, func(ctx context.Context) (any, error) { return r.Alerts.ReadAlerts(ctx) })
	}
}

// Sources names every polled source, in poll order.
func (c *Collector) Sources() []string {
	var out []string
	for _, s := range c.sources {
		out = append(out, s.name)
	}
	return out
}

// Run polls every source on its own ticker, and keeps the history backfilled
// from Prometheus when a region has one, until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()
	wg.Add(1)
	go func() { defer wg.Done(); c.runRebuild(ctx) }()
	if c.historyQuerier() != nil {
		wg.Add(1)
		go func() { defer wg.Done(); c.runBackfill(ctx) }()
	}
	for _, s := range c.sources {
		wg.Add(1)
		go func(s *source) {
			defer wg.Done()
			t := time.NewTicker(c.opts.Interval)
			defer t.Stop()
			for {
				c.pollOne(ctx, s)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}(s)
	}
	wg.Wait()
	return ctx.Err()
}

// runRebuild rebuilds the snapshot whenever a source changed, until ctx ends.
func (c *Collector) runRebuild(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.dirty:
			c.mu.Lock()
			c.rebuildLocked(c.opts.Now())
			c.mu.Unlock()
		}
	}
}

// CollectOnce polls every source once, concurrently, and returns the snapshot
// built once all have answered or timed out.
func (c *Collector) CollectOnce(ctx context.Context) state.Snapshot {
	c.mu.Lock()
	c.rounds++
	c.mu.Unlock()
	var wg sync.WaitGroup
	// Load scraping needs the instance list; poll instances first when scraping.
	var rest []*source
	for _, s := range c.sources {
		if s.kind == kindInstances {
			wg.Add(1)
			go func(s *source) { defer wg.Done(); c.pollOne(ctx, s) }(s)
		} else {
			rest = append(rest, s)
		}
	}
	var loadWait sync.WaitGroup
	for _, s := range rest {
		if s.kind == kindLoad && strings.HasPrefix(s.name, "metrics-scrape") {
			loadWait.Add(1)
			go func(s *source) { defer loadWait.Done(); wg.Wait(); c.pollOne(ctx, s) }(s)
			continue
		}
		loadWait.Add(1)
		go func(s *source) { defer loadWait.Done(); c.pollOne(ctx, s) }(s)
	}
	loadWait.Wait()
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rounds--
	c.rebuildLocked(c.opts.Now())
	return c.latest
}

func (c *Collector) pollOne(ctx context.Context, s *source) {
	pctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	t0 := time.Now()
	v, err := s.poll(pctx)
	dur := time.Since(t0)
	if err == nil && pctx.Err() != nil && ctx.Err() == nil {
		err = pctx.Err() // answered after its deadline: not trusted
	}
	cancel()
	c.update(s, v, err, dur)
}

// update stores a poll result and derives what depends on history; the
// snapshot is rebuilt at once, by the rebuild loop (Run) or at the end of
// the round (CollectOnce).
func (c *Collector) update(s *source, v any, err error, dur time.Duration) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s.meta.Duration = float64(dur.Microseconds()) / 1000
	if err != nil {
		s.meta.Stale = true
		s.meta.Error = err.Error()
		c.opts.Logger.Debug("source failed", "source", s.name, "err", err)
	} else {
		s.meta.Stale = false
		s.meta.Error = ""
		s.meta.FetchedAt = now
		if s.kind == kindKafka {
			k := v.(state.KafkaState)
			c.lag.apply(&k, now)
			v = k
		}
		s.value = v
		s.ok = true
	}
	switch {
	case c.rounds > 0: // the round rebuilds when all of it is in
	case c.running:
		select {
		case c.dirty <- struct{}{}:
		default: // a rebuild is already due; it will see this value
		}
	default:
		c.rebuildLocked(now)
	}
}

// rebuildLocked assembles, records and publishes a snapshot; c.mu is held.
func (c *Collector) rebuildLocked(now time.Time) {
	snap := c.assemble(now)
	c.recordHistory(&snap, now)
	c.latest = snap
	c.publishLocked(snap)
}

// publishLocked hands snap to every subscriber; c.mu is held.
func (c *Collector) publishLocked(snap state.Snapshot) {
	for _, ch := range c.subs {
		select {
		case ch <- snap:
		default:
			select { // replace the unread one
			case <-ch:
			default:
			}
			select {
			case ch <- snap:
			default:
			}
		}
	}
}

// Latest returns the newest snapshot.
func (c *Collector) Latest() state.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// Subscribe returns a channel receiving every new snapshot (newest wins when
// the reader lags) and a func that unsubscribes and closes the channel.
func (c *Collector) Subscribe() (<-chan state.Snapshot, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	ch := make(chan state.Snapshot, 1)
	c.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, id)
			c.mu.Unlock()
			close(ch)
		})
	}
}

func (c *Collector) push(series string, at time.Time, v float64) {
	r := c.hist[series]
	if r == nil {
		r = newRing[histPoint](c.opts.HistoryLen)
		c.hist[series] = r
	}
	r.push(histPoint{at: at.UnixNano(), v: v})
}

// histPoint is a state.Point as the rings keep it: 16 bytes and no pointer
// (a time.Time has one), for three series per pod at 10,000 pods.
type histPoint struct {
	at int64 // Unix nanoseconds
	v  float64
}

func (c *Collector) recordHistory(s *state.Snapshot, now time.Time) {
	var total float64
	for _, in := range s.Instances {
		total += in.RPS
		c.push(state.SeriesRPS(in.Pod), now, in.RPS)
		c.push(state.SeriesLatency(in.Pod), now, in.P99)
		c.push(state.SeriesErrors(in.Pod), now, in.ErrorRate)
	}
	c.push(state.SeriesTotalRPS, now, total)
	for _, g := range s.Kafka.Groups {
		c.push(state.SeriesGroupLag(g.Name), now, float64(g.TotalLag))
		c.push("group/"+g.Name+"/lagsec", now, g.LagSeconds)
	}
	for _, p := range s.Replication.Postgres {
		c.push("postgres/"+p.Name+"/replay", now, p.ReplayLagSeconds)
	}
	for _, r := range s.Replication.ClickHouse {
		c.push("clickhouse/"+r.Replica+"/delay", now, r.AbsoluteDelay)
	}
	for _, r := range s.Replication.Redis {
		c.push("redis/"+r.Name+"/lag", now, float64(r.OffsetLag))
	}
	for _, p := range s.Pools.Stores {
		if p.Limit > 0 {
			c.push("pool/"+string(p.Store)+"/util", now, float64(p.Connections)/float64(p.Limit))
		}
	}
}

// instanceAddrs returns the last known instances of region (pod -> addr).
func (c *Collector) instanceAddrs(region string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for _, s := range c.sources {
		if s.kind != kindInstances || s.region != region || !s.ok {
			continue
		}
		for _, in := range s.value.([]state.Instance) {
			if in.Address != "" {
				out[in.Pod] = in.Address
			}
		}
	}
	return out
}
