package local_test

import (
	"context"
	"fmt"
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
