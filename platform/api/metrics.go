package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics keeps the scaling guide's metric names so its PromQL runs verbatim, e.g.
// (postgres_pool_size - postgres_pool_available) / postgres_pool_size.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	probes     *prometheus.CounterVec
	duration   prometheus.Histogram
	shed       prometheus.Counter
	events     *prometheus.CounterVec
	depErrors  *prometheus.CounterVec
	dedupFails prometheus.Counter

	// Handles resolved once: the hot path skips the label lookups.
	accepted, duplicate, pending, rejected, failed prometheus.Counter
	reqHandles                                     sync.Map // requestLabels -> *requestHandles
}

type requestLabels struct{ method, endpoint, status string }

type requestHandles struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// request returns the counter and histogram for one label combination.
func (m *metrics) request(method, endpoint string, status int) *requestHandles {
	k := requestLabels{method, endpoint, strconv.Itoa(status)}
	if h, ok := m.reqHandles.Load(k); ok {
		return h.(*requestHandles)
	}
	var h *requestHandles
	if unobserved[endpoint] {
		h = &requestHandles{count: m.probes.WithLabelValues(k.method, k.endpoint, k.status)}
	} else {
		h = &requestHandles{count: m.requests.WithLabelValues(k.method, k.endpoint, k.status), duration: m.duration}
	}
	// Methods and endpoints are bounded by the mux's patterns ("unmatched"
	// covers the rest), statuses by what handlers write.
	m.reqHandles.Store(k, h)
	return h
}

// unobserved endpoints are probes and scrapes: not the API's traffic. They
// are counted apart (wotr_api_probe_requests_total), not in
// fastapi_requests_total or the latency histogram: an idle instance would
// otherwise show its load balancer's checks and Prometheus' scrapes (about
// 2 req/s at 1s intervals) as requests, a draining one its failing /ready
// as 5xx errors, and per-label series idle within a rate window would make
// rate(_sum)/rate(_count) 0/0, so the scaling guide's average would be NaN.
var unobserved = map[string]bool{"/ready": true, "/health": true, "/metrics": true}

// Buckets reach down to 0.5 ms: the API answers in single milliseconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	r := prometheus.WrapRegistererWith(prometheus.Labels{"pod": s.cfg.PodName}, reg)
	m := &metrics{reg: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fastapi_requests_total", Help: "API requests by method, endpoint and status code (probes and scrapes are wotr_api_probe_requests_total).",
	}, []string{"method", "endpoint", "status"})
	m.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wotr_api_probe_requests_total", Help: "Health checks, readiness probes and scrapes (/health, /ready, /metrics) by method, endpoint and status code; not in fastapi_requests_total.",
	}, []string{"method", "endpoint", "status"})
	// One series per instance: the guide's average and p99 aggregate it by
	// instance anyway, and it is defined whenever the instance served any
	// API request in the window.
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "fastapi_request_duration_seconds", Help: "HTTP request duration of API requests (not /ready, /health, /metrics).", Buckets: latencyBuckets,
	})
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wotr_api_requests_shed_total", Help: "Requests answered 503 because MAX_IN_FLIGHT requests were running.",
	})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wotr_api_events_total", Help: "Events by outcome: accepted, duplicate, pending (another request is writing it; retry), rejected, failed.",
	}, []string{"outcome"})
	m.depErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wotr_api_dependency_errors_total", Help: "Failed dependency calls.",
	}, []string{"dependency"})
	m.dedupFails = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wotr_api_dedup_unavailable_total", Help: "Requests produced without de-dup because Redis failed.",
	})
	m.accepted = m.events.WithLabelValues("accepted")
	m.duplicate = m.events.WithLabelValues("duplicate")
	m.pending = m.events.WithLabelValues("pending")
	m.rejected = m.events.WithLabelValues("rejected")
	m.failed = m.events.WithLabelValues("failed")
	r.MustRegister(m.requests, m.probes, m.duration, m.shed, m.events, m.depErrors, m.dedupFails,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	gauge := func(name, help string, f func() float64) {
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	pg := s.pg
	gauge("postgres_pool_size", "Maximum PostgreSQL connections of this instance's pool.", func() float64 { return float64(pg.Stat().MaxConns()) })
	gauge("postgres_pool_available", "PostgreSQL connections not checked out (size - in use).", func() float64 {
		st := pg.Stat()
		return float64(st.MaxConns() - st.AcquiredConns())
	})
	gauge("postgres_pool_in_use", "PostgreSQL connections checked out.", func() float64 { return float64(pg.Stat().AcquiredConns()) })
	gauge("postgres_pool_open", "PostgreSQL connections open.", func() float64 { return float64(pg.Stat().TotalConns()) })
	gauge("postgres_pool_idle", "PostgreSQL connections open and idle.", func() float64 { return float64(pg.Stat().IdleConns()) })
	counter("postgres_pool_waits_total", "Acquires that had to wait for a connection.", func() float64 { return float64(pg.Stat().EmptyAcquireCount()) })

	ch := s.ch
	gauge("clickhouse_pool_size", "Maximum ClickHouse connections.", func() float64 { return float64(ch.Stats().MaxOpenConns) })
	gauge("clickhouse_pool_open", "ClickHouse connections open.", func() float64 { return float64(ch.Stats().Open) })
	gauge("clickhouse_pool_idle", "ClickHouse connections idle.", func() float64 { return float64(ch.Stats().Idle) })
	gauge("clickhouse_pool_available", "ClickHouse connections not in use (size - in use).", func() float64 {
		st := ch.Stats()
		return float64(st.MaxOpenConns - (st.Open - st.Idle))
	})

	rdb := s.rdb
	gauge("redis_pool_size", "Maximum Redis connections.", func() float64 { return float64(s.cfg.Redis.PoolSize) })
	gauge("redis_pool_open", "Redis connections open.", func() float64 { return float64(rdb.PoolStats().TotalConns) })
	gauge("redis_pool_idle", "Redis connections idle.", func() float64 { return float64(rdb.PoolStats().IdleConns) })
	gauge("redis_pool_available", "Redis connections not in use (size - in use).", func() float64 {
		st := rdb.PoolStats()
		return float64(s.cfg.Redis.PoolSize) - float64(st.TotalConns-st.IdleConns)
	})
	counter("redis_pool_timeouts_total", "Redis pool wait timeouts.", func() float64 { return float64(rdb.PoolStats().Timeouts) })
	counter("redis_pool_waits_total", "Redis pool acquires that waited.", func() float64 { return float64(rdb.PoolStats().WaitCount) })

	kp := s.producers
	gauge("kafka_producer_pool_size", "Kafka producer clients.", func() float64 { return float64(kp.Size()) })
	gauge("kafka_producer_buffered_records", "Records buffered in producers, not yet acknowledged.", func() float64 {
		n, _ := kp.Buffered()
		return float64(n)
	})
	gauge("kafka_producer_buffered_bytes", "Bytes buffered in producers.", func() float64 {
		_, b := kp.Buffered()
		return float64(b)
	})
	gauge("kafka_producer_inflight_records", "Records handed to producers and awaiting their ack.", func() float64 { return float64(kp.InFlight()) })

	depDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wotr_api_dependency_duration_seconds", Help: "Duration of one dependency call attempt.", Buckets: latencyBuckets,
	}, []string{"dependency"})
	r.MustRegister(depDuration)
	for _, g := range s.guards() {
		g := g
		obs := depDuration.WithLabelValues(g.Name)
		g.Observe = func(d time.Duration) { obs.Observe(d.Seconds()) }
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "circuit_breaker_state", Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
			ConstLabels: prometheus.Labels{"dependency": g.Name},
		}, func() float64 { return float64(g.State()) }))
	}
	gauge("wotr_api_requests_in_flight", "API requests running now (capped by MAX_IN_FLIGHT).", func() float64 { return float64(s.inFlight.Load()) })
	gauge("wotr_api_draining", "1 after SIGTERM while in-flight requests finish.", func() float64 {
		if s.draining.Load() {
			return 1
		}
		return 0
	})
	return m
}
