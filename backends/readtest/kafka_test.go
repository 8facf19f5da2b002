package readtest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/backends/kafka"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// Produce N records and commit M per partition: the lag of each partition is
// N-M, through the backend and the collector's evaluation.
func TestKafkaLagIsProducedMinusCommitted(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	ctx := ctxT(t, 60*time.Second)
	topic, group := unique("lag-topic"), unique("lag-group")
	produced := []int{10, 25, 7}
	committed := []int64{4, 25, 0}

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, int32(len(produced)), 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	produce := func(part int32, n int) {
		var recs []*kgo.Record
		for i := 0; i < n; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: part, Value: []byte("x")})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range produced {
		produce(int32(i), n)
	}
	offs := kadm.Offsets{topic: {}}
	for i, m := range committed {
		offs[topic][int32(i)] = kadm.Offset{Topic: topic, Partition: int32(i), At: m, LeaderEpoch: -1}
	}
	if _, err := adm.CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}

	kc, err := kafka.New(config.KafkaEndpoint{Brokers: p.Kafka.Brokers, Group: group, Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	c := collect.New(collect.Options{Context: "t"}, collect.RegionSources{Region: "primary", Role: "primary", Kafka: kc})
	snap := c.CollectOnce(ctx)
	if snap.Kafka.Error != "" {
		t.Fatalf("kafka source failed: %s", snap.Kafka.Error)
	}
	g := findGroup(t, snap, group)
	if len(g.Partitions) != len(produced) {
		t.Fatalf("group has %d partitions, want %d: %+v", len(g.Partitions), len(produced), g.Partitions)
	}
	var total int64
	for i, pl := range g.Partitions {
		want := int64(produced[i]) - committed[i]
		if pl.Topic != topic || pl.Partition != int32(i) || pl.End != int64(produced[i]) || pl.Committed != committed[i] || pl.Lag != want {
			t.Errorf("partition %d: %+v, want end %d committed %d lag %d", i, pl, produced[i], committed[i], want)
		}
		total += want
	}
	if g.TotalLag != total || g.State != "Empty" {
		t.Errorf("group total lag %d state %q, want %d Empty", g.TotalLag, g.State, total)
	}
	first := snap.Kafka.RoundTrips

	// Produce 30 more to partition 0 and poll again: lag follows, the produce
	// rate is known, lag seconds derive from it.
	produce(0, 30)
	snap = c.CollectOnce(ctx)
	g = findGroup(t, snap, group)
	if got := g.Partitions[0].Lag; got != int64(produced[0]+30)-committed[0] {
		t.Errorf("partition 0 lag after 30 more = %d, want %d", got, int64(produced[0]+30)-committed[0])
	}
	if snap.Kafka.Topics[0].ProduceRate <= 0 || g.Partitions[0].LagSeconds <= 0 {
		t.Errorf("produce rate %v, lag seconds %v: want both > 0", snap.Kafka.Topics[0].ProduceRate, g.Partitions[0].LagSeconds)
	}
	if g.Partitions[1].LagSeconds != 0 || g.Partitions[1].Status != state.StatusOK {
		t.Errorf("caught-up partition 1: %+v", g.Partitions[1])
	}
	// Nothing owns the group's partitions and partition 0's committed offset
	// did not move while its lag grew: Burrow calls that STOP.
	if g.Partitions[0].Status != state.StatusStop || g.Status != state.StatusErr {
		t.Errorf("partition 0 status %s, group %s; want STOP and ERR", g.Partitions[0].Status, g.Status)
	}
	b := len(snap.Kafka.Brokers)
	limit := kafka.RoundTripsPerCollection(b, b, 1)
	t.Logf("kafka round trips: first collection %d (connections opened), second %d; protocol minimum with %d brokers: %d",
		first, snap.Kafka.RoundTrips, b, limit)
	if snap.Kafka.RoundTrips > limit || snap.Kafka.RoundTrips < 3 {
		t.Errorf("second collection made %d round trips, want 3..%d", snap.Kafka.RoundTrips, limit)
	}
}

func findGroup(t *testing.T, s state.Snapshot, name string) state.Group {
	t.Helper()
	for _, g := range s.Kafka.Groups {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("group %s not in snapshot (%d groups, source error %q)", name, len(s.Kafka.Groups), s.Kafka.Error)
	return state.Group{}
}

// A broker outage: the source fails, the last good value stays, marked stale.
func TestKafkaUnreachableKeepsLastValueStale(t *testing.T) {
	kc, err := kafka.New(config.KafkaEndpoint{Brokers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	c := collect.New(collect.Options{Timeout: 500 * time.Millisecond}, collect.RegionSources{Region: "r", Kafka: kc})
	s := c.CollectOnce(context.Background())
	if s.Sources[0].Error == "" || s.Sources[0].Source != "kafka@r" {
		t.Fatalf("source meta %+v, want an error for kafka@r", s.Sources[0])
	}
}
