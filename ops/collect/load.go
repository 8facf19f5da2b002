package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// instanceLoad is what metrics say about one instance.
type instanceLoad struct {
	RPS, P50, P99, ErrorRate, CPU, Memory float64
	Pools                                 []state.Pool
}

// loadResult maps pod name (or instance address) to its load.
type loadResult map[string]*instanceLoad

func (l loadResult) get(key string) *instanceLoad {
	x := l[key]
	if x == nil {
		x = &instanceLoad{}
		l[key] = x
	}
	return x
}

// RateWindow of the PromQL range selectors.
const RateWindow = "1m"

// LoadQueries are the scaling guide's PromQL, grouped by pod (the API's const label).
var LoadQueries = map[string]string{
	"rps":    `sum by (pod) (rate(fastapi_requests_total[` + RateWindow + `]))`,
	"errors": `sum by (pod) (rate(fastapi_requests_total{status=~"5.."}[` + RateWindow + `]))`,
	"p50":    `histogram_quantile(0.5, sum by (pod, le) (rate(fastapi_request_duration_seconds_bucket[` + RateWindow + `])))`,
	"p99":    `histogram_quantile(0.99, sum by (pod, le) (rate(fastapi_request_duration_seconds_bucket[` + RateWindow + `])))`,
	"cpu":    `sum by (pod) (rate(process_cpu_seconds_total[` + RateWindow + `]))`,
	"memory": `sum by (pod) (process_resident_memory_bytes)`,
	"pools":  `{__name__=~"(postgres|redis|clickhouse)_pool_(size|available|in_use|waits_total)"}`,
}

func sampleKey(s state.Sample) string {
	if p := s.Labels["pod"]; p != "" {
		return p
	}
	return s.Labels["instance"]
}

// queryLoad runs LoadQueries concurrently; a failed query fails the source.
func queryLoad(ctx context.Context, q MetricsQuerier) (any, error) {
	type res struct {
		name string
		v    []state.Sample
		err  error
	}
	ch := make(chan res, len(LoadQueries))
	for name, expr := range LoadQueries {
		go func(name, expr string) {
			v, err := q.QueryVector(ctx, expr)
			ch <- res{name, v, err}
		}(name, expr)
	}
	out := loadResult{}
	var errs []error
	errors5xx := map[string]float64{}
	for range LoadQueries {
		r := <-ch
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
			continue
		}
		for _, s := range r.v {
			k := sampleKey(s)
			if k == "" || math.IsNaN(s.Value) {
				continue
			}
			l := out.get(k)
			switch r.name {
			case "rps":
				l.RPS = s.Value
			case "errors":
				errors5xx[k] = s.Value
			case "p50":
				l.P50 = s.Value
			case "p99":
				l.P99 = s.Value
			case "cpu":
				l.CPU = s.Value
			case "memory":
				l.Memory = s.Value
			case "pools":
				addPoolGauge(l, s.Labels["__name__"], s.Value)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for k, e := range errors5xx {
		if l := out[k]; l != nil && l.RPS > 0 {
			l.ErrorRate = e / l.RPS
		}
	}
	return out, nil
}

// addPoolGauge folds a <store>_pool_<field> sample into l.Pools. Waits is
// the cumulative count of acquires that waited (the counter itself, from
// Prometheus and from scraping alike).
func addPoolGauge(l *instanceLoad, name string, v float64) {
	store, field, ok := strings.Cut(name, "_pool_")
	if !ok {
		return
	}
	var p *state.Pool
	for i := range l.Pools {
		if l.Pools[i].Store == state.System(store) {
			p = &l.Pools[i]
		}
	}
	if p == nil {
		l.Pools = append(l.Pools, state.Pool{Store: state.System(store)})
		p = &l.Pools[len(l.Pools)-1]
	}
	switch field {
	case "size":
		p.Size = v
	case "available":
		p.Available = v
	case "in_use":
		p.InUse = v
	case "waits_total":
		p.Waits = v
	}
}

// scrapeRates keeps the previous scrape of each instance to turn counters
// into rates between polls.
type scrapeRates struct {
	mu   sync.Mutex
	prev map[string]scrapePoint
}

type scrapePoint struct {
	at       time.Time
	requests float64
	errors   float64
	cpu      float64
	buckets  map[float64]float64
}

func newScrapeRates() *scrapeRates { return &scrapeRates{prev: map[string]scrapePoint{}} }

// summarize reduces one scraped page to counters and gauges.
func summarize(samples []state.Sample, at time.Time) (scrapePoint, *instanceLoad) {
	p := scrapePoint{at: at, buckets: map[float64]float64{}}
	l := &instanceLoad{}
	for _, s := range samples {
		name := s.Labels["__name__"]
		switch {
		case name == "fastapi_requests_total":
			p.requests += s.Value
			if strings.HasPrefix(s.Labels["status"], "5") {
				p.errors += s.Value
			}
		case name == "fastapi_request_duration_seconds_bucket":
			le, err := strconv.ParseFloat(s.Labels["le"], 64)
			if err == nil {
				p.buckets[le] += s.Value
			}
		case name == "process_cpu_seconds_total":
			p.cpu += s.Value
		case name == "process_resident_memory_bytes":
			l.Memory += s.Value
		case strings.Contains(name, "_pool_"):
			addPoolGauge(l, s.Labels["__name__"], s.Value)
		}
	}
	return p, l
}

// rates derives per-second figures between prev and cur.
func rates(prev, cur scrapePoint, l *instanceLoad) {
	dt := cur.at.Sub(prev.at).Seconds()
	if dt <= 0 {
		return
	}
	pos := func(d float64) float64 { return math.Max(d, 0) } // counter reset
	dreq := pos(cur.requests - prev.requests)
	l.RPS = dreq / dt
	if dreq > 0 {
		l.ErrorRate = pos(cur.errors-prev.errors) / dreq
	}
	l.CPU = pos(cur.cpu-prev.cpu) / dt
	var bs []bucket
	for le, v := range cur.buckets {
		bs = append(bs, bucket{le, pos(v - prev.buckets[le])})
	}
	l.P50 = histogramQuantile(0.5, bs)
	l.P99 = histogramQuantile(0.99, bs)
}

type bucket struct{ le, count float64 }

// histogramQuantile is Prometheus' histogram_quantile over cumulative buckets:
// linear interpolation inside the bucket holding the rank.
func histogramQuantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 {
		return 0
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	total := bs[len(bs)-1].count
	if total == 0 {
		return 0
	}
	rank := q * total
	lower, prevCount := 0.0, 0.0
	for i, b := range bs {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				if i > 0 {
					return bs[i-1].le
				}
				return 0
			}
			inBucket := b.count - prevCount
			if inBucket == 0 {
				return b.le
			}
			return lower + (b.le-lower)*(rank-prevCount)/inBucket
		}
		lower, prevCount = b.le, b.count
	}
	return bs[len(bs)-1].le
}

// scrapeLoad scrapes every instance concurrently (at most 16 at a time) and
// computes rates against the previous scrape. It fails only when every
// instance fails.
func (c *Collector) scrapeLoad(ctx context.Context, sc MetricsScraper, addrs map[string]string) (any, error) {
	out := loadResult{}
	if len(addrs) == 0 {
		return out, nil
	}
	type res struct {
		pod string
		v   []state.Sample
		at  time.Time
		err error
	}
	ch := make(chan res, len(addrs))
	sem := make(chan struct{}, 16)
	for pod, addr := range addrs {
		go func(pod, addr string) {
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := sc.Scrape(ctx, addr)
			ch <- res{pod, v, c.opts.Now(), err}
		}(pod, addr)
	}
	var errs []error
	c.scrap.mu.Lock()
	defer c.scrap.mu.Unlock()
	for range addrs {
		r := <-ch
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.pod, r.err))
			continue
		}
		cur, l := summarize(r.v, r.at)
		if prev, ok := c.scrap.prev[r.pod]; ok {
			rates(prev, cur, l)
		}
		c.scrap.prev[r.pod] = cur
		out[r.pod] = l
	}
	for pod := range c.scrap.prev {
		if _, ok := addrs[pod]; !ok {
			delete(c.scrap.prev, pod)
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
