package local_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// One broker behind a resetting proxy (a dead broker): its partitions are unavailable
// until FailOver hands them (and the group's coordinator) to the live
// brokers; then every partition takes records and a group reads them all
// and commits, with the broker still cut off. MoveLeaders puts it back.
func TestKafkaFailOverOneBroker(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.Kafka}, Faults: true})
	if len(p.Kafka.Brokers) != 3 {
		t.Fatalf("brokers = %d, want 3", len(p.Kafka.Brokers))
	}
	for node := int32(0); node < 3; node++ {
		pr, err := p.Faults.Proxy(local.BrokerProxy(node))
		if err != nil {
			t.Fatal(err)
		}
		if pr.Addr() != p.Kafka.Brokers[node] {
			t.Fatalf("broker %d advertises %s, its proxy is %s", node, p.Kafka.Brokers[node], pr.Addr())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic, group := "failover", "failover-group"
	adm := kadm.NewClient(newClient(t, kgo.SeedBrokers(p.Kafka.Brokers...)))
	if _, err := adm.CreateTopic(ctx, 6, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	var victim int32 = -1
	for _, pi := range p.Kafka.Fake().PartitionInfos(topic) {
		if pi.Leader != 2 { // 2 is the controller; keep admin requests working
			victim = pi.Leader
			break
		}
	}
	if victim < 0 {
		t.Fatal("broker 2 leads every partition")
	}
	onVictim := func() []int32 {
		var out []int32
		for _, pi := range p.Kafka.Fake().PartitionInfos(topic) {
			if pi.Leader == victim {
				out = append(out, pi.Partition)
			}
		}
		return out
	}
	before := onVictim()
	prod := newClient(t, kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(2*time.Second),
		kgo.ProduceRequestTimeout(2*time.Second), kgo.RequestTimeoutOverhead(2*time.Second),
		kgo.AllowIdempotentProduceCancellation()) // as wotr-api: a cut-off partition fails its records on time
	produceAll := func(tag string) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var recs []*kgo.Record
		for part := int32(0); part < 6; part++ {
			recs = append(recs, &kgo.Record{Partition: part, Value: []byte(fmt.Sprintf("%s-%d", tag, part))})
		}
		return prod.ProduceSync(ctx, recs...).FirstErr()
	}
	if err := produceAll("warm"); err != nil {
		t.Fatal(err)
	}
	if err := p.Faults.Set(local.BrokerProxy(victim), local.Fault{Mode: local.FaultReset}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Faults.ClearAll)
	// Breaking it first: without the fail-over, a partition of the cut-off broker takes nothing.
	if err := produceAll("cut-off"); err == nil {
		t.Fatalf("produce to partitions %v of cut-off broker %d succeeded", before, victim)
	}
	moved, err := p.Kafka.FailOver(victim, []string{topic}, []string{group})
	if err != nil {
		t.Fatal(err)
	}
	if left := onVictim(); len(left) != 0 {
		t.Fatalf("broker %d still leads %v", victim, left)
	}
	if len(moved[topic]) != len(before) {
		t.Fatalf("moved %v, want partitions %v", moved, before)
	}
	if c := p.Kafka.Fake().CoordinatorFor(group); c == victim {
		t.Fatalf("coordinator of %s still broker %d", group, victim)
	}
	localtest.Eventually(t, time.Minute, "produce to every partition after fail-over", func() error { return produceAll("failed-over") })
	cons := newClient(t, kgo.SeedBrokers(p.Kafka.Brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	seen := map[string]bool{}
	for part := 0; part < 6; part++ {
		seen[fmt.Sprintf("failed-over-%d", part)] = false
	}
	localtest.Eventually(t, time.Minute, "the group reads every failed-over record", func() error {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		defer pcancel()
		cons.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if _, ok := seen[string(r.Value)]; ok {
				seen[string(r.Value)] = true
			}
		})
		var missing []string
		for v, ok := range seen {
			if !ok {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing %s", strings.Join(missing, ","))
		}
		return nil
	})
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	if err := cons.CommitUncommittedOffsets(cctx); err != nil {
		t.Fatalf("commit with broker %d cut off: %v", victim, err)
	}
	if err := p.Faults.Set(local.BrokerProxy(victim), local.Fault{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Kafka.MoveLeaders(moved); err != nil {
		t.Fatal(err)
	}
	if got := onVictim(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("after MoveLeaders broker %d leads %v, want %v", victim, got, before)
	}
	localtest.Eventually(t, time.Minute, "produce after the broker is back", func() error { return produceAll("back") })
}

func TestKafkaFailOverRefusesBadInput(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	for _, c := range []struct {
		node   int32
		topics []string
		want   string
	}{
		{3, nil, "broker 3: must be between 0 and 2"},
		{-1, nil, "broker -1: must be between 0 and 2"},
		{0, []string{"no-such-topic"}, `topic "no-such-topic": unknown`},
	} {
		before := p.Kafka.Fake().PartitionInfos(local.TopicIngestEvents)
		_, err := p.Kafka.FailOver(c.node, c.topics, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FailOver(%d, %v) = %v, want %q", c.node, c.topics, err, c.want)
		}
		after := p.Kafka.Fake().PartitionInfos(local.TopicIngestEvents)
		for i := range before {
			if before[i].Leader != after[i].Leader || before[i].Epoch != after[i].Epoch {
				t.Errorf("FailOver(%d, %v) moved %s/%d", c.node, c.topics, local.TopicIngestEvents, i)
			}
		}
	}
}

func newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
