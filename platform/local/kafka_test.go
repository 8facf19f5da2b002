package local_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestKafkaCreatePartitions(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got := len(p.Kafka.Brokers); got != 3 {
		t.Fatalf("brokers = %d, want 3", got)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{local.TopicIngestEvents: 10, local.TopicDLQEvents: 3} {
		td, ok := topics[name]
		if !ok {
			t.Fatalf("topic %s missing; have %v", name, topics.Names())
		}
		if got := len(td.Partitions); got != want {
			t.Fatalf("topic %s has %d partitions, want %d", name, got, want)
		}
	}
	// Unique per run: the cluster is shared by the package (and -count).
	topic := fmt.Sprintf("partitions-test-%d", time.Now().UnixNano())
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	resp, err := adm.CreatePartitions(ctx, 4, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatal(err)
	}
	topics, err = adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(topics[topic].Partitions); got != 6 {
		t.Fatalf("after adding 4 partitions to 2, ListTopics shows %d", got)
	}
}

// A stopped cluster refuses clients; after Restart on the same ports the
// topics are back.
func TestKafkaStopRestart(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Kafka.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.Kafka.Running() {
			_ = p.Kafka.Restart(context.Background())
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.RetryTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	down, downCancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := adm.ListTopics(down); err == nil {
		t.Fatal("ListTopics succeeded against a stopped cluster")
	}
	downCancel()
	if err := p.Kafka.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(topics[local.TopicIngestEvents].Partitions); got != 10 {
		t.Fatalf("after restart %s has %d partitions, want 10", local.TopicIngestEvents, got)
	}
}

// Every record Kafka acknowledged (acks=all) before a Stop is there after the
// Restart: what the chaos suite's kafka-down fault relies on.
func TestKafkaRestartKeepsAcknowledged(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.Kafka}, Faults: true, Kafka: local.KafkaOptions{Brokers: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := fmt.Sprintf("restart-acked-%d", time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(time.Second), kgo.AllowIdempotentProduceCancellation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 4, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := strconv.FormatInt(n.Add(1), 10)
				if cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr() == nil {
					mu.Lock()
					acked[v] = true
					mu.Unlock()
				}
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	localtest.Eventually(t, 20*time.Second, "acknowledged records", func() error {
		if c := count(); c < 2000 {
			return fmt.Errorf("%d acknowledged", c)
		}
		return nil
	})
	if err := p.Kafka.Stop(); err != nil {
		t.Fatal(err)
	}
	before := count()
	if err := p.Kafka.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 20*time.Second, "acknowledgements after the restart", func() error {
		if c := count(); c < before+500 {
			return fmt.Errorf("%d acknowledged, %d at the stop", c, before)
		}
		return nil
	})
	close(stop)
	wg.Wait()

	rd, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ends, err := kadm.NewClient(rd).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	have := map[string]bool{}
	for seen := int64(0); seen < want && ctx.Err() == nil; {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen++; have[string(r.Value)] = true })
	}
	var lost []string
	for v := range acked {
		if !have[v] {
			lost = append(lost, v)
		}
	}
	if len(lost) > 0 {
		sort.Slice(lost, func(i, j int) bool {
			return len(lost[i]) < len(lost[j]) || len(lost[i]) == len(lost[j]) && lost[i] < lost[j]
		})
		t.Fatalf("%d of %d acknowledged records lost across Stop/Restart (%d records in the log), e.g. %v", len(lost), len(acked), want, lost[:min(10, len(lost))])
	}
	t.Logf("%d acknowledged, %d at the stop, %d records in the log", len(acked), before, want)
}
