package consumer

import (
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/api"
)

func TestConfigDefaults(t *testing.T) {
	c, err := ConfigFromEnv(api.MapLookup(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GroupID != "wotr-consumer-group" || c.Topic != "ingest-events" || c.DLQTopic != "dlq-events" || c.ClickHouse.PoolSize != 10 || c.BatchWait != time.Second || c.BatchMin != 1000 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	_, err := ConfigFromEnv(api.MapLookup(map[string]string{
		"CONSUMER_SLOWDOWN": "fast", "BATCH_SIZE": "0", "CLICKHOUSE_PORT": "x", "KAFKA_SESSION_TIMEOUT": "1s",
		"BATCH_WAIT": "2m", "BATCH_MIN_SIZE": "0",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`CONSUMER_SLOWDOWN="fast": must be a duration`, `BATCH_SIZE="0": must be an integer from 1`,
		`CLICKHOUSE_PORT="x": must be a TCP port`, `KAFKA_SESSION_TIMEOUT="1s"`, `BATCH_WAIT="2m"`, `BATCH_MIN_SIZE="0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = ConfigFromEnv(api.MapLookup(map[string]string{"KAFKA_DLQ_TOPIC": "ingest-events"}))
	if err == nil || !strings.Contains(err.Error(), "must differ from KAFKA_TOPIC") {
		t.Fatalf("same topics: %v", err)
	}
	c, err := ConfigFromEnv(api.MapLookup(map[string]string{"CONSUMER_SLOWDOWN": "250ms"}))
	if err != nil || c.Slowdown != 250*time.Millisecond {
		t.Fatalf("slowdown %v %v", c.Slowdown, err)
	}
}

func TestConfigBoundsBatchByRebalanceTimeout(t *testing.T) {
	_, err := ConfigFromEnv(api.MapLookup(map[string]string{"BATCH_TIMEOUT": "90s", "KAFKA_REBALANCE_TIMEOUT": "60s"}))
	if err == nil || !strings.Contains(err.Error(), "BATCH_TIMEOUT=1m30s: must be below KAFKA_REBALANCE_TIMEOUT") {
		t.Errorf("batch timeout above rebalance timeout: %v", err)
	}
	_, err = ConfigFromEnv(api.MapLookup(map[string]string{"BATCH_TIMEOUT": "5s", "BATCH_WAIT": "5s"}))
	if err == nil || !strings.Contains(err.Error(), "BATCH_WAIT=5s: must be below BATCH_TIMEOUT") {
		t.Errorf("batch wait above batch timeout: %v", err)
	}
	_, err = ConfigFromEnv(api.MapLookup(map[string]string{"HEALTH_STUCK_AFTER": "0s", "SHUTDOWN_TIMEOUT": "-1s"}))
	for _, want := range []string{`HEALTH_STUCK_AFTER="0s"`, `SHUTDOWN_TIMEOUT="-1s"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	c, err := ConfigFromEnv(api.MapLookup(nil))
	if err != nil || c.BatchTimeout != 30*time.Second || c.RebalanceTimeout != time.Minute || c.StuckAfter != 2*time.Minute || c.ShutdownTimeout != 10*time.Second {
		t.Fatalf("defaults %+v %v", c, err)
	}
}
