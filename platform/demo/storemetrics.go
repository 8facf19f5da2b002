package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/platform/local"
)

// StoreExporter serves, per store server of the local platform, the few
// series of postgres_exporter and redis_exporter that the alert rules and the
// dashboard read, under the same names: the demo runs neither exporter, and
// without these the replication-lag and connection-budget rules would
// evaluate to nothing. It is a multi-target exporter (like redis_exporter's
// /scrape): /metrics?target=ADDR, one Prometheus target per server, with
// instance set to the server's address.
//
//	pg_up, pg_replication_lag_seconds, pg_settings_max_connections,
//	pg_settings_superuser_reserved_connections
//	redis_up, redis_connected_slave_lag_seconds{slave_ip,slave_port,slave_state},
//	redis_config_maxclients
type StoreExporter struct {
	Addr string // host:port it listens on

	srv   *http.Server
	pg    map[string]*pgxpool.Pool // by server address
	redis map[string]*goredis.Client
}

// scrapeTimeout bounds one target's queries: a stopped server answers
// pg_up 0 quickly rather than holding the scrape.
const scrapeTimeout = 2 * time.Second

// StartStoreExporter listens on a free loopback port for p's PostgreSQL and
// Redis servers (the ones it runs; none is an error only when neither runs).
func StartStoreExporter(p *local.Platform) (*StoreExporter, error) {
	e := &StoreExporter{pg: map[string]*pgxpool.Pool{}, redis: map[string]*goredis.Client{}}
	if pg := p.Postgres; pg != nil {
		for _, s := range []local.PostgresServer{pg.Primary, pg.Standby} {
			cfg, err := pgxpool.ParseConfig(s.DSN)
			if err != nil {
				return nil, fmt.Errorf("store exporter: %s: %w", s.Name, err)
			}
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				return nil, fmt.Errorf("store exporter: %s: %w", s.Name, err)
			}
			e.pg[s.Addr()] = pool
		}
	}
	if r := p.Redis; r != nil {
		for _, n := range []local.RedisNode{r.Primary, r.Replica} {
			e.redis[n.Addr] = goredis.NewClient(&goredis.Options{Addr: n.Addr, PoolSize: 1, DialTimeout: scrapeTimeout, ReadTimeout: scrapeTimeout})
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.closeClients()
		return nil, err
	}
	e.Addr = ln.Addr().String()
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// Targets are the Prometheus targets of the exporter, one per server.
func (e *StoreExporter) Targets() []local.Target {
	var out []local.Target
	add := func(addr, store string) {
		out = append(out, local.Target{Addr: e.Addr, Labels: map[string]string{
			"__param_target": addr, "instance": addr, "exporter": store + "_exporter"}})
	}
	for _, a := range sortedKeys(e.pg) {
		add(a, "postgres")
	}
	for _, a := range sortedKeys(e.redis) {
		add(a, "redis")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stop closes the listener and the clients.
func (e *StoreExporter) Stop() {
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	e.closeClients()
}

func (e *StoreExporter) closeClients() {
	for _, p := range e.pg {
		p.Close()
	}
	for _, c := range e.redis {
		_ = c.Close()
	}
}

func (e *StoreExporter) serve(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("target")
	ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout)
	defer cancel()
	var b strings.Builder
	if pool, ok := e.pg[target]; ok {
		writePostgres(ctx, &b, pool)
	} else if c, ok := e.redis[target]; ok {
		writeRedis(ctx, &b, c)
	} else {
		http.Error(w, fmt.Sprintf("target %q: not a store server of this platform (known: %v %v)", target, sortedKeys(e.pg), sortedKeys(e.redis)), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, b.String())
}

func gauge(b *strings.Builder, name, help string, v float64, labels ...string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n%s", name, help, name, name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%s=%q", labels[i], labels[i+1])
		}
		b.WriteByte('}')
	}
	fmt.Fprintf(b, " %s\n", strconv.FormatFloat(v, 'g', -1, 64))
}

// pgLagQuery is postgres_exporter's pg_replication_lag: 0 on a primary and
// on a standby that has replayed all it received (an idle primary writes
// nothing to replay), else the age of the last replayed transaction; NULL
// (no series) when the standby has replayed no transaction since it started.
const pgLagQuery = `SELECT CASE
	WHEN NOT pg_is_in_recovery() THEN 0
	WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE GREATEST(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) END::float8,
	current_setting('max_connections')::float8, current_setting('superuser_reserved_connections')::float8`

func writePostgres(ctx context.Context, b *strings.Builder, pool *pgxpool.Pool) {
	var lag *float64
	var maxConn, reserved float64
	if err := pool.QueryRow(ctx, pgLagQuery).Scan(&lag, &maxConn, &reserved); err != nil {
		gauge(b, "pg_up", "Whether the last scrape could query PostgreSQL.", 0)
		return
	}
	gauge(b, "pg_up", "Whether the last scrape could query PostgreSQL.", 1)
	if lag != nil {
		gauge(b, "pg_replication_lag_seconds", "Replication lag behind master in seconds (0 on a primary).", *lag)
	}
	gauge(b, "pg_settings_max_connections", "Server Parameter: max_connections.", maxConn)
	gauge(b, "pg_settings_superuser_reserved_connections", "Server Parameter: superuser_reserved_connections.", reserved)
}

func writeRedis(ctx context.Context, b *strings.Builder, c *goredis.Client) {
	info, err := c.Info(ctx, "replication").Result()
	var maxClients map[string]string
	if err == nil {
		maxClients, err = c.ConfigGet(ctx, "maxclients").Result()
	}
	if err != nil {
		gauge(b, "redis_up", "Information about the Redis instance.", 0)
		return
	}
	gauge(b, "redis_up", "Information about the Redis instance.", 1)
	if mc, ok := maxClients["maxclients"]; ok {
		if v, err := strconv.ParseFloat(mc, 64); err == nil {
			gauge(b, "redis_config_maxclients", "config_maxclients metric", v)
		}
	}
	for _, s := range redisSlaves(info) {
		gauge(b, "redis_connected_slave_lag_seconds", "Lag of connected slave", s.lag,
			"slave_ip", s.ip, "slave_port", s.port, "slave_state", s.state)
	}
}

type redisSlave struct {
	ip, port, state string
	lag             float64
}

// redisSlaves parses INFO replication's slaveN:ip=..,port=..,state=..,offset=..,lag=.. lines.
func redisSlaves(info string) []redisSlave {
	var out []redisSlave
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		// slave0, slave1, ...; not slave_read_only, slave_repl_offset, ...
		if !ok || !strings.HasPrefix(k, "slave") || strings.HasPrefix(k, "slave_") {
			continue
		}
		s := redisSlave{}
		for _, kv := range strings.Split(v, ",") {
			f, x, _ := strings.Cut(kv, "=")
			switch f {
			case "ip":
				s.ip = x
			case "port":
				s.port = x
			case "state":
				s.state = x
			case "lag":
				s.lag, _ = strconv.ParseFloat(x, 64)
			}
		}
		if s.ip != "" {
			out = append(out, s)
		}
	}
	return out
}
