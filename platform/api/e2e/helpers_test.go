// Package e2e runs the ingest API and the consumer end to end against the real
// components of platform/local: kfake Kafka, PostgreSQL, Redis, ClickHouse.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kafka, local.Postgres, local.Redis, local.ClickHouse}}))
}

var components = []string{local.Kafka, local.Postgres, local.Redis, local.ClickHouse}

const testSource = "e2e"

var testKey = "e2e-key-" + randHex(8)

var bootstrapOnce sync.Once

// platform returns the shared platform with the sources table and test key in place.
func platform(t testing.TB) *local.Platform {
	t.Helper()
	if _, bench := t.(*testing.B); bench {
		// Benchmarks run without the shared platform (make bench: -run '^$'):
		// each starts its own, stopped when it ends.
		p := localtest.Private(t, local.Options{Only: components})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := api.Bootstrap(ctx, p.Postgres.Primary.DSN, api.Source{Name: testSource, APIKey: testKey}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := localtest.Platform(t, components...)
	var err error
	bootstrapOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = api.Bootstrap(ctx, p.Postgres.Primary.DSN, api.Source{Name: testSource, APIKey: testKey})
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// env is the service environment pointing at the local platform.
func env(p *local.Platform, topic string) map[string]string {
	rh, rp, _ := net.SplitHostPort(p.Redis.Primary.Addr)
	return map[string]string{
		"POSTGRES_HOST":          p.Postgres.Primary.Host,
		"POSTGRES_PORT":          strconv.Itoa(p.Postgres.Primary.Port),
		"POSTGRES_USER":          p.Postgres.Superuser,
		"POSTGRES_PASSWORD":      p.Postgres.Password,
		"POSTGRES_DB":            "wotr",
		"REDIS_HOST":             rh,
		"REDIS_PORT":             rp,
		"KAFKA_BOOTSTRAP":        p.Kafka.Bootstrap(),
		"KAFKA_TOPIC":            topic,
		"KAFKA_DLQ_TOPIC":        topic + "-dlq",
		"CLICKHOUSE_HOST":        strings.Split(p.ClickHouse.Replicas[0].NativeAddr, ":")[0],
		"CLICKHOUSE_PORT":        strings.Split(p.ClickHouse.Replicas[0].NativeAddr, ":")[1],
		"KAFKA_GROUP_ID":         "group-" + topic,
		"KAFKA_SESSION_TIMEOUT":  "6s",
		"LISTEN_ADDR":            "127.0.0.1:0",
		"POD_NAME":               "e2e",
		"KAFKA_DELIVERY_TIMEOUT": "2s",
		"BREAKER_OPEN_FOR":       "1s",
	}
}

func merge(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// newTopic creates a topic (and its DLQ) private to one test, so tests do not
// see each other's records.
func newTopic(t testing.TB, p *local.Platform, partitions int32) string {
	t.Helper()
	topic := "e2e-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + randHex(3)
	adm := admin(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tp := range []string{topic, topic + "-dlq"} {
		if _, err := adm.CreateTopic(ctx, partitions, 1, nil, tp); err != nil {
			t.Fatalf("create topic %s: %v", tp, err)
		}
	}
	return topic
}

func admin(t testing.TB, p *local.Platform) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// topicRecords is the number of records written to a topic (sum of end offsets).
func topicRecords(t testing.TB, p *local.Platform, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := admin(t, p).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// startAPI runs an API instance in-process on a loopback port.
func startAPI(t testing.TB, envm map[string]string) (base string, srv *api.Server) {
	t.Helper()
	cfg, err := api.ConfigFromEnv(api.MapLookup(envm))
	if err != nil {
		t.Fatal(err)
	}
	srv, err = api.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api drain: %v", err)
		}
	})
	return base, srv
}

// startConsumer runs a consumer in-process until the test ends.
func startConsumer(t testing.TB, envm map[string]string) *consumer.Consumer {
	t.Helper()
	cfg, err := consumer.ConfigFromEnv(api.MapLookup(envm))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := consumer.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
		c.Close()
	})
	return c
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func post(t testing.TB, url, key string, body []byte) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(api.APIKeyHeader, key)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

type event struct {
	ID        string         `json:"id"`
	Source    string         `json:"source"`
	Type      string         `json:"type"`
	CreatedAt string         `json:"created_at"`
	Payload   map[string]any `json:"payload"`
}

// makeEvents builds n valid events with whole-second timestamps (ClickHouse
// stores created_at as DateTime, to the second).
func makeEvents(prefix string, n int) []event {
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]event, n)
	for i := range out {
		out[i] = event{
			ID:        fmt.Sprintf("%s-%d", prefix, i),
			Source:    testSource,
			Type:      []string{"order.created", "order.paid", "user/signup"}[i%3],
			CreatedAt: now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339),
			Payload:   map[string]any{"n": float64(i), "note": fmt.Sprintf("événement <%d> \"quoted\"", i)},
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type storedEvent struct {
	ID, Source, Type, Payload string
	CreatedAt                 time.Time
}

// stored reads events whose id starts with prefix, one row per id (FINAL
// collapses re-deliveries).
func stored(t testing.TB, p *local.Platform, prefix string) map[string]storedEvent {
	t.Helper()
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, fmt.Sprintf(
		"SELECT id, source, type, created_at, payload FROM wotr.events FINAL WHERE id LIKE '%s%%'", prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedEvent{}
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.ID, &e.Source, &e.Type, &e.CreatedAt, &e.Payload); err != nil {
			t.Fatal(err)
		}
		out[e.ID] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// storedCount counts distinct ids with the prefix.
func storedCount(t testing.TB, p *local.Platform, prefix string) uint64 {
	t.Helper()
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var n uint64
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(id) FROM wotr.events WHERE id LIKE '%s%%'", prefix)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary builds cmd/wotr-api or cmd/wotr-consumer once per test run.
func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "wotr-e2e-bin-")
		if buildErr != nil {
			return
		}
		for _, n := range []string{"wotr-api", "wotr-consumer"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, n), "github.com/wotr/wotr-tui/cmd/"+n).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", n, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs a built binary with envm; its output goes to the test log
// on failure.
func startProcess(t testing.TB, bin string, envm map[string]string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin)
	for k, v := range envm {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out.String())
		}
	})
	return cmd, &out
}
