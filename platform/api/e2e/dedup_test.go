package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/local"
)

// A 202 means the event is in Kafka even while Redis stalls. Clients with a
// short timeout send unique ids and retry timeouts and 5xx while the primary
// Redis is paused (SIGSTOP) for 0.7 s a dozen times; every id acknowledged
// must be on the topic.
func TestRedisPausesLoseNoAcknowledgedEvent(t *testing.T) {
	p := platform(t)
	topic := newTopic(t, p, 4)
	base, _ := startAPI(t, env(p, topic))
	url := base + "/v1/events"
	prefix := "pause-" + randHex(4)
	if r := post(t, url, testKey, mustJSON(makeEvents(prefix+"-warm", 1)[0])); r.Status != http.StatusAccepted {
		t.Fatalf("warm-up: %d %s", r.Status, r.Raw)
	}

	pid := p.Redis.Primary.Proc.Cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	pausesDone := make(chan struct{})
	go func() {
		defer close(pausesDone)
		for range 12 {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
			<-time.After(700 * time.Millisecond)
			_ = syscall.Kill(pid, syscall.SIGCONT)
			<-time.After(300 * time.Millisecond)
		}
	}()

	cl := &http.Client{Timeout: 150 * time.Millisecond}
	var mu sync.Mutex
	acked := map[string]bool{}
	var duplicates, sent int
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-pausesDone:
					return
				default:
				}
				ev := makeEvents(fmt.Sprintf("%s-w%d-%d", prefix, w, n), 1)[0]
				status, body, err := sendUntilAccepted(cl, url, mustJSON(ev), 30*time.Second)
				mu.Lock()
				sent++
				if err != nil {
					t.Errorf("%s: %v", ev.ID, err)
				} else if status == http.StatusAccepted {
					acked[ev.ID] = true
					if strings.Contains(body, "duplicates") {
						duplicates++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d of %d events acknowledged: the load proves nothing", len(acked), sent)
	}

	inKafka := topicIDs(t, p, topic)
	var lost []string
	for id := range acked {
		if !inKafka[id] {
			lost = append(lost, id)
		}
	}
	t.Logf("%d events acknowledged (%d as duplicates of an earlier try), %d records on the topic", len(acked), duplicates, len(inKafka))
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged events are not in Kafka, among them %v", len(lost), lost[:min(len(lost), 10)])
	}
}

// sendUntilAccepted posts body as a client does: it retries timeouts and 5xx
// until a 202 or the deadline; any other answer ends it.
func sendUntilAccepted(cl *http.Client, url string, body []byte, within time.Duration) (int, string, error) {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.APIKeyHeader, testKey)
		resp, err := cl.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return resp.StatusCode, string(raw), nil
		case resp.StatusCode >= 500:
			last = fmt.Sprintf("%d %s", resp.StatusCode, raw)
			<-time.After(50 * time.Millisecond) // client backoff
		default:
			return resp.StatusCode, string(raw), fmt.Errorf("answered %d %s", resp.StatusCode, raw)
		}
	}
	return 0, "", fmt.Errorf("no 202 within %s; last answer: %s", within, last)
}

// topicIDs reads every record of topic and returns the event ids in their
// headers.
func topicIDs(t testing.TB, p *local.Platform, topic string) map[string]bool {
	t.Helper()
	want := topicRecords(t, p, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := map[string]bool{}
	var n int64
	for n < want {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", n, want, topic)
		}
		f.EachRecord(func(r *kgo.Record) {
			n++
			for _, h := range r.Headers {
				if h.Key == "event-id" {
					ids[string(h.Value)] = true
				}
			}
		})
	}
	return ids
}
