package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromEnv(MapLookup(map[string]string{"POD_NAME": "api-0"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8000" || c.PodName != "api-0" {
		t.Fatalf("listen %q pod %q", c.ListenAddr, c.PodName)
	}
	if c.Postgres.PoolMin != 2 || c.Postgres.PoolMax != 10 || c.ClickHouse.PoolSize != 10 || c.Kafka.Producers != 5 || c.Redis.PoolSize != 50 {
		t.Fatalf("pool defaults differ from the scaling guide's tuning: %+v", c)
	}
	if c.Kafka.Topic != "ingest-events" || c.Kafka.Brokers[0] != "localhost:9092" {
		t.Fatalf("kafka %+v", c.Kafka)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	_, err := ConfigFromEnv(MapLookup(map[string]string{
		"POSTGRES_PORT":        "abc",
		"REDIS_POOL_SIZE":      "-1",
		"KAFKA_BOOTSTRAP":      "kafka",
		"CLICKHOUSE_PORT":      "70000",
		"KAFKA_LINGER":         "soon",
		"POSTGRES_POOL_MIN":    "20",
		"CLICKHOUSE_POOL_SIZE": "ten",
		"REDIS_CLUSTER":        "maybe",
	}))
	if err == nil {
		t.Fatal("invalid env accepted")
	}
	for _, want := range []string{
		`POSTGRES_PORT="abc": must be a TCP port number from 1 to 65535`,
		`REDIS_POOL_SIZE="-1": must be an integer from 1 to 10000`,
		`KAFKA_BOOTSTRAP="kafka": each item must be host:port`,
		`CLICKHOUSE_PORT="70000"`,
		`KAFKA_LINGER="soon": must be a duration`,
		`POSTGRES_POOL_MIN="20": must not exceed POSTGRES_POOL_MAX (10)`,
		`CLICKHOUSE_POOL_SIZE="ten"`,
		`REDIS_CLUSTER="maybe": must be true or false`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDSNEscapesCredentials(t *testing.T) {
	c := PostgresConfig{Host: "db", Port: 5432, User: "u", Password: "p@ss:w/rd", DB: "wotr", SSLMode: "disable"}
	if got := c.DSN(); got != "postgres://u:p%40ss%3Aw%2Frd@db:5432/wotr?sslmode=disable" {
		t.Fatalf("DSN %s", got)
	}
}

func TestGuardOpensAfterFailuresAndFailsFast(t *testing.T) {
	g := NewGuard("dep", 50*time.Millisecond, time.Minute)
	g.Retries = 0
	calls := 0
	boom := errors.New("boom")
	for i := 0; i < 5; i++ {
		_ = g.Do(context.Background(), func(context.Context) error { calls++; return boom })
	}
	if g.State() != gobreaker.StateOpen {
		t.Fatalf("state %v after 5 failures, want open", g.State())
	}
	err := g.Do(context.Background(), func(context.Context) error { calls++; return nil })
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter != time.Minute || calls != 5 {
		t.Fatalf("open breaker: err %v calls %d", err, calls)
	}
}

func TestGuardRetriesIdempotentCalls(t *testing.T) {
	g := NewGuard("dep", 50*time.Millisecond, time.Minute)
	g.BaseWait = time.Millisecond
	calls := 0
	err := g.Do(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("transient")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want success on the 3rd", err, calls)
	}
	calls = 0
	_ = g.Once(context.Background(), func(context.Context) error { calls++; return errors.New("x") })
	if calls != 1 {
		t.Fatalf("Once called %d times", calls)
	}
}

func TestGuardTimesOutSlowCalls(t *testing.T) {
	g := NewGuard("dep", 20*time.Millisecond, time.Minute)
	start := time.Now()
	err := g.Once(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

// Without an API key the API refuses before touching any dependency, so this
// runs with every dependency unreachable.
func TestMissingAPIKeyAndHealth(t *testing.T) {
	cfg, err := ConfigFromEnv(MapLookup(map[string]string{
		"POSTGRES_PORT": "1", "REDIS_PORT": "1", "CLICKHOUSE_PORT": "1", "KAFKA_BOOTSTRAP": "127.0.0.1:1",
		"DEPENDENCY_TIMEOUT": "200ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(`{}`)))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "missing API key") {
		t.Fatalf("no key: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("health %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"postgres"`) {
		t.Fatalf("ready with dependencies down: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	// Probes and scrapes are counted apart from the API's requests.
	for _, probe := range []string{`endpoint="/health"`, `endpoint="/ready"`} {
		if !strings.Contains(body, `wotr_api_probe_requests_total{`+probe) {
			t.Errorf("/metrics lacks wotr_api_probe_requests_total{%s}", probe)
		}
		if strings.Contains(body, `fastapi_requests_total{`+probe) {
			t.Errorf("fastapi_requests_total counts %s: a probe is not an API request", probe)
		}
	}
	for _, want := range []string{
		`fastapi_requests_total{endpoint="/v1/events",method="POST",pod=`,
		"fastapi_request_duration_seconds_bucket", "postgres_pool_size", "postgres_pool_available",
		"postgres_pool_in_use", "postgres_pool_waits_total", "clickhouse_pool_size", "redis_pool_size",
		"kafka_producer_pool_size", "kafka_producer_buffered_records", `circuit_breaker_state{dependency="kafka"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Every setting is described once, with what its most specific reader
// accepts (KAFKA_BOOTSTRAP is read as text, then a list, then host:ports).
func TestEnvDescribesEachSettingOnce(t *testing.T) {
	vars := DescribeConfig()
	seen := map[string]EnvVar{}
	for _, v := range vars {
		if _, dup := seen[v.Name]; dup {
			t.Errorf("%s described twice", v.Name)
		}
		seen[v.Name] = v
	}
	for name, want := range map[string]EnvVar{
		"KAFKA_BOOTSTRAP":     {"KAFKA_BOOTSTRAP", "localhost:9092", "comma-separated host:port list"},
		"REDIS_CLUSTER":       {"REDIS_CLUSTER", "false", "true or false"},
		"DEDUP_WINDOW":        {"DEDUP_WINDOW", "24h0m0s", "duration from 1s to 720h0m0s"},
		"POSTGRES_PORT":       {"POSTGRES_PORT", "5432", "TCP port"},
		"POD_NAME":            {"POD_NAME", "the host name", ""},
		"CLICKHOUSE_PASSWORD": {"CLICKHOUSE_PASSWORD", "", ""},
	} {
		if seen[name] != want {
			t.Errorf("%s described as %+v, want %+v", name, seen[name], want)
		}
	}
}
