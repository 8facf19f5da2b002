package readtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/backends/kafka"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// BenchmarkReadKafkaAtSize reads topics of 500 partitions with one committed
// group each from the local cluster: 10,000 partitions in 20 groups, and
// 100,000 in 200 (10x, with WOTR_BENCH_10X=1: making its topics takes
// minutes). It reports round trips per read against the protocol minimum,
// and ns per partition.
func BenchmarkReadKafkaAtSize(b *testing.B) {
	sizes := []int{20}
	if os.Getenv("WOTR_BENCH_10X") == "1" {
		sizes = append(sizes, 200)
	}
	for _, groups := range sizes {
		b.Run(fmt.Sprintf("partitions=%d", groups*benchPerTopic), func(b *testing.B) { benchReadKafka(b, groups) })
	}
}

func benchReadKafka(b *testing.B, benchGroups int) {
	p := localtest.Private(b, local.Options{Only: []string{local.Kafka}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The benchmark function runs once per b.N, each time on a platform of its
	// own, so the topics are made each time (outside the timer).
	prefix, topics, err := makeBenchTopics(ctx, p.Kafka.Brokers, benchGroups)
	if err != nil {
		b.Fatal(err)
	}
	kc, err := kafka.New(config.KafkaEndpoint{Brokers: p.Kafka.Brokers, Topics: topics})
	if err != nil {
		b.Fatal(err)
	}
	defer kc.Close()
	if _, err := kc.ReadKafka(ctx); err != nil { // connections and coordinators warm
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := localtest.ProcessCPU()
	var trips, parts int
	for i := 0; i < b.N; i++ {
		st, err := kc.ReadKafka(ctx)
		if err != nil {
			b.Fatal(err)
		}
		trips += st.RoundTrips
		parts = 0
		for _, g := range st.Groups {
			if len(g.Name) > len(prefix) && g.Name[:len(prefix)] == prefix {
				parts += len(g.Partitions)
			}
		}
	}
	if parts != benchGroups*benchPerTopic {
		b.Fatalf("read %d partitions in the bench groups, want %d", parts, benchGroups*benchPerTopic)
	}
	// CPU time of the process (client and the in-process kfake brokers):
	// wall time on a shared machine also holds the waits for a core.
	cpu := localtest.ProcessCPU() - cpu0
	nb := len(p.Kafka.Brokers)
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(kafka.RoundTripsPerCollection(nb, nb, nb)), "protocol-min(worst)")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(parts), "ns/partition")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(parts), "cpu-ns/partition")
}

const benchPerTopic = 500

func makeBenchTopics(ctx context.Context, brokers []string, benchGroups int) (string, []string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return "", nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	prefix := unique("bench")
	var topics []string
	for g := 0; g < benchGroups; g++ {
		topic := fmt.Sprintf("%s-t%d", prefix, g)
		topics = append(topics, topic)
		if _, err := adm.CreateTopic(ctx, benchPerTopic, 1, nil, topic); err != nil {
			return "", nil, err
		}
		offs := kadm.Offsets{topic: {}}
		for part := int32(0); part < benchPerTopic; part++ {
			offs[topic][part] = kadm.Offset{Topic: topic, Partition: part, At: 0, LeaderEpoch: -1}
		}
		if _, err := adm.CommitOffsets(ctx, fmt.Sprintf("%s-g%d", prefix, g), offs); err != nil {
			return "", nil, err
		}
	}
	return prefix, topics, nil
}
