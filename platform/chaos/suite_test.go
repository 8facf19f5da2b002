package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/local"
)

// fault is one entry of the suite: apply starts it, clear ends it.
type fault struct {
	name  string
	short bool // part of the plain go test run
	apply func(r *rig) error
	clear func(r *rig) error
}

func setProxy(name string, f local.Fault) func(r *rig) error {
	return func(r *rig) error { return r.p.Faults.Set(name, f) }
}

func clearProxy(name string) func(r *rig) error {
	return func(r *rig) error { return r.p.Faults.Set(name, local.Fault{}) }
}

func flap(name string) (func(r *rig) error, func(r *rig) error) {
	var stop chan struct{}
	var wg sync.WaitGroup
	return func(r *rig) error {
			stop = make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(400 * time.Millisecond)
				defer t.Stop()
				on := false
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						on = !on
						f := local.Fault{}
						if on {
							f.Mode = local.FaultReset
						}
						_ = r.p.Faults.Set(name, f)
					}
				}
			}()
			return nil
		}, func(r *rig) error {
			close(stop)
			wg.Wait()
			return r.p.Faults.Set(name, local.Fault{})
		}
}

var reset = local.Fault{Mode: local.FaultReset}

// brokerDown cuts off (mode: reset for a dead broker process, blackhole for
// a partitioned host) the broker leading the partition the load goes to
// (events are keyed by source, so one partition takes them all), then
// fails its partitions and the group's coordinator over to the live
// brokers; clearing brings it back and returns its leaderships.
func brokerDown(mode local.FaultMode) (func(r *rig) error, func(r *rig) error) {
	var victim int32
	var moved local.Leaders
	return func(r *rig) error {
			victim = -1
			var most int64 = -1
			for _, pi := range r.p.Kafka.Fake().PartitionInfos(r.topic) {
				if pi.HighWatermark > most {
					most, victim = pi.HighWatermark, pi.Leader
				}
			}
			r.t.Logf("cutting off broker %d", victim)
			if err := r.p.Faults.Set(local.BrokerProxy(victim), local.Fault{Mode: mode}); err != nil {
				return err
			}
			// A controller fails a broker over only once it misses its
			// heartbeats; until then its partitions are unavailable.
			pause(time.Second)
			var err error
			moved, err = r.p.Kafka.FailOver(victim, []string{r.topic, r.topic + "-dlq"}, []string{r.env["KAFKA_GROUP_ID"]})
			return err
		}, func(r *rig) error {
			if err := r.p.Faults.Set(local.BrokerProxy(victim), local.Fault{}); err != nil {
				return err
			}
			return r.p.Kafka.MoveLeaders(moved)
		}
}

func faults() []fault {
	flapOn, flapOff := flap("redis-primary")
	brokerOff, brokerOn := brokerDown(local.FaultReset)
	partOff, partOn := brokerDown(local.FaultBlackhole)
	return []fault{
		// 1.5x the API's Redis timeout, round trip (latency applies each way).
		{name: "redis-slow", apply: setProxy("redis-primary", local.Fault{Mode: local.FaultLatency, Latency: depTimeout * 3 / 4}), clear: clearProxy("redis-primary")},
		{name: "redis-down", short: true, apply: setProxy("redis-primary", reset), clear: clearProxy("redis-primary")},
		{name: "redis-flapping", apply: flapOn, clear: flapOff},
		{name: "postgres-down", apply: setProxy("postgres-primary", reset), clear: clearProxy("postgres-primary")},
		{name: "kafka-broker-down", short: true, apply: brokerOff, clear: brokerOn},
		{name: "kafka-broker-partitioned", apply: partOff, clear: partOn},
		{name: "kafka-down", apply: func(r *rig) error { return r.p.Kafka.Stop() }, clear: func(r *rig) error {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return r.p.Kafka.Restart(ctx)
		}},
		{name: "clickhouse-down", apply: setProxy(chProxy, reset), clear: clearProxy(chProxy)},
		{name: "clickhouse-slow", apply: setProxy(chProxy, local.Fault{Mode: local.FaultLatency, Latency: time.Second}), clear: clearProxy(chProxy)},
		// A detached table: every insert is a server exception.
		{name: "clickhouse-server-errors", short: true, apply: func(r *rig) error {
			return r.p.ClickHouse.Exec(context.Background(), 0, "DETACH TABLE wotr.events")
		}, clear: func(r *rig) error { return r.p.ClickHouse.Exec(context.Background(), 0, "ATTACH TABLE wotr.events") }},
		{name: "api-sigkill", short: true, apply: func(r *rig) error { return r.apis[1].proc.Kill() }, clear: func(r *rig) error {
			// The replacement takes the killed one's address and HAProxy slot.
			m := r.start("wotr-api", "api-replacement")
			r.apis[1] = m
			return r.p.HAProxy.SetBackends([]local.Backend{{Name: "api0", Addr: r.apis[0].addr}, {Name: "api1", Addr: m.addr}})
		}},
		{name: "consumer-sigkill-and-scale", apply: func(r *rig) error {
			if err := r.cons[0].proc.Kill(); err != nil {
				return err
			}
			r.cons[0] = r.start("wotr-consumer", "consumer-scale-a")
			r.cons = append(r.cons, r.start("wotr-consumer", "consumer-scale-b"))
			return nil
		}, clear: func(r *rig) error { return nil }},
	}
}

type result struct {
	name                                           string
	acked, lost, notInKafka, dlq, dupRaw, dupFinal int64
	share503                                       float64
	toFirst202                                     time.Duration
	peakLag                                        int64
	drain                                          time.Duration
	gBefore, gAfter                                int
	err                                            string
}

func TestFaults(t *testing.T) {
	full := os.Getenv("WOTR_CHAOS") == "full"
	faultFor := 3 * time.Second
	if full {
		faultFor = 8 * time.Second
	}
	var results []result
	for _, f := range faults() {
		if !full && !f.short {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			res := runFault(t, f, faultFor)
			results = append(results, res)
			if res.lost != 0 || res.notInKafka != 0 || res.dlq != 0 || res.err != "" {
				t.Errorf("%s: lost %d, 202 never in Kafka %d, dead-lettered %d %s", f.name, res.lost, res.notInKafka, res.dlq, res.err)
			}
		})
	}
	writeTable(t, results)
}

func runFault(t *testing.T, f fault, faultFor time.Duration) result {
	r := newRig(t, f.name)
	res := result{name: f.name}
	res.gBefore = r.goroutines()
	l := &ledger{acked: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	wg := r.load(ctx, l, 8)
	lagStop := make(chan struct{})
	var lagWG sync.WaitGroup
	lagWG.Add(1)
	var drainedAt time.Time
	go func() {
		defer lagWG.Done()
		for {
			select {
			case <-lagStop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			lag := r.lag()
			if lag > res.peakLag {
				res.peakLag = lag
			}
			if c := l.cleared.Load(); c != 0 && lag == 0 && drainedAt.IsZero() {
				drainedAt = time.Now()
			} else if lag > 0 {
				drainedAt = time.Time{}
			}
		}
	}()
	waitFor(t, 10*time.Second, "first acknowledgements", func() bool { return l.count() > 20 })
	l.faultOn.Store(true)
	if err := f.apply(r); err != nil {
		t.Fatal(err)
	}
	pause(faultFor)
	if err := f.clear(r); err != nil {
		t.Fatal(err)
	}
	l.faultOn.Store(false)
	cleared := time.Now()
	l.cleared.Store(cleared.UnixNano())
	waitFor(t, 30*time.Second, "a 202 after the fault cleared", func() bool { return l.first202.Load() != 0 })
	pause(2 * time.Second) // load after recovery
	cancel()
	wg.Wait()
	res.toFirst202 = time.Unix(0, l.first202.Load()).Sub(cleared)
	if n := l.faultResp.Load(); n > 0 {
		res.share503 = float64(l.fault503.Load()) / float64(n)
	}
	acked := l.ids()
	res.acked = int64(len(acked))
	// Everything acknowledged must reach ClickHouse.
	deadline := time.Now().Add(90 * time.Second)
	var missing []string
	for {
		missing = r.missing(acked)
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		pause(time.Second)
	}
	res.lost = int64(len(missing))
	close(lagStop)
	lagWG.Wait()
	if !drainedAt.IsZero() {
		res.drain = drainedAt.Sub(cleared)
	} else {
		res.drain = -1
	}
	inKafka := r.kafkaIDs()
	for _, id := range acked {
		if !inKafka[id] {
			res.notInKafka++
		}
	}
	res.dlq = r.endOffsets(r.topic + "-dlq")
	res.dupRaw, res.dupFinal = r.duplicates()
	res.gAfter = r.goroutines()
	if res.lost > 0 {
		n := min(5, len(missing))
		res.err = "missing e.g. " + strings.Join(missing[:n], ",")
	}
	return res
}

// pause lets load run for d: the suite's phases are lengths of time, not
// waits for a state.
func pause(d time.Duration) { time.Sleep(d) }

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *ledger) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.acked))
	for id := range l.acked {
		out = append(out, id)
	}
	return out
}

func (r *rig) lag() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lags, err := r.admin().Lag(ctx, r.env["KAFKA_GROUP_ID"])
	if err != nil {
		return 0
	}
	return lags[r.env["KAFKA_GROUP_ID"]].Lag.Total()
}

func (r *rig) endOffsets(topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := r.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		r.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// kafkaIDs reads the topic from start to its end and returns the ids in it.
func (r *rig) kafkaIDs() map[string]bool {
	want := r.endOffsets(r.topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.p.Kafka.Brokers...), kgo.ConsumeTopics(r.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		r.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]bool{}
	var seen int64
	for seen < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			seen++
			if i := strings.Index(string(rec.Value), `"id":"`); i >= 0 {
				rest := string(rec.Value)[i+6:]
				out[rest[:strings.IndexByte(rest, '"')]] = true
			}
		})
	}
	return out
}

func (r *rig) missing(ids []string) []string {
	conn, err := r.p.ClickHouse.Conn(0)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT id FROM wotr.events WHERE id LIKE '%s%%'", r.prefix))
	if err != nil {
		return ids
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			have[id] = true
		}
	}
	var out []string
	for _, id := range ids {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// duplicates is rows minus distinct ids, before and after FINAL.
func (r *rig) duplicates() (raw, final int64) {
	conn, err := r.p.ClickHouse.Conn(0)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := func(final string) int64 {
		var n, u uint64
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), uniqExact(id) FROM wotr.events %s WHERE id LIKE '%s%%'", final, r.prefix)).Scan(&n, &u); err != nil {
			r.t.Fatal(err)
		}
		return int64(n) - int64(u)
	}
	return q(""), q("FINAL")
}

// goroutines sums go_goroutines over the live API and consumer processes.
func (r *rig) goroutines() int {
	total := 0
	for _, m := range append(append([]*member{}, r.apis...), r.cons...) {
		if !m.proc.Alive() {
			continue
		}
		resp, err := http.Get("http://" + m.addr + "/metrics")
		if err != nil {
			continue
		}
		var b strings.Builder
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, "go_goroutines") {
				fs := strings.Fields(line)
				v, _ := strconv.ParseFloat(fs[len(fs)-1], 64)
				total += int(v)
			}
		}
	}
	return total
}

func writeTable(t *testing.T, rs []result) {
	var b strings.Builder
	b.WriteString("| fault | acked | lost | 202 not in Kafka | dead-lettered | dup rows | dup after FINAL | 503 share | to first 202 | peak lag | drain | goroutines before/after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		drain := "not drained"
		if r.drain >= 0 {
			drain = fmt.Sprintf("%.1fs", r.drain.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %.1f%% | %.2fs | %d | %s | %d/%d |\n", r.name, r.acked, r.lost, r.notInKafka, r.dlq,
			r.dupRaw, r.dupFinal, 100*r.share503, r.toFirst202.Seconds(), r.peakLag, drain, r.gBefore, r.gAfter)
	}
	path := os.Getenv("WOTR_CHAOS_REPORT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "chaos.md")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("fault table (%s):\n%s", path, b.String())
}
