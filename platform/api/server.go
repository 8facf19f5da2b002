// Package api is the WOTR ingest API: a drop-in for the scaling guide's FastAPI service
// (port 8000, the same env names, /health, the same metric names).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// redisClient is a single node or a cluster (the scaling guide runs a Redis cluster).
type redisClient interface {
	redis.UniversalClient
	PoolStats() *redis.PoolStats
}

// Server is one API instance and its dependency pools.
type Server struct {
	cfg       Config
	log       *slog.Logger
	pg        *pgxpool.Pool
	rdb       redisClient
	ch        driver.Conn
	producers *ProducerPool
	auth      *Authenticator
	dedup     *Deduper
	metrics   *metrics

	pgGuard, rdGuard, kGuard, chGuard *Guard

	draining atomic.Bool
	inFlight atomic.Int64
	now      func() time.Time
}

// New builds the pools (all connect lazily, so the API starts while a
// dependency is still down and /ready reports it).
func New(cfg Config, log *slog.Logger, kafkaOpts ...kgo.Opt) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, now: time.Now}
	s.pgGuard = NewGuard(DepPostgres, cfg.DepTimeout, cfg.BreakerOpenFor)
	s.rdGuard = NewGuard(DepRedis, cfg.DepTimeout, cfg.BreakerOpenFor)
	s.kGuard = NewGuard(DepKafka, cfg.Kafka.DeliveryTimeout+cfg.DepTimeout, cfg.BreakerOpenFor)
	s.chGuard = NewGuard(DepClickHouse, cfg.DepTimeout, cfg.BreakerOpenFor)

	pcfg, err := pgxpool.ParseConfig(cfg.Postgres.DSN())
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	pcfg.MinConns = int32(cfg.Postgres.PoolMin)
	pcfg.MaxConns = int32(cfg.Postgres.PoolMax)
	pcfg.ConnConfig.ConnectTimeout = cfg.DepTimeout
	s.pg, err = pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	if cfg.Redis.Cluster {
		// REDIS_HOST is any cluster node; the client discovers the others.
		s.rdb = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: []string{cfg.Redis.Addr()}, Password: cfg.Redis.Password,
			PoolSize: cfg.Redis.PoolSize, DialTimeout: cfg.DepTimeout,
			ReadTimeout: cfg.DepTimeout, WriteTimeout: cfg.DepTimeout,
		})
	} else {
		s.rdb = redis.NewClient(&redis.Options{
			Addr: cfg.Redis.Addr(), Password: cfg.Redis.Password, DB: cfg.Redis.DB,
			PoolSize: cfg.Redis.PoolSize, DialTimeout: cfg.DepTimeout,
			ReadTimeout: cfg.DepTimeout, WriteTimeout: cfg.DepTimeout,
		})
	}
	s.ch, err = clickhouse.Open(&clickhouse.Options{
		Addr:     []string{cfg.ClickHouse.Addr()},
		Protocol: clickhouse.Native,
		Auth:     clickhouse.Auth{Database: cfg.ClickHouse.DB, Username: cfg.ClickHouse.User, Password: cfg.ClickHouse.Password},
		// Open-connection cap; idle is kept equal so steady load reuses them.
		MaxOpenConns: cfg.ClickHouse.PoolSize, MaxIdleConns: cfg.ClickHouse.PoolSize,
		DialTimeout: cfg.DepTimeout,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	s.producers, err = NewProducerPool(cfg.Kafka, append([]kgo.Opt{kgo.DialTimeout(cfg.DepTimeout)}, kafkaOpts...)...)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.auth = &Authenticator{pg: s.pg, rdb: s.rdb, pgGuard: s.pgGuard, rdGuard: s.rdGuard, cacheTTL: cfg.AuthCacheTTL,
		local: newKeyCache(cfg.AuthLocalTTL, 10000), log: log}
	s.dedup = &Deduper{rdb: s.rdb, guard: s.rdGuard, window: cfg.DedupWindow, pendingTTL: cfg.PendingTTL(), log: log}
	s.dedup.Start()
	s.metrics = newMetrics(s)
	return s, nil
}

func (s *Server) guards() []*Guard { return []*Guard{s.pgGuard, s.rdGuard, s.kGuard, s.chGuard} }

// Close releases every pool.
func (s *Server) Close() {
	if s.dedup != nil {
		s.dedup.Close()
	}
	if s.producers != nil {
		s.producers.Close()
	}
	if s.ch != nil {
		_ = s.ch.Close()
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
}

// Handler is the full HTTP surface with request metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", s.handleEvents)
	mux.HandleFunc("GET /v1/stats", s.handleStats)
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /ready", s.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		// Probes and scrapes stay outside the cap: a busy pod is alive.
		if capped := strings.HasPrefix(r.URL.Path, "/v1/"); !capped {
			mux.ServeHTTP(sw, r)
		} else if n := s.inFlight.Add(1); n > int64(s.cfg.HTTP.MaxInFlight) {
			s.inFlight.Add(-1)
			s.metrics.shed.Inc()
			sw.Header().Set("Retry-After", "1")
			s.fail(sw, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d requests in flight, at most %d (MAX_IN_FLIGHT)", n-1, s.cfg.HTTP.MaxInFlight))
		} else {
			mux.ServeHTTP(sw, r)
			s.inFlight.Add(-1)
		}
		endpoint := "unmatched"
		if _, path, ok := strings.Cut(r.Pattern, " "); ok {
			endpoint = path
		}
		h := s.metrics.request(r.Method, endpoint, sw.status)
		h.count.Inc()
		if h.duration != nil {
			h.duration.Observe(time.Since(start).Seconds())
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Run serves on cfg.ListenAddr until ctx ends, then drains: /ready fails at
// once, after ShutdownDelay the listener closes, in-flight requests finish,
// producers flush and pools close. A clean drain returns nil.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.ListenAddr, err)
	}
	srv := &http.Server{Handler: s.Handler(),
		ReadHeaderTimeout: s.cfg.HTTP.ReadHeaderTimeout, ReadTimeout: s.cfg.HTTP.ReadTimeout,
		WriteTimeout: s.cfg.HTTP.WriteTimeout, IdleTimeout: s.cfg.HTTP.IdleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("wotr-api listening", "addr", ln.Addr().String(), "pod", s.cfg.PodName)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("draining", "delay", s.cfg.ShutdownDelay, "timeout", s.cfg.ShutdownTimeout)
	if s.cfg.ShutdownDelay > 0 {
		time.Sleep(s.cfg.ShutdownDelay) // load balancers notice /ready failing meanwhile
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	flushErr := s.producers.Flush(sctx)
	s.Close()
	if shutErr != nil {
		return fmt.Errorf("drain: %w", shutErr)
	}
	if flushErr != nil {
		return fmt.Errorf("drain: flush producers: %w", flushErr)
	}
	s.log.Info("drained")
	return nil
}

// Draining reports whether shutdown began.
func (s *Server) Draining() bool { return s.draining.Load() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error    string      `json:"error"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// unavailable answers 503 with Retry-After for a failed dependency.
func (s *Server) unavailable(w http.ResponseWriter, err error) {
	retry := time.Second
	var ue *UnavailableError
	if errors.As(err, &ue) {
		s.metrics.depErrors.WithLabelValues(ue.Dep).Inc()
		if ue.RetryAfter > retry {
			retry = ue.RetryAfter
		}
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	s.fail(w, http.StatusServiceUnavailable, err.Error())
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers whether this pod should get ingest traffic: it is not
// draining and Kafka answers. Nothing else can make ingest fail: Redis
// failing means producing without de-dup (fail open), PostgreSQL is asked
// only for API keys missing from the caches, ClickHouse only by /v1/stats,
// and all pods share them, so failing readiness on them would only take
// every pod out of service at once. Their breaker states are listed.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.DepTimeout)
	defer cancel()
	status := map[string]string{DepKafka: "ok"}
	code, word := http.StatusOK, "ready"
	if err := s.producers.Ping(ctx); err != nil {
		status[DepKafka] = err.Error()
		code, word = http.StatusServiceUnavailable, "not ready"
	}
	breakers := map[string]string{}
	for _, g := range s.guards() {
		breakers[g.Name] = g.State().String()
	}
	writeJSON(w, code, map[string]any{"status": word, "dependencies": status, "breakers": breakers})
}
