package api

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Config configures the ingest API. Env names follow the scaling guide's deployment
// (POSTGRES_HOST, REDIS_HOST, KAFKA_BOOTSTRAP, CLICKHOUSE_HOST) and the pool
// defaults follow its tuning section.
type Config struct {
	ListenAddr string
	PodName    string

	Postgres   PostgresConfig
	Redis      RedisConfig
	Kafka      KafkaConfig
	ClickHouse ClickHouseConfig

	Limits Limits

	DedupWindow  time.Duration
	AuthCacheTTL time.Duration
	// AuthLocalTTL keeps known keys in process (0 disables); at most AuthCacheTTL.
	AuthLocalTTL time.Duration
	// DepTimeout bounds every single dependency call.
	DepTimeout time.Duration
	// ShutdownDelay keeps serving after SIGTERM while /ready already fails, so
	// load balancers stop routing before the listener closes.
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
	// BreakerOpenFor is how long an open circuit rejects calls before probing.
	BreakerOpenFor time.Duration

	HTTP HTTPConfig
}

// HTTPConfig bounds what one client can hold: a connection that trickles
// its request, and how many requests run at once.
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration
	// ReadTimeout covers the whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout runs from the end of the headers to the end of the answer.
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MaxInFlight caps concurrent /v1/ requests; the rest get 503.
	MaxInFlight int
}

// PendingTTL is how long a de-dup claim lives before its event is
// acknowledged: the produce's bound (delivery timeout plus a dependency
// timeout) and one more dependency timeout for the commit. A claim whose
// API died or whose release failed frees its id after this.
func (c Config) PendingTTL() time.Duration { return c.Kafka.DeliveryTimeout + 2*c.DepTimeout }

// PostgresConfig holds the sources database settings.
type PostgresConfig struct {
	Host, User, Password, DB, SSLMode string
	Port                              int
	PoolMin, PoolMax                  int
}

// DSN builds a libpq-style connection URL.
func (c PostgresConfig) DSN() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password),
		Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.DB,
		RawQuery: url.Values{"sslmode": {c.SSLMode}}.Encode()}
	return u.String()
}

// RedisConfig holds cache and de-dup store settings.
type RedisConfig struct {
	Host, Password string
	Port, DB       int
	PoolSize       int
	// Cluster selects Redis Cluster mode (REDIS_CLUSTER=true).
	Cluster bool
}

// Addr is host:port.
func (c RedisConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// KafkaConfig holds producer settings.
type KafkaConfig struct {
	Brokers         []string
	Topic           string
	Producers       int
	Linger          time.Duration
	DeliveryTimeout time.Duration
}

// ClickHouseConfig holds the stats store settings.
type ClickHouseConfig struct {
	Host, User, Password, DB, Table string
	Port                            int
	PoolSize                        int
}

// Addr is host:port.
func (c ClickHouseConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Limits bound what one request may carry.
type Limits struct {
	MaxBodyBytes   int64
	MaxBatchEvents int
	MaxPayloadSize int
	// MaxClockSkew is how far in the future created_at may be.
	MaxClockSkew time.Duration
	// MaxEventAge is how far in the past created_at may be.
	MaxEventAge time.Duration
}

// DefaultLimits are the limits used when no env overrides them.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:   1 << 20,
		MaxBatchEvents: 500,
		MaxPayloadSize: 64 << 10,
		MaxClockSkew:   5 * time.Minute,
		MaxEventAge:    30 * 24 * time.Hour,
	}
}

// ConfigFromEnv reads the API configuration; lookup nil means the process env.
// Every invalid value is reported, each naming its variable and rule.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	e := NewEnv(lookup)
	c := readConfig(e)
	if c.Postgres.PoolMin > c.Postgres.PoolMax {
		e.fail("POSTGRES_POOL_MIN", strconv.Itoa(c.Postgres.PoolMin),
			fmt.Sprintf("must not exceed POSTGRES_POOL_MAX (%d)", c.Postgres.PoolMax))
	}
	if c.AuthLocalTTL > c.AuthCacheTTL {
		e.fail("AUTH_LOCAL_CACHE_TTL", c.AuthLocalTTL.String(),
			fmt.Sprintf("must not exceed AUTH_CACHE_TTL (%s)", c.AuthCacheTTL))
	}
	if int64(c.Limits.MaxPayloadSize) > c.Limits.MaxBodyBytes {
		e.fail("MAX_PAYLOAD_BYTES", strconv.Itoa(c.Limits.MaxPayloadSize),
			fmt.Sprintf("must not exceed MAX_BODY_BYTES (%d)", c.Limits.MaxBodyBytes))
	}
	if c.HTTP.ReadHeaderTimeout > c.HTTP.ReadTimeout {
		e.fail("HTTP_READ_HEADER_TIMEOUT", c.HTTP.ReadHeaderTimeout.String(),
			fmt.Sprintf("must not exceed HTTP_READ_TIMEOUT (%s)", c.HTTP.ReadTimeout))
	}
	// A request may read its body, then claim, produce and commit.
	if need := c.HTTP.ReadTimeout + c.PendingTTL(); c.HTTP.WriteTimeout < need {
		e.fail("HTTP_WRITE_TIMEOUT", c.HTTP.WriteTimeout.String(),
			fmt.Sprintf("must be at least HTTP_READ_TIMEOUT + KAFKA_DELIVERY_TIMEOUT + 2 x DEPENDENCY_TIMEOUT (%s), or an ingest could not answer", need))
	}
	if err := e.Err(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return c, nil
}

// readConfig reads every setting through e; ConfigFromEnv adds the rules
// that tie settings together, DescribeConfig lists them for --help.
func readConfig(e *Env) Config {
	host, _ := os.Hostname()
	const maxPool = 10000
	return Config{
		ListenAddr: e.String("LISTEN_ADDR", ":8000"),
		PodName:    e.String("POD_NAME", host),
		Postgres: PostgresConfig{
			Host:     e.String("POSTGRES_HOST", "localhost"),
			Port:     e.Port("POSTGRES_PORT", 5432),
			User:     e.String("POSTGRES_USER", "wotr"),
			Password: e.String("POSTGRES_PASSWORD", ""),
			DB:       e.String("POSTGRES_DB", "wotr"),
			SSLMode:  e.String("POSTGRES_SSLMODE", "disable"),
			PoolMin:  e.Int("POSTGRES_POOL_MIN", 2, 0, maxPool),
			PoolMax:  e.Int("POSTGRES_POOL_MAX", 10, 1, maxPool),
		},
		Redis: RedisConfig{
			Host:     e.String("REDIS_HOST", "localhost"),
			Port:     e.Port("REDIS_PORT", 6379),
			Password: e.String("REDIS_PASSWORD", ""),
			DB:       e.Int("REDIS_DB", 0, 0, 15),
			PoolSize: e.Int("REDIS_POOL_SIZE", 50, 1, maxPool),
			Cluster:  e.Bool("REDIS_CLUSTER", false),
		},
		Kafka: KafkaConfig{
			Brokers:         e.HostPorts("KAFKA_BOOTSTRAP", "localhost:9092"),
			Topic:           e.String("KAFKA_TOPIC", "ingest-events"),
			Producers:       e.Int("KAFKA_PRODUCERS", 5, 1, 100),
			Linger:          e.Duration("KAFKA_LINGER", 0, 0, time.Second),
			DeliveryTimeout: e.Duration("KAFKA_DELIVERY_TIMEOUT", 5*time.Second, 100*time.Millisecond, 5*time.Minute),
		},
		ClickHouse: ClickHouseConfig{
			Host:     e.String("CLICKHOUSE_HOST", "localhost"),
			Port:     e.Port("CLICKHOUSE_PORT", 9000),
			User:     e.String("CLICKHOUSE_USER", "default"),
			Password: e.String("CLICKHOUSE_PASSWORD", ""),
			DB:       e.String("CLICKHOUSE_DB", "wotr"),
			Table:    e.String("CLICKHOUSE_TABLE", "events"),
			PoolSize: e.Int("CLICKHOUSE_POOL_SIZE", 10, 1, maxPool),
		},
		Limits: Limits{
			MaxBodyBytes:   int64(e.Int("MAX_BODY_BYTES", int(DefaultLimits().MaxBodyBytes), 1024, math.MaxInt32)),
			MaxBatchEvents: e.Int("MAX_BATCH_EVENTS", DefaultLimits().MaxBatchEvents, 1, 100000),
			MaxPayloadSize: e.Int("MAX_PAYLOAD_BYTES", DefaultLimits().MaxPayloadSize, 2, math.MaxInt32),
			MaxClockSkew:   e.Duration("MAX_CLOCK_SKEW", DefaultLimits().MaxClockSkew, 0, 24*time.Hour),
			MaxEventAge:    e.Duration("MAX_EVENT_AGE", DefaultLimits().MaxEventAge, time.Minute, 100*365*24*time.Hour),
		},
		DedupWindow:     e.Duration("DEDUP_WINDOW", 24*time.Hour, time.Second, 30*24*time.Hour),
		AuthCacheTTL:    e.Duration("AUTH_CACHE_TTL", 5*time.Minute, time.Second, 24*time.Hour),
		AuthLocalTTL:    e.Duration("AUTH_LOCAL_CACHE_TTL", 10*time.Second, 0, time.Hour),
		DepTimeout:      e.Duration("DEPENDENCY_TIMEOUT", 2*time.Second, 10*time.Millisecond, time.Minute),
		ShutdownDelay:   e.Duration("SHUTDOWN_DELAY", 0, 0, 5*time.Minute),
		ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", 25*time.Second, time.Second, 10*time.Minute),
		BreakerOpenFor:  e.Duration("BREAKER_OPEN_FOR", 5*time.Second, 100*time.Millisecond, 10*time.Minute),
		HTTP: HTTPConfig{
			ReadHeaderTimeout: e.Duration("HTTP_READ_HEADER_TIMEOUT", 5*time.Second, 100*time.Millisecond, 5*time.Minute),
			ReadTimeout:       e.Duration("HTTP_READ_TIMEOUT", 30*time.Second, 100*time.Millisecond, 10*time.Minute),
			WriteTimeout:      e.Duration("HTTP_WRITE_TIMEOUT", time.Minute, time.Second, 30*time.Minute),
			IdleTimeout:       e.Duration("HTTP_IDLE_TIMEOUT", 2*time.Minute, time.Second, time.Hour),
			MaxInFlight:       e.Int("MAX_IN_FLIGHT", 1000, 1, 1000000),
		},
	}
}

// DescribeConfig lists the API's environment variables for --help.
func DescribeConfig() []EnvVar {
	e := NewEnv(MapLookup(nil))
	readConfig(e)
	return HostNameDefault(e.Vars(), "POD_NAME")
}

// HostNameDefault names the default of a variable that defaults to the
// machine's host name, rather than showing this machine's.
func HostNameDefault(vars []EnvVar, name string) []EnvVar {
	for i := range vars {
		if vars[i].Name == name {
			vars[i].Default = "the host name"
		}
	}
	return vars
}
