package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/consumer"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// Events POSTed through the API arrive in ClickHouse exactly as sent.
func TestEventsArriveInClickHouseAsSent(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 4)
	e := env(p, topic)
	base, _ := startAPI(t, e)
	cons := startConsumer(t, e)

	prefix := "sent-" + randHex(4)
	evs := makeEvents(prefix, 25)
	if r := post(t, base+"/v1/events", testKey, mustJSON(evs[0])); r.Status != http.StatusAccepted {
		t.Fatalf("single event: %d %s", r.Status, r.Raw)
	}
	r := post(t, base+"/v1/events", testKey, mustJSON(evs[1:]))
	if r.Status != http.StatusAccepted || r.Body["accepted"] != float64(24) {
		t.Fatalf("batch: %d %s", r.Status, r.Raw)
	}
	// A client retry of events already ingested is acknowledged, not produced again.
	r = post(t, base+"/v1/events", testKey, mustJSON(evs[:2]))
	if r.Status != http.StatusAccepted || len(r.Body["duplicates"].([]any)) != 2 {
		t.Fatalf("retry: %d %s", r.Status, r.Raw)
	}
	if n := topicRecords(t, p, topic); n != 25 {
		t.Fatalf("topic holds %d records, want 25 (duplicates must not be produced)", n)
	}

	var got map[string]storedEvent
	localtest.Eventually(t, 60*time.Second, "all events in ClickHouse", func() error {
		got = stored(t, p, prefix)
		if len(got) != len(evs) {
			return fmt.Errorf("%d of %d stored", len(got), len(evs))
		}
		return nil
	})
	for _, want := range evs {
		g := got[want.ID]
		wantAt, _ := time.Parse(time.RFC3339, want.CreatedAt)
		var payload map[string]any
		if err := json.Unmarshal([]byte(g.Payload), &payload); err != nil {
			t.Fatalf("%s: stored payload %q is not JSON: %v", want.ID, g.Payload, err)
		}
		if g.Source != want.Source || g.Type != want.Type || !g.CreatedAt.Equal(wantAt) ||
			payload["n"] != want.Payload["n"] || payload["note"] != want.Payload["note"] {
			t.Errorf("%s stored as %+v, sent %+v", want.ID, g, want)
		}
	}

	// The consumer exports its view of the lag and its counters.
	rec := httptest.NewRecorder()
	cons.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`kafka_consumer_lag{consumer_group="` + e["KAFKA_GROUP_ID"] + `",partition="`,
		"wotr_consumer_events_processed_total", "wotr_consumer_batch_size_bucket", "wotr_consumer_events_dead_lettered_total",
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("consumer /metrics lacks %s", want)
		}
	}

	// /v1/stats counts them per source and type.
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/stats?window=1h&source="+testSource, nil)
	req.Header.Set(api.APIKeyHeader, testKey)
	st := do(t, req)
	if st.Status != http.StatusOK {
		t.Fatalf("stats: %d %s", st.Status, st.Raw)
	}
	var total float64
	for _, row := range st.Body["rows"].([]any) {
		total += row.(map[string]any)["count"].(float64)
	}
	if total < float64(len(evs)) {
		t.Fatalf("stats total %v < %d: %s", total, len(evs), st.Raw)
	}
	bad := do(t, mustReq(http.MethodGet, base+"/v1/stats?window=-1h", testKey))
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Raw, `window=\"-1h\"`) {
		t.Fatalf("bad window: %d %s", bad.Status, bad.Raw)
	}
}

func mustReq(method, url, key string) *http.Request {
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set(api.APIKeyHeader, key)
	return req
}

// Bad input gets a 4xx with a reason and nothing reaches Kafka.
func TestBadInputIsRejectedWithReasonAndNothingProduced(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, merge(env(p, topic), "MAX_BODY_BYTES", "4096", "MAX_PAYLOAD_BYTES", "1024"))
	url := base + "/v1/events"
	good := makeEvents("bad-"+randHex(4), 1)[0]
	future := good
	future.CreatedAt = time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	missing := map[string]any{"id": "x-1", "source": testSource, "created_at": good.CreatedAt, "payload": map[string]any{}}
	wrongSource := good
	wrongSource.Source = "someone-else"

	cases := []struct {
		name   string
		key    string
		body   []byte
		status int
		reason string
	}{
		{"malformed JSON", testKey, []byte(`{"id": "a",`), 400, "malformed JSON"},
		{"oversized body", testKey, bytes.Repeat([]byte(" "), 5000), 413, "body exceeds 4096 bytes"},
		{"missing field", testKey, mustJSON(missing), 400, `missing required field \"type\"`},
		{"far future", testKey, mustJSON(future), 400, "is in the future"},
		{"unknown API key", "not-a-key", mustJSON(good), 401, "unknown or inactive API key"},
		{"missing API key", "", mustJSON(good), 401, "missing API key"},
		{"source of another key", testKey, mustJSON(wrongSource), 400, "does not match the API key's source"},
		{"one bad event spoils the batch", testKey, mustJSON([]any{good, missing}), 400, `"index":1`},
		{"empty batch", testKey, []byte(`[]`), 400, "batch is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, url, c.key, c.body)
			if r.Status != c.status || !strings.Contains(r.Raw, c.reason) {
				t.Fatalf("got %d %s; want %d with %q", r.Status, r.Raw, c.status, c.reason)
			}
		})
	}
	if n := topicRecords(t, p, topic); n != 0 {
		t.Fatalf("%d records produced for rejected input", n)
	}
	// The good event alone is accepted, proving the cases failed for their own reason.
	if r := post(t, url, testKey, mustJSON(good)); r.Status != http.StatusAccepted {
		t.Fatalf("good event: %d %s", r.Status, r.Raw)
	}
	if n := topicRecords(t, p, topic); n != 1 {
		t.Fatalf("topic holds %d records after one good event", n)
	}
}

// With Kafka stopped the API answers 503 with Retry-After, never 202, and a
// retry after recovery is ingested (its de-dup claim was released).
func TestKafkaDownAnswers503Never202(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 2)
	base, _ := startAPI(t, env(p, topic))
	url := base + "/v1/events"
	prefix := "down-" + randHex(4)
	if r := post(t, url, testKey, mustJSON(makeEvents(prefix+"-warm", 1))); r.Status != http.StatusAccepted {
		t.Fatalf("warm-up: %d %s", r.Status, r.Raw)
	}
	if err := p.Kafka.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	restart := func() {
		if !restarted {
			restarted = true
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := p.Kafka.Restart(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restart)

	evs := makeEvents(prefix, 8)
	for i, ev := range evs {
		start := time.Now()
		r := post(t, url, testKey, mustJSON(ev))
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("request %d with Kafka down: %d %s", i, r.Status, r.Raw)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("request %d: 503 without Retry-After", i)
		}
		took := time.Since(start)
		t.Logf("request %d: 503 in %s: %s", i, took.Round(time.Millisecond), strings.TrimSpace(r.Raw))
		if took > 5*time.Second { // KAFKA_DELIVERY_TIMEOUT is 2s
			t.Errorf("request %d took %s to fail: the delivery timeout did not bound it", i, took)
		}
	}
	restart()
	// The breaker half-opens after BREAKER_OPEN_FOR; the same event is then accepted.
	localtest.Eventually(t, 30*time.Second, "202 after Kafka restart", func() error {
		r := post(t, url, testKey, mustJSON(evs[0]))
		if r.Status != http.StatusAccepted {
			return fmt.Errorf("%d %s", r.Status, r.Raw)
		}
		if d, ok := r.Body["duplicates"]; ok {
			return fmt.Errorf("retry after 503 reported as duplicate: %v", d)
		}
		return nil
	})
}

// A poison record lands in the DLQ with its reason; the good records around it
// are inserted and the offsets move past it.
func TestPoisonRecordGoesToDLQWithReason(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	e := env(p, topic)
	prefix := "poison-" + randHex(4)
	good := makeEvents(prefix, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ev0, _ := api.ParseEvent(mustJSON(good[0]), api.DefaultLimits(), time.Now())
	ev1, _ := api.ParseEvent(mustJSON(good[1]), api.DefaultLimits(), time.Now())
	recs := []*kgo.Record{
		{Key: []byte(testSource), Value: ev0.Marshal()},
		{Key: []byte("poison-json"), Value: []byte(`{"id": "broken"`)},
		{Key: []byte("poison-field"), Value: []byte(`{"id":"` + prefix + `-nosrc","type":"t","created_at":"2025-01-01T00:00:00Z","payload":{}}`)},
		{Key: []byte(testSource), Value: ev1.Marshal()},
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	startConsumer(t, e)

	dlq, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.ConsumeTopics(topic+"-dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	reasons := map[string]map[string]string{}
	for len(reasons) < 2 {
		f := dlq.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("DLQ holds %d of 2 poison records after 90s", len(reasons))
		}
		f.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			reasons[string(r.Key)] = h
		})
	}
	if h := reasons["poison-json"]; h[consumer.HeaderStage] != consumer.StageDecode || !strings.Contains(h[consumer.HeaderReason], "invalid event") ||
		h[consumer.HeaderOffset] != "1" || h[consumer.HeaderTopic] != topic {
		t.Errorf("malformed record's DLQ headers: %v", h)
	}
	if h := reasons["poison-field"]; !strings.Contains(h[consumer.HeaderReason], `missing required field "source"`) {
		t.Errorf("record without source: DLQ headers %v", h)
	}
	localtest.Eventually(t, 30*time.Second, "good records in ClickHouse", func() error {
		if n := storedCount(t, p, prefix); n != 2 {
			return fmt.Errorf("%d of 2 stored", n)
		}
		return nil
	})
	localtest.Eventually(t, 30*time.Second, "offsets committed past the poison", func() error {
		offs, err := admin(t, p).FetchOffsets(ctx, e["KAFKA_GROUP_ID"])
		if err != nil {
			return err
		}
		o, _ := offs.Lookup(topic, 0)
		if o.At != 4 {
			return fmt.Errorf("committed offset %d, want 4", o.At)
		}
		return nil
	})
}

// A consumer killed between insert and commit loses nothing: its successor
// re-reads the uncommitted records and every id ends up in ClickHouse.
func TestConsumerKilledMidBatchLosesNothing(t *testing.T) {
	p := platform(t)
	bin := binary(t, "wotr-consumer")
	topic := newTopic(t, p, 3)
	e := env(p, topic)
	prefix := "kill-" + randHex(4)
	const n = 3000
	evs := makeEvents(prefix, n)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i, ev := range evs {
		pe, err := api.ParseEvent(mustJSON(ev), api.DefaultLimits(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: pe.Marshal()}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	slow := merge(e, "BATCH_SIZE", "100", "CONSUMER_SLOWDOWN", "300ms", "LISTEN_ADDR", freeAddr(t))
	first, _ := startProcess(t, bin, slow)
	localtest.Eventually(t, 60*time.Second, "first consumer inserting", func() error {
		if c := storedCount(t, p, prefix); c < 200 {
			return fmt.Errorf("%d stored", c)
		}
		return nil
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	before := storedCount(t, p, prefix)
	if before >= n {
		t.Fatalf("first consumer finished everything (%d) before the kill; the test proves nothing", before)
	}
	t.Logf("killed the first consumer with %d of %d stored", before, n)

	startProcess(t, bin, merge(e, "LISTEN_ADDR", freeAddr(t)))
	localtest.Eventually(t, 90*time.Second, "every id in ClickHouse", func() error {
		if c := storedCount(t, p, prefix); c != n {
			return fmt.Errorf("%d of %d stored", c, n)
		}
		return nil
	})
	localtest.Eventually(t, 30*time.Second, "all offsets committed", func() error {
		lag, err := admin(t, p).Lag(ctx, e["KAFKA_GROUP_ID"])
		if err != nil {
			return err
		}
		if total := lag[e["KAFKA_GROUP_ID"]].Lag.Total(); total != 0 {
			return fmt.Errorf("lag %d", total)
		}
		return nil
	})
}

// SIGTERM: /ready fails at once, an in-flight request finishes with 202 and
// its event is in Kafka, and the process exits 0.
func TestSIGTERMLetsInFlightRequestsFinish(t *testing.T) {
	p := platform(t)
	bin := binary(t, "wotr-api")
	topic := newTopic(t, p, 1)
	addr := freeAddr(t)
	cmd, _ := startProcess(t, bin, merge(env(p, topic), "LISTEN_ADDR", addr, "SHUTDOWN_DELAY", "1s"))
	base := "http://" + addr
	localtest.Eventually(t, 30*time.Second, "api ready", func() error {
		resp, err := http.Get(base + "/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("ready %d", resp.StatusCode)
		}
		return nil
	})

	body := mustJSON(makeEvents("term-"+randHex(4), 1)[0])
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set(api.APIKeyHeader, testKey)
	type result struct {
		status int
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			resc <- result{err: err}
			return
		}
		resp.Body.Close()
		resc <- result{status: resp.StatusCode}
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil { // the handler is now reading the body
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 5*time.Second, "/ready failing while draining", func() error {
		resp, err := http.Get(base + "/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return fmt.Errorf("ready %d", resp.StatusCode)
		}
		return nil
	})
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-resc
	if res.err != nil || res.status != http.StatusAccepted {
		t.Fatalf("in-flight request during drain: %d %v", res.status, res.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wotr-api exit after SIGTERM: %v", err)
	}
	if n := topicRecords(t, p, topic); n != 1 {
		t.Fatalf("topic holds %d records, want the in-flight event", n)
	}
}

// Concurrent requests share de-dup round trips; the same id sent by many of
// them at once is produced exactly once. While one request writes it the
// others get 503 with Retry-After (never a 202 for an event not yet in
// Kafka), and their retries are then answered as duplicates.
func TestConcurrentDuplicatesProducedOnce(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 4)
	base, _ := startAPI(t, env(p, topic))

	prefix := "conc-" + randHex(4)
	const ids, copies = 20, 8
	evs := makeEvents(prefix, ids)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh, dups, pending := 0, 0, 0
	for c := 0; c < copies; c++ {
		for _, ev := range evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				localtest.Eventually(t, 20*time.Second, ev.ID+" accepted", func() error {
					r := post(t, base+"/v1/events", testKey, mustJSON(ev))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != "" &&
						strings.Contains(r.Raw, `"pending":["`+ev.ID+`"]`):
						pending++
						return fmt.Errorf("%d %s", r.Status, r.Raw)
					case r.Status != http.StatusAccepted:
						t.Errorf("%s: %d %s", ev.ID, r.Status, r.Raw)
					case r.Body["duplicates"] != nil:
						dups++
					default:
						fresh++
					}
					return nil
				})
			}()
		}
	}
	wg.Wait()
	t.Logf("%d fresh, %d duplicates, %d answers of 503 pending", fresh, dups, pending)
	if fresh != ids || dups != ids*(copies-1) {
		t.Errorf("%d fresh and %d duplicate answers, want %d and %d", fresh, dups, ids, ids*(copies-1))
	}
	if n := topicRecords(t, p, topic); n != ids {
		t.Fatalf("topic holds %d records, want %d (one per id)", n, ids)
	}
}

// A batch that is not full waits BATCH_WAIT for more records: records that
// arrive apart still reach ClickHouse in one insert (one part to merge), not
// one insert each.
func TestConsumerFillsBatchWithinBatchWait(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	c := startConsumer(t, merge(env(p, topic), "BATCH_WAIT", "10s"))
	prefix := "fill-" + randHex(4)
	evs := makeEvents(prefix, 5)
	produceEvents(t, p, topic, evs[:1])
	// The consumer reports its lag on the poll that took the first record.
	localtest.Eventually(t, 30*time.Second, "the first record polled", func() error {
		if !strings.Contains(consumerMetrics(t, c), `kafka_consumer_lag{consumer_group="group-`+topic+`"`) {
			return errors.New("no lag reported yet")
		}
		return nil
	})
	if n := storedCount(t, p, prefix); n != 0 {
		t.Fatalf("%d stored before the batch wait ended", n)
	}
	produceEvents(t, p, topic, evs[1:])
	localtest.Eventually(t, 30*time.Second, "5 events stored", func() error {
		if n := storedCount(t, p, prefix); n != 5 {
			return fmt.Errorf("%d of 5 stored", n)
		}
		return nil
	})
	m := consumerMetrics(t, c)
	for _, want := range []string{`wotr_consumer_batch_size_count{pod="e2e"} 1`, `wotr_consumer_batch_size_sum{pod="e2e"} 5`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q: the records were not inserted as one batch", want)
		}
	}
}

// A batch that reached BATCH_MIN_SIZE is inserted at once: a backlog never
// waits BATCH_WAIT.
func TestConsumerDoesNotWaitOnceBatchIsBigEnough(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	// BATCH_WAIT stays below BATCH_TIMEOUT (30s); the deadline is half of it.
	startConsumer(t, merge(env(p, topic), "BATCH_WAIT", "25s", "BATCH_MIN_SIZE", "3"))
	prefix := "big-" + randHex(4)
	produceEvents(t, p, topic, makeEvents(prefix, 3))
	localtest.Eventually(t, 12*time.Second, "3 events stored well before BATCH_WAIT", func() error {
		if n := storedCount(t, p, prefix); n != 3 {
			return fmt.Errorf("%d of 3 stored", n)
		}
		return nil
	})
}

// produceEvents writes events to topic as the API would (keyed by source),
// in one produce call.
func produceEvents(t *testing.T, p *local.Platform, topic string, evs []event) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, len(evs))
	for i, ev := range evs {
		pe, err := api.ParseEvent(mustJSON(ev), api.DefaultLimits(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = &kgo.Record{Key: []byte(ev.Source), Value: pe.Marshal()}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func consumerMetrics(t *testing.T, c *consumer.Consumer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}
