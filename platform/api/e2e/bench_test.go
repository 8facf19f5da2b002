package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/deploy"
	"github.com/wotr/wotr-tui/platform/local"
)

// Run with:
//   go test ./platform/api/e2e/ -run '^$' -bench . -benchtime 3s
// BenchmarkIngest's sub-benchmarks run in order; the wotr-api ones report
// their throughput as a ratio to the bare net/http handler of the same run.

var bareEventsPerSec float64

func benchClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(ds []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, ds...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	q := func(p float64) float64 { return float64(l.all[int(p*float64(len(l.all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// postAccepted sends one ingest request with the test key and reports
// whether it was accepted (202).
func postAccepted(cl *http.Client, url string, body []byte) bool {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set(api.APIKeyHeader, testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusAccepted
}

// runLoad sends b.N requests from parallel clients; body(i) builds request i.
func runLoad(b *testing.B, url string, eventsPerReq int, body func(i int64) []byte) float64 {
	cl := benchClient()
	var seq atomic.Int64
	var lat latencies
	var failures atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if !postAccepted(cl, url, body(seq.Add(1))) {
				failures.Add(1)
				continue
			}
			mine = append(mine, time.Since(t0))
		}
		lat.add(mine)
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	eps := float64(b.N*eventsPerReq) / elapsed.Seconds()
	b.ReportMetric(eps, "events/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	lat.report(b)
	return eps
}

func BenchmarkIngest(b *testing.B) {
	p := platform(b)
	topic := newTopic(b, p, 10)
	e := merge(env(p, topic), "POD_NAME", "bench")
	prefix := "bench-" + randHex(4)
	one := func(i int64) []byte {
		return []byte(fmt.Sprintf(`{"id":"%s-%d","source":"e2e","type":"order.created","created_at":"%s","payload":{"n":%d,"sku":"A-1"}}`,
			prefix, i, time.Now().UTC().Format(time.RFC3339), i))
	}

	b.Run("bare-net-http", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"accepted":1}` + "\n"))
		})}
		go srv.Serve(ln)
		defer srv.Close()
		bareEventsPerSec = runLoad(b, "http://"+ln.Addr().String()+"/v1/events", 1, one)
	})

	base, _ := startAPI(b, e)
	ratio := func(b *testing.B, eps float64) {
		if bareEventsPerSec > 0 {
			b.ReportMetric(eps/bareEventsPerSec, "x-bare")
		}
	}
	b.Run("wotr-api-single", func(b *testing.B) {
		ratio(b, runLoad(b, base+"/v1/events", 1, one))
	})
	b.Run("wotr-api-batch100", func(b *testing.B) {
		batch := func(i int64) []byte {
			var buf bytes.Buffer
			buf.WriteByte('[')
			for j := int64(0); j < 100; j++ {
				if j > 0 {
					buf.WriteByte(',')
				}
				buf.Write(one(i*1000 + j + 1_000_000_000))
			}
			buf.WriteByte(']')
			return buf.Bytes()
		}
		ratio(b, runLoad(b, base+"/v1/events", 100, batch))
	})
	// Open loop at 10k single-event requests/s: latency from each request's
	// scheduled send time, so queueing behind a slow request counts. One
	// second at the same rate runs first and is not measured: the target is
	// the steady state, not the client's first dials. It runs twice: with
	// this process's collector setting, and with the GOGC the API Deployment
	// sets. The API runs in this process, so the second setting reaches kfake
	// and the load generator too; the GOGC metric names the one in force.
	//
	// kfake keeps every record in this process's heap, and the runs above
	// leave it a million or so: a real broker keeps them out of the API's
	// heap, here each collection would have to mark them. So those records
	// are dropped, and these runs get their own topic and API instance.
	deleteTopic(b, p, topic)
	topic = newTopic(b, p, 10)
	base, _ = startAPI(b, merge(env(p, topic), "POD_NAME", "bench-open-loop"))
	tenK := func(b *testing.B) {
		// At least 5 s of samples whatever b.N, so that no single collection
		// or scheduling hiccup decides the p99 alone.
		const rate, minRequests = 10000, 5 * 10000
		n := max(b.N, minRequests)
		cl := benchClient()
		if failed := openLoop(cl, base, rate, rate, func(i int64) []byte { return one(i + 3_000_000_000) }, nil); failed > 0 {
			b.Fatalf("warm-up: %d of %d requests failed", failed, rate)
		}
		var lat latencies
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		start := time.Now()
		failed := openLoop(cl, base, rate, n, func(i int64) []byte { return one(i + 2_000_000_000) }, &lat)
		elapsed := time.Since(start)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		if failed > 0 {
			b.Fatalf("%d of %d requests failed", failed, n)
		}
		// Per request, not per b.N (these replace the built-in figures).
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/op")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/op")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		gogc := debug.SetGCPercent(100)
		debug.SetGCPercent(gogc)
		b.ReportMetric(float64(gogc), "GOGC")
		lat.report(b)
	}
	b.Run("wotr-api-single-at-10k-per-s", tenK)
	b.Run("wotr-api-single-at-10k-per-s-deployed-gc", func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(deployedGOGC(b)))
		tenK(b)
	})
}

func deleteTopic(b *testing.B, p *local.Platform, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := admin(b, p).DeleteTopics(ctx, topic)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		b.Fatalf("delete topic %s: %v", topic, err)
	}
	runtime.GC() // the records' memory is free before the next run starts
}

// deployedGOGC is the GOGC the API Deployment of platform/deploy sets.
func deployedGOGC(b *testing.B) int {
	ms, err := deploy.Manifests("k8s/base/10-api.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range ms {
		if m.Object.GetKind() != "Deployment" || m.Object.GetName() != "wotr-api" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(m.Object.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			env, _, _ := unstructured.NestedSlice(c.(map[string]any), "env")
			for _, e := range env {
				if e := e.(map[string]any); e["name"] == "GOGC" {
					v, err := strconv.Atoi(fmt.Sprint(e["value"]))
					if err != nil {
						b.Fatalf("the API Deployment's GOGC %v: %v", e["value"], err)
					}
					return v
				}
			}
		}
	}
	b.Fatal("the API Deployment sets no GOGC")
	return 0
}

// openLoop sends n requests at rate per second from 128 clients, each at its
// scheduled time whatever the answers before it, and records into lat (when
// not nil) each latency from the scheduled time. It returns the failures.
func openLoop(cl *http.Client, base string, rate, n int, body func(i int64) []byte, lat *latencies) int64 {
	var next, failures atomic.Int64
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 128; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d) // pacing the offered load, not waiting for state
				}
				if !postAccepted(cl, base+"/v1/events", body(i)) {
					failures.Add(1)
					continue
				}
				mine = append(mine, time.Since(due))
			}
			if lat != nil {
				lat.add(mine)
			}
		}()
	}
	wg.Wait()
	return failures.Load()
}

// BenchmarkConsumerToClickHouse measures kfake -> consumer -> ClickHouse for
// 100k events per iteration (use -benchtime 1x).
func BenchmarkConsumerToClickHouse(b *testing.B) {
	p := platform(b)
	const n = 100_000
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		topic := newTopic(b, p, 10)
		prefix := "cbench-" + randHex(4)
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(1<<20))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		now := time.Now().UTC()
		recs := make([]*kgo.Record, 0, 5000)
		for i := 0; i < n; i++ {
			ev := api.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Source: "e2e", Type: "order.created",
				CreatedAt: now.Add(-time.Duration(i) * time.Millisecond), Payload: []byte(`{"sku":"A-1","qty":2}`)}
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i % 50)), Value: ev.Marshal()})
			if len(recs) == cap(recs) || i == n-1 {
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					b.Fatal(err)
				}
				recs = recs[:0]
			}
		}
		cl.Close()
		b.StartTimer()
		start := time.Now()
		startConsumer(b, env(p, topic))
		for storedCount(b, p, prefix) < n {
			if ctx.Err() != nil {
				b.Fatalf("only %d of %d events stored", storedCount(b, p, prefix), n)
			}
			time.Sleep(100 * time.Millisecond) // poll interval
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "events/s")
		cancel()
	}
}
