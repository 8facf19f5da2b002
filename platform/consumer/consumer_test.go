package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/consumer"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kafka, local.ClickHouse}, Faults: true}))
}

const chProxy = "clickhouse-01-replica1"

type fixture struct {
	p      *local.Platform
	topic  string
	table  string
	prefix string
	env    map[string]string
	kc     *kgo.Client
}

// newFixture gives a test its own topic, DLQ and events table (created by
// create, which gets the table's name), with the consumer's ClickHouse
// address behind the fault proxy.
func newFixture(t *testing.T, create string) *fixture {
	t.Helper()
	p := localtest.Platform(t, local.Kafka, local.ClickHouse)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	f := &fixture{p: p, topic: "cons-" + suffix, table: "events_" + suffix, prefix: "c" + suffix + "-"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	f.kc, err = kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(f.topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.kc.Close)
	adm := kadm.NewClient(f.kc)
	for _, tp := range []string{f.topic, f.topic + "-dlq"} {
		if _, err := adm.CreateTopic(ctx, 2, 1, nil, tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ClickHouse.Exec(ctx, 0, fmt.Sprintf(create, "wotr."+f.table)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Faults.ClearAll()
		_ = p.ClickHouse.Exec(context.Background(), 0, "DROP TABLE IF EXISTS wotr."+f.table)
	})
	addr, err := p.ProxyAddr(chProxy)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	f.env = map[string]string{
		"KAFKA_BOOTSTRAP": p.Kafka.Bootstrap(), "KAFKA_TOPIC": f.topic, "KAFKA_DLQ_TOPIC": f.topic + "-dlq",
		"KAFKA_GROUP_ID": "g-" + f.topic, "KAFKA_SESSION_TIMEOUT": "6s", "KAFKA_REBALANCE_TIMEOUT": "10s",
		"CLICKHOUSE_HOST": host, "CLICKHOUSE_PORT": port, "CLICKHOUSE_TABLE": f.table,
		"BATCH_SIZE": "200", "BATCH_WAIT": "100ms", "BATCH_MIN_SIZE": "200", "INSERT_TIMEOUT": "2s",
		"BATCH_TIMEOUT": "3s", "SHUTDOWN_TIMEOUT": "2s", "HEALTH_STUCK_AFTER": "2s", "POD_NAME": "t",
	}
	return f
}

// plainTable is a MergeTree with the events columns.
const (
	plainTable = "CREATE TABLE %s AS wotr.events ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (source, created_at, id)"
)

func (f *fixture) produce(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC().Truncate(time.Second)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := api.Event{ID: fmt.Sprintf("%s%d", f.prefix, i), Source: "t", Type: "order.created", CreatedAt: now, Payload: []byte(`{"n":1}`)}
		recs[i] = &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: ev.Marshal()}
	}
	if err := f.kc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) stored(t *testing.T) uint64 {
	t.Helper()
	conn, err := f.p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n uint64
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(id) FROM wotr.%s WHERE id LIKE '%s%%'", f.table, f.prefix)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) deadLettered(t *testing.T) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(f.kc).ListEndOffsets(ctx, f.topic+"-dlq")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

type running struct {
	c      *consumer.Consumer
	cancel context.CancelFunc
	done   chan error
}

func (f *fixture) start(t *testing.T, extra ...string) *running {
	t.Helper()
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg, err := consumer.ConfigFromEnv(api.MapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := consumer.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &running{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
			c.Close()
		case <-time.After(20 * time.Second):
			t.Errorf("consumer still running 20s after its context ended")
		}
	})
	return r
}

func health(t *testing.T, c *consumer.Consumer) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func metric(t *testing.T, c *consumer.Consumer, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var sum float64
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			fs := strings.Fields(line)
			v, _ := strconv.ParseFloat(fs[len(fs)-1], 64)
			sum += v
		}
	}
	return sum
}

// A ClickHouse server exception is not bad data: with the table detached
// every insert is refused (UNKNOWN_TABLE, code 60, standing for any server
// state such as read-only 242 or too many parts 252), the consumer retries
// and dead-letters nothing, and every row arrives once the table is back.
func TestServerErrorsAreRetriedNotDeadLettered(t *testing.T) {
	f := newFixture(t, plainTable)
	ctx := context.Background()
	ch := f.p.ClickHouse
	const n = 1000
	f.produce(t, n)
	r := f.start(t, "INSERT_RETRIES", "1")
	if err := ch.Exec(ctx, 0, "DETACH TABLE wotr."+f.table); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 30*time.Second, "the consumer retrying refused inserts", func() error {
		if v := metric(t, r.c, "wotr_consumer_insert_retries_total"); v < 5 {
			return fmt.Errorf("%v insert retries", v)
		}
		return nil
	})
	// Watch for 8 s of refusals: splitting a 200-row block down to single
	// rows takes about a second, so a consumer that blamed the data would
	// have given rows up by then.
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); {
		if v := metric(t, r.c, `wotr_consumer_events_failed_total`); v != 0 {
			t.Fatalf("%v valid rows given up while ClickHouse answered server errors", v)
		}
		if d := f.deadLettered(t); d != 0 {
			t.Fatalf("%d valid records dead-lettered while ClickHouse answered server errors", d)
		}
		time.Sleep(200 * time.Millisecond) // observation interval
	}
	if err := ch.Exec(ctx, 0, "ATTACH TABLE wotr."+f.table); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 60*time.Second, "every row stored after the table is back", func() error {
		if got := f.stored(t); got != n {
			return fmt.Errorf("%d of %d stored", got, n)
		}
		return nil
	})
	if d := f.deadLettered(t); d != 0 {
		t.Fatalf("%d valid records dead-lettered", d)
	}
}

// ClickHouse unreachable for several batch timeouts: batches are abandoned
// uncommitted and read again, /health turns unhealthy, and after recovery
// every row arrives and nothing was dead-lettered.
func TestClickHouseOutageLosesNothingAndHealthShowsStuck(t *testing.T) {
	f := newFixture(t, plainTable)
	r := f.start(t)
	f.produce(t, 200)
	localtest.Eventually(t, 30*time.Second, "first rows stored", func() error {
		if got := f.stored(t); got != 200 {
			return fmt.Errorf("%d of 200", got)
		}
		return nil
	})
	if code, body := health(t, r.c); code != http.StatusOK || body["last_commit_age_seconds"] == nil {
		t.Fatalf("healthy consumer: %d %v", code, body)
	}
	if err := f.p.Faults.Set(chProxy, local.Fault{Mode: local.FaultReset}); err != nil {
		t.Fatal(err)
	}
	f.produce(t, 1000) // ids 0..999 again plus new: 1000 distinct in all
	localtest.Eventually(t, 20*time.Second, "health reports stuck", func() error {
		if code, body := health(t, r.c); code != http.StatusServiceUnavailable || body["status"] != "stuck" {
			return fmt.Errorf("%d %v", code, body)
		}
		return nil
	})
	if err := f.p.Faults.Set(chProxy, local.Fault{Mode: local.FaultBlackhole}); err != nil {
		t.Fatal(err)
	}
	// Long enough for batch timeouts to abandon batches under the blackhole.
	localtest.Eventually(t, 30*time.Second, "a batch abandoned", func() error {
		if v := metric(t, r.c, "wotr_consumer_batches_abandoned_total"); v < 2 {
			return fmt.Errorf("%v batches abandoned", v)
		}
		return nil
	})
	f.p.Faults.ClearAll()
	localtest.Eventually(t, 60*time.Second, "every row stored after recovery", func() error {
		if got := f.stored(t); got != 1000 {
			return fmt.Errorf("%d of 1000", got)
		}
		return nil
	})
	localtest.Eventually(t, 20*time.Second, "healthy again", func() error {
		if code, body := health(t, r.c); code != http.StatusOK {
			return fmt.Errorf("%d %v", code, body)
		}
		return nil
	})
	if d := f.deadLettered(t); d != 0 {
		t.Fatalf("%d valid records dead-lettered during a ClickHouse outage", d)
	}
}

// The stop signal (the context) ends Run within SHUTDOWN_TIMEOUT even while
// ClickHouse answers nothing.
func TestStopWithClickHouseDownWithinGrace(t *testing.T) {
	f := newFixture(t, plainTable)
	r := f.start(t, "BATCH_TIMEOUT", "9s", "SHUTDOWN_TIMEOUT", "1s")
	if err := f.p.Faults.Set(chProxy, local.Fault{Mode: local.FaultBlackhole}); err != nil {
		t.Fatal(err)
	}
	f.produce(t, 100)
	localtest.Eventually(t, 20*time.Second, "a batch in progress", func() error {
		if _, body := health(t, r.c); body["pending_seconds"] == nil {
			return fmt.Errorf("no batch pending: %v", body)
		}
		return nil
	})
	t0 := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(t0); d > 3*time.Second {
			t.Fatalf("stopped after %s; SHUTDOWN_TIMEOUT is 1s", d)
		}
		r.done <- nil // for the cleanup
	case <-time.After(8 * time.Second):
		t.Fatal("Run still going 8s after stop with ClickHouse down (SHUTDOWN_TIMEOUT 1s)")
	}
}
