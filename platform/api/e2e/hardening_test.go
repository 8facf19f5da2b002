package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// openSlowPost sends the headers of an ingest request and the first bytes of
// its body, and leaves the rest to the caller.
func openSlowPost(t *testing.T, base string, body []byte, first int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n%s: %s\r\nContent-Length: %d\r\n\r\n",
		api.APIKeyHeader, testKey, len(body))
	if _, err := conn.Write(body[:first]); err != nil {
		t.Fatal(err)
	}
	return conn
}

// A client trickling its body one byte every 100 ms is cut off at
// HTTP_READ_TIMEOUT instead of holding its connection for as long as it likes.
func TestSlowBodyClientIsCutOff(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, merge(env(p, topic), "HTTP_READ_TIMEOUT", "1s", "HTTP_READ_HEADER_TIMEOUT", "1s"))
	body := mustJSON(makeEvents("slow-"+randHex(4), 1)[0])
	start := time.Now()
	conn := openSlowPost(t, base, body, 1)
	ended := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // a response, then EOF, or EOF alone
		ended <- string(b)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 1; i < len(body)-1; i++ {
		select {
		case got := <-ended:
			took := time.Since(start)
			t.Logf("cut off after %s: %q", took.Round(time.Millisecond), strings.SplitN(got, "\r\n", 2)[0])
			if took < 900*time.Millisecond || took > 3*time.Second {
				t.Fatalf("connection ended after %s, want about HTTP_READ_TIMEOUT (1s)", took)
			}
			if strings.Contains(got, " 202 ") {
				t.Fatalf("a partial body was accepted: %q", got)
			}
			if n := topicRecords(t, p, topic); n != 0 {
				t.Fatalf("%d records produced from a partial body", n)
			}
			return
		case <-tick.C:
			if _, err := conn.Write(body[i : i+1]); err != nil {
				continue // the server closed; the reader reports it
			}
		}
	}
	t.Fatalf("the server read a body trickled over %s without cutting it off", time.Since(start).Round(time.Second))
}

// Beyond MAX_IN_FLIGHT concurrent /v1/ requests the API answers 503 with
// Retry-After at once; probes still answer, and the held requests finish.
func TestInFlightCapAnswers503(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, merge(env(p, topic), "MAX_IN_FLIGHT", "2"))
	evs := makeEvents("cap-"+randHex(4), 2)
	var held []net.Conn
	var bodies [][]byte
	for _, ev := range evs {
		b := mustJSON(ev)
		held, bodies = append(held, openSlowPost(t, base, b, 5)), append(bodies, b)
	}
	localtest.Eventually(t, 10*time.Second, "2 requests in flight", func() error {
		if m := apiMetrics(t, base); !strings.Contains(m, `wotr_api_requests_in_flight{pod="e2e"} 2`+"\n") {
			return fmt.Errorf("in flight: %s", grepLines(m, "wotr_api_requests_in_flight"))
		}
		return nil
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(t, base+"/v1/events", testKey, mustJSON(makeEvents(fmt.Sprintf("cap-over-%d-%s", i, randHex(2)), 1)[0]))
			if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Raw, "MAX_IN_FLIGHT") {
				t.Errorf("request over the cap: %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Raw)
			}
		}()
	}
	wg.Wait()
	if r := do(t, mustReq(http.MethodGet, base+"/ready", "")); r.Status != http.StatusOK {
		t.Errorf("/ready at the cap: %d %s", r.Status, r.Raw)
	}
	for i, c := range held {
		if _, err := c.Write(bodies[i][5:]); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("held request %d: %d", i, resp.StatusCode)
		}
	}
	if n := topicRecords(t, p, topic); n != 2 {
		t.Fatalf("topic holds %d records, want the 2 held events only", n)
	}
	if r := post(t, base+"/v1/events", testKey, mustJSON(makeEvents("cap-after-"+randHex(4), 1)[0])); r.Status != http.StatusAccepted {
		t.Fatalf("below the cap again: %d %s", r.Status, r.Raw)
	}
}

// /ready reflects what ingest needs: PostgreSQL and ClickHouse unreachable
// keep it 200, Kafka unreachable fails it.
func TestReadyIgnoresSharedDependencies(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	port := func() string { return strings.Split(freeAddr(t), ":")[1] }
	base, _ := startAPI(t, merge(env(p, topic), "POSTGRES_PORT", port(), "CLICKHOUSE_PORT", port(), "REDIS_PORT", port()))
	r := do(t, mustReq(http.MethodGet, base+"/ready", ""))
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, `"kafka":"ok"`) {
		t.Fatalf("/ready with PostgreSQL, ClickHouse and Redis unreachable: %d %s", r.Status, r.Raw)
	}
	if r := do(t, mustReq(http.MethodGet, base+"/v1/stats", testKey)); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("stats with nothing to authenticate against: %d %s", r.Status, r.Raw)
	}

	noKafka, _ := startAPI(t, merge(env(p, topic), "KAFKA_BOOTSTRAP", freeAddr(t)))
	if r := do(t, mustReq(http.MethodGet, noKafka+"/ready", "")); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Raw, `"kafka":"`) {
		t.Fatalf("/ready with Kafka unreachable: %d %s", r.Status, r.Raw)
	}
}

// Redis down: the API fails open. Events are acknowledged only once in
// Kafka, the metric counts the requests produced without de-dup, and /ready
// stays 200.
func TestRedisDownFailsOpen(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, merge(env(p, topic), "REDIS_PORT", strings.Split(freeAddr(t), ":")[1], "DEPENDENCY_TIMEOUT", "300ms"))
	ev := makeEvents("noredis-"+randHex(4), 1)[0]
	for i := range 2 {
		if r := post(t, base+"/v1/events", testKey, mustJSON(ev)); r.Status != http.StatusAccepted || r.Body["duplicates"] != nil {
			t.Fatalf("post %d with Redis down: %d %s", i, r.Status, r.Raw)
		}
	}
	if ids := topicIDs(t, p, topic); !ids[ev.ID] || topicRecords(t, p, topic) != 2 {
		t.Fatalf("topic holds %d records (%v); want the event twice, de-dup being off", topicRecords(t, p, topic), ids)
	}
	if m := apiMetrics(t, base); !strings.Contains(m, `wotr_api_dedup_unavailable_total{pod="e2e"} 2`+"\n") {
		t.Errorf("metric: %s", grepLines(m, "wotr_api_dedup_unavailable_total"))
	}
	if r := do(t, mustReq(http.MethodGet, base+"/ready", "")); r.Status != http.StatusOK {
		t.Errorf("/ready with Redis down: %d %s", r.Status, r.Raw)
	}
}

// A retry that finds the pending mark gets 503, never a 202 duplicate; a
// mark left by an API that died before the ack frees the id once it expires,
// and the event is then produced. A 202 leaves the done mark for the window,
// under the source's own key.
func TestPendingMarkAnswers503UntilItExpires(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, env(p, topic))
	rdb := redisClient(t, p)
	ctx := context.Background()
	ev := makeEvents("pend-"+randHex(4), 1)[0]
	key := api.DedupKey(testSource, ev.ID)
	// What an API killed between claim and ack leaves behind.
	if err := rdb.Set(ctx, key, "p", 1500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	r := post(t, base+"/v1/events", testKey, mustJSON(ev))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Raw, `"pending":["`+ev.ID+`"]`) {
		t.Fatalf("retry finding the pending mark: %d %s", r.Status, r.Raw)
	}
	localtest.Eventually(t, 10*time.Second, "202 once the mark expired", func() error {
		r := post(t, base+"/v1/events", testKey, mustJSON(ev))
		if r.Status != http.StatusAccepted || r.Body["duplicates"] != nil {
			return fmt.Errorf("%d %s", r.Status, r.Raw)
		}
		return nil
	})
	if !topicIDs(t, p, topic)[ev.ID] {
		t.Fatal("the event is not in Kafka")
	}
	// The done mark follows the 202 (the commit is off the request path).
	localtest.Eventually(t, 5*time.Second, "the done mark for DEDUP_WINDOW", func() error {
		v, _ := rdb.Get(ctx, key).Result()
		ttl, _ := rdb.TTL(ctx, key).Result()
		if v != "d" || ttl < 23*time.Hour {
			return fmt.Errorf("after the 202 the mark is %q with TTL %s", v, ttl)
		}
		return nil
	})
	// The same id from another source is its own event.
	if n, _ := rdb.Exists(ctx, api.DedupKey("other", ev.ID)).Result(); n != 0 {
		t.Fatal("the mark is not scoped to the source")
	}
}

// The done mark is set after the 202 is sent, yet a client that re-sends
// the moment it has its 202 is told "duplicate", never 503 pending: a claim
// waits for this instance's commit of the same id.
func TestResendRightAfter202IsDuplicate(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 2)
	base, _ := startAPI(t, env(p, topic))
	evs := makeEvents("resend-"+randHex(4), 300)
	for _, ev := range evs {
		body := mustJSON(ev)
		if r := post(t, base+"/v1/events", testKey, body); r.Status != http.StatusAccepted || r.Body["duplicates"] != nil {
			t.Fatalf("first send of %s: %d %s", ev.ID, r.Status, r.Raw)
		}
		if r := post(t, base+"/v1/events", testKey, body); r.Status != http.StatusAccepted || r.Body["duplicates"] == nil {
			t.Fatalf("re-send of %s right after its 202: %d %s, want 202 with duplicates", ev.ID, r.Status, r.Raw)
		}
	}
	if n := topicRecords(t, p, topic); n != int64(len(evs)) {
		t.Fatalf("topic holds %d records, want %d", n, len(evs))
	}
}

// Stopping the API sends the done marks still queued: none is left to
// expire as pending (which would let a retry produce the event again).
func TestShutdownSendsQueuedCommits(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 2)
	rdb := redisClient(t, p)
	ctx := context.Background()
	// A slow Redis keeps commits queued when the last 202 is written.
	proxy, err := local.NewProxy("redis", p.Redis.Primary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	if err := proxy.Set(local.Fault{Mode: local.FaultLatency, Latency: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(proxy.Addr())
	cfg, err := api.ConfigFromEnv(api.MapLookup(merge(env(p, topic), "REDIS_HOST", host, "REDIS_PORT", port)))
	if err != nil {
		t.Fatal(err)
	}
	// Several rounds: which worker sees the stop first is up to the scheduler.
	for round := range 10 {
		srv, err := api.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		h := srv.Handler()
		evs := makeEvents(fmt.Sprintf("flush%d-%s", round, randHex(4)), 100)
		var wg sync.WaitGroup
		for _, ev := range evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(mustJSON(ev)))
				req.Header.Set(api.APIKeyHeader, testKey)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					t.Errorf("%s: %d %s", ev.ID, rec.Code, rec.Body)
				}
			}()
		}
		wg.Wait()
		srv.Close() // right after the last 202: commits are still queued
		for _, ev := range evs {
			if v, _ := rdb.Get(ctx, api.DedupKey(testSource, ev.ID)).Result(); v != "d" {
				t.Fatalf("round %d: after shutdown the mark of %s is %q, want the done mark", round, ev.ID, v)
			}
		}
	}
}

// Payloads reach Kafka byte for byte: no \u0026 for "&", no compaction.
// Duplicate and case-variant field names are refused with the rule.
func TestPayloadBytesReachKafkaAsSent(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, env(p, topic))
	ev := makeEvents("bytes-"+randHex(4), 1)[0]
	payload := `{ "q" : "a&b<c>d", "list": [1, 2.50, "\u00e9"] }`
	body := strings.Replace(string(mustJSON(ev)), string(mustJSON(ev.Payload)), payload, 1)
	if r := post(t, base+"/v1/events", testKey, []byte(body)); r.Status != http.StatusAccepted {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	rec := topicValues(t, p, topic)[ev.ID]
	if !strings.Contains(string(rec), `"payload":`+payload+"}") {
		t.Fatalf("record %s does not carry the payload %s as sent", rec, payload)
	}

	rest := `"source":"e2e","type":"t","created_at":"` + ev.CreatedAt + `","payload":{}`
	for body, reason := range map[string]string{
		`{"id":"dup-1","id":"dup-2",` + rest + `}`: `duplicate field \"id\": each field may appear only once`,
		`{"ID":"case-1",` + rest + `}`:             `field \"ID\": field names are case-sensitive, use \"id\"`,
	} {
		if r := post(t, base+"/v1/events", testKey, []byte(body)); r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, reason) {
			t.Errorf("%s: %d %s, want 400 with %s", body, r.Status, r.Raw, reason)
		}
	}
	if n := topicRecords(t, p, topic); n != 1 {
		t.Fatalf("topic holds %d records, want 1", n)
	}
}

// /v1/stats shows the caller's source only; asking for another is refused.
func TestStatsScopedToCallersSource(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 1)
	other, otherKey := "e2e-other-"+randHex(3), "e2e-other-key-"+randHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := api.Bootstrap(ctx, p.Postgres.Primary.DSN, api.Source{Name: other, APIKey: otherKey}); err != nil {
		t.Fatal(err)
	}
	conn, err := p.ClickHouse.Conn(0)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO wotr.events (id, source, type, created_at, payload)")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append(other+"-1", other, "secret.type", time.Now().UTC().Truncate(time.Second), `{}`); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	base, _ := startAPI(t, env(p, topic))
	stats := func(key, query string) response {
		return do(t, mustReq(http.MethodGet, base+"/v1/stats?window=1h"+query, key))
	}
	if r := stats(testKey, "&source="+other); r.Status != http.StatusForbidden || !strings.Contains(r.Raw, "its own source") {
		t.Fatalf("stats of another source: %d %s", r.Status, r.Raw)
	}
	r := stats(testKey, "")
	if r.Status != http.StatusOK || strings.Contains(r.Raw, other) {
		t.Fatalf("own stats show another source: %d %s", r.Status, r.Raw)
	}
	r = stats(otherKey, "")
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, `"source":"`+other+`","type":"secret.type","count":1`) || strings.Contains(r.Raw, `"source":"e2e"`) {
		t.Fatalf("the other source's stats: %d %s", r.Status, r.Raw)
	}
}

// The scaling guide's queries evaluated by a real Prometheus scraping the
// API: the average latency is a number for the instance even though /ready
// and /health were probed only before the window's traffic.
func TestScalingGuideQueriesGiveNumbers(t *testing.T) {
	p := platform(t)
	prom := localtest.Private(t, local.Options{Only: []string{local.Prometheus},
		Prometheus: local.PrometheusOptions{ScrapeInterval: 200 * time.Millisecond}}).Prometheus
	topic := newTopic(t, p, 1)
	base, _ := startAPI(t, env(p, topic))
	for _, path := range []string{"/ready", "/health"} {
		if r := do(t, mustReq(http.MethodGet, base+path, "")); r.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.Status)
		}
	}
	// 503s for the error rate, one before the first scrape and one after
	// (rate ignores a series' first sample): an event still being written.
	evs := makeEvents("prom-"+randHex(4), 20)
	if err := redisClient(t, p).Set(context.Background(), api.DedupKey(testSource, evs[0].ID), "p", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	postPending := func() {
		if r := post(t, base+"/v1/events", testKey, mustJSON(evs[0])); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("pending event: %d %s", r.Status, r.Raw)
		}
	}
	postPending()
	addr := strings.TrimPrefix(base, "http://")
	if err := prom.SetTargets([]local.Target{{Addr: addr, Labels: map[string]string{}}}); err != nil {
		t.Fatal(err)
	}
	// Samples before and after the traffic, so rate() sees it.
	query := func(q string) ([]string, error) {
		resp, err := http.Get(prom.URL + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		var vals []string
		for _, r := range out.Data.Result {
			vals = append(vals, fmt.Sprint(r.Value[1]))
		}
		return vals, nil
	}
	localtest.Eventually(t, 20*time.Second, "API scraped", func() error {
		v, err := query(`fastapi_requests_total{instance="` + addr + `"}`)
		if err != nil || len(v) == 0 {
			return fmt.Errorf("no series yet: %v", err)
		}
		return nil
	})
	postPending()
	for _, ev := range evs[1:] {
		if r := post(t, base+"/v1/events", testKey, mustJSON(ev)); r.Status != http.StatusAccepted {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	for _, q := range []string{
		`avg(rate(fastapi_request_duration_seconds_sum[5m]) / rate(fastapi_request_duration_seconds_count[5m])) by (instance)`,
		`sum(rate(fastapi_requests_total[5m])) by (instance)`,
		`sum(rate(fastapi_requests_total{status=~"5.."}[5m])) by (instance) / sum(rate(fastapi_requests_total[5m])) by (instance)`,
		`histogram_quantile(0.99, sum(rate(fastapi_request_duration_seconds_bucket[5m])) by (instance, le))`,
	} {
		localtest.Eventually(t, 20*time.Second, q, func() error {
			v, err := query(q)
			switch {
			case err != nil:
				return err
			case len(v) != 1:
				return fmt.Errorf("%d results: %v", len(v), v)
			case v[0] == "NaN" || v[0] == "0":
				return fmt.Errorf("value %s", v[0])
			}
			return nil
		})
	}
}

func redisClient(t *testing.T, p *local.Platform) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: p.Redis.Primary.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func apiMetrics(t *testing.T, base string) string {
	t.Helper()
	return do(t, mustReq(http.MethodGet, base+"/metrics", "")).Raw
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// topicValues maps each event id on topic to its record value.
func topicValues(t *testing.T, p *local.Platform, topic string) map[string][]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := topicRecords(t, p, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string][]byte{}
	for n := int64(0); n < want; {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", n, want)
		}
		f.EachRecord(func(r *kgo.Record) {
			n++
			for _, h := range r.Headers {
				if h.Key == "event-id" {
					out[string(h.Value)] = r.Value
				}
			}
		})
	}
	return out
}
