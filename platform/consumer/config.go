package consumer

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/platform/api"
)

// Config configures the consumer. Env names follow the scaling guide (KAFKA_BOOTSTRAP,
// KAFKA_GROUP_ID, CLICKHOUSE_HOST).
type Config struct {
	ListenAddr string
	PodName    string

	Brokers        []string
	GroupID        string
	Topic          string
	DLQTopic       string
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the group waits for a member to rejoin;
	// a batch blocks rebalancing, so BatchTimeout stays below it.
	RebalanceTimeout time.Duration

	ClickHouse api.ClickHouseConfig

	// BatchSize caps the records inserted as one block.
	BatchSize int
	// BatchWait is how long a batch smaller than BatchMin waits for more
	// records after its first: every insert is a part on disk to merge, so
	// ClickHouse wants inserts of a thousand rows or more, or at most about
	// one per second.
	BatchWait time.Duration
	// BatchMin is the size at which a batch is inserted without waiting.
	BatchMin int
	// InsertRetries bounds attempts for a block ClickHouse rejects.
	InsertRetries int
	// InsertTimeout bounds one INSERT.
	InsertTimeout time.Duration
	// Slowdown pauses after every batch (demo: makes lag build up).
	Slowdown time.Duration
	// BatchTimeout bounds one batch (insert, dead-letter, commit); a batch
	// past it is abandoned uncommitted and read again.
	BatchTimeout time.Duration
	// ShutdownTimeout is how long the batch in progress may still finish
	// after SIGTERM before it is abandoned uncommitted.
	ShutdownTimeout time.Duration
	// StuckAfter turns /health unhealthy when records were polled and none
	// committed for this long.
	StuckAfter time.Duration
}

// ConfigFromEnv reads the consumer configuration; lookup nil means the process
// env. Every invalid value is reported, each naming its variable and rule.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	e := api.NewEnv(lookup)
	c := readConfig(e)
	if err := e.Err(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	var rules []string
	if c.BatchTimeout >= c.RebalanceTimeout {
		rules = append(rules, fmt.Sprintf("BATCH_TIMEOUT=%s: must be below KAFKA_REBALANCE_TIMEOUT (%s), or the group evicts a member mid-batch", c.BatchTimeout, c.RebalanceTimeout))
	}
	if c.BatchWait >= c.BatchTimeout {
		rules = append(rules, fmt.Sprintf("BATCH_WAIT=%s: must be below BATCH_TIMEOUT (%s)", c.BatchWait, c.BatchTimeout))
	}
	if len(rules) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n%s", strings.Join(rules, "\n"))
	}
	if c.Topic == c.DLQTopic {
		return Config{}, fmt.Errorf("invalid configuration:\nKAFKA_DLQ_TOPIC=%q: must differ from KAFKA_TOPIC", c.DLQTopic)
	}
	return c, nil
}

// readConfig reads every setting through e; ConfigFromEnv adds the rules
// that tie settings together, DescribeConfig lists them for --help.
func readConfig(e *api.Env) Config {
	host, _ := os.Hostname()
	return Config{
		ListenAddr:       e.String("LISTEN_ADDR", ":8001"),
		PodName:          e.String("POD_NAME", host),
		Brokers:          e.HostPorts("KAFKA_BOOTSTRAP", "localhost:9092"),
		GroupID:          e.String("KAFKA_GROUP_ID", "wotr-consumer-group"),
		Topic:            e.String("KAFKA_TOPIC", "ingest-events"),
		DLQTopic:         e.String("KAFKA_DLQ_TOPIC", "dlq-events"),
		SessionTimeout:   e.Duration("KAFKA_SESSION_TIMEOUT", 45*time.Second, 6*time.Second, 30*time.Minute),
		RebalanceTimeout: e.Duration("KAFKA_REBALANCE_TIMEOUT", 60*time.Second, 2*time.Second, 30*time.Minute),
		ClickHouse: api.ClickHouseConfig{
			Host:     e.String("CLICKHOUSE_HOST", "localhost"),
			Port:     e.Port("CLICKHOUSE_PORT", 9000),
			User:     e.String("CLICKHOUSE_USER", "default"),
			Password: e.String("CLICKHOUSE_PASSWORD", ""),
			DB:       e.String("CLICKHOUSE_DB", "wotr"),
			Table:    e.String("CLICKHOUSE_TABLE", "events"),
			PoolSize: e.Int("CLICKHOUSE_POOL_SIZE", 10, 1, 10000),
		},
		BatchSize:       e.Int("BATCH_SIZE", 10000, 1, 1000000),
		BatchWait:       e.Duration("BATCH_WAIT", time.Second, 0, time.Minute),
		BatchMin:        e.Int("BATCH_MIN_SIZE", 1000, 1, 1000000),
		InsertRetries:   e.Int("INSERT_RETRIES", 3, 0, 100),
		InsertTimeout:   e.Duration("INSERT_TIMEOUT", 30*time.Second, 100*time.Millisecond, 10*time.Minute),
		Slowdown:        e.Duration("CONSUMER_SLOWDOWN", 0, 0, time.Hour),
		BatchTimeout:    e.Duration("BATCH_TIMEOUT", 30*time.Second, time.Second, 30*time.Minute),
		ShutdownTimeout: e.Duration("SHUTDOWN_TIMEOUT", 10*time.Second, 0, 10*time.Minute),
		StuckAfter:      e.Duration("HEALTH_STUCK_AFTER", 2*time.Minute, time.Second, 24*time.Hour),
	}
}

// DescribeConfig lists the consumer's environment variables for --help.
func DescribeConfig() []api.EnvVar {
	e := api.NewEnv(api.MapLookup(nil))
	readConfig(e)
	return api.HostNameDefault(e.Vars(), "POD_NAME")
}
