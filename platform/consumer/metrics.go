package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	reg            *prometheus.Registry
	processed      prometheus.Counter
	failed         *prometheus.CounterVec
	deadLettered   *prometheus.CounterVec
	insertRetries  prometheus.Counter
	abandoned      prometheus.Counter
	batchSize      prometheus.Histogram
	batchDuration  prometheus.Histogram
	insertDuration prometheus.Histogram
	lag            *prometheus.GaugeVec
}

func newMetrics(c *Consumer) *metrics {
	reg := prometheus.NewRegistry()
	r := prometheus.WrapRegistererWith(prometheus.Labels{"pod": c.cfg.PodName}, reg)
	m := &metrics{reg: reg}
	m.processed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wotr_consumer_events_processed_total", Help: "Events inserted into ClickHouse.",
	})
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wotr_consumer_events_failed_total", Help: "Events that could not be decoded or inserted, by stage.",
	}, []string{"stage"})
	m.deadLettered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wotr_consumer_events_dead_lettered_total", Help: "Events written to the DLQ, by stage.",
	}, []string{"stage"})
	m.insertRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wotr_consumer_insert_retries_total", Help: "Failed ClickHouse insert attempts that were retried.",
	})
	m.abandoned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wotr_consumer_batches_abandoned_total", Help: "Batches given up uncommitted (batch timeout, shutdown, lost partitions); their records are read again.",
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wotr_consumer_batch_size", Help: "Records per batch (one INSERT block unless some are dead-lettered).",
		Buckets: prometheus.ExponentialBuckets(1, 4, 10),
	})
	m.batchDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wotr_consumer_batch_duration_seconds", Help: "Decode, insert, dead-letter and commit of one batch.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
	})
	m.insertDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wotr_consumer_insert_duration_seconds", Help: "One ClickHouse INSERT block.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
	})
	m.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kafka_consumer_lag", Help: "High watermark minus next offset, per partition this member owns.",
	}, []string{"consumer_group", "topic", "partition"})
	r.MustRegister(m.processed, m.failed, m.deadLettered, m.insertRetries, m.abandoned, m.batchSize, m.batchDuration, m.insertDuration, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ch := c.ch
	r.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clickhouse_pool_size", Help: "Maximum ClickHouse connections."},
			func() float64 { return float64(ch.Stats().MaxOpenConns) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clickhouse_pool_open", Help: "ClickHouse connections open."},
			func() float64 { return float64(ch.Stats().Open) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clickhouse_pool_idle", Help: "ClickHouse connections idle."},
			func() float64 { return float64(ch.Stats().Idle) }),
	)
	// Pre-create the label sets so dashboards show zeros, not gaps.
	for _, s := range []string{StageDecode, StageInsert} {
		m.failed.WithLabelValues(s)
		m.deadLettered.WithLabelValues(s)
	}
	return m
}

// Handler serves /health and /metrics.
func (c *Consumer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{"status": "ok", "group": c.cfg.GroupID, "partitions": c.Assigned(),
			"stuck_after_seconds": c.cfg.StuckAfter.Seconds()}
		now := time.Now()
		if t := c.LastBatch(); !t.IsZero() {
			body["last_batch"] = t.UTC().Format(time.RFC3339Nano)
			body["last_commit_age_seconds"] = now.Sub(t).Seconds()
		}
		code := http.StatusOK
		// Stuck: records waiting uncommitted for longer than StuckAfter
		// (ClickHouse or Kafka failing every batch). Idle is healthy.
		if t := c.PendingSince(); !t.IsZero() {
			age := now.Sub(t)
			body["pending_seconds"] = age.Seconds()
			if age > c.cfg.StuckAfter {
				body["status"] = "stuck"
				code = http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.m.reg, promhttp.HandlerOpts{}))
	return mux
}

// Serve runs the health/metrics listener until ctx ends.
func (c *Consumer) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", c.cfg.ListenAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 5 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
