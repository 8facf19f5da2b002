package readtest

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/backends/kafka"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// The offset primitive against kfake: log start (after DeleteRecords) and
// end, committed offsets, the offset for a timestamp, and a commit read back.
func TestGroupOffsetsReadTimestampsAndCommit(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	ctx := ctxT(t, 60*time.Second)
	topic, group := unique("reset-topic"), unique("reset-group")
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	// Partition 0: 10 records an hour apart, from base; partition 1: 4 records.
	base := time.Now().Add(-24 * time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Hour)})
	}
	for i := 0; i < 4; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: 1, Value: []byte("y"), Timestamp: base.Add(time.Duration(i) * time.Hour)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3})
	if _, err := adm.DeleteRecords(ctx, del); err != nil {
		t.Fatal(err)
	}
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 7, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, group, commit); err != nil {
		t.Fatal(err)
	}

	kc, err := kafka.New(config.KafkaEndpoint{Brokers: p.Kafka.Brokers, Group: group})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	g, err := kc.GroupOffsets(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := []action.PartitionOffsets{{Partition: 0, Start: 3, End: 10, Committed: 7}, {Partition: 1, Start: 0, End: 4, Committed: action.NoCommit}}
	if !g.Known || g.Members != 0 || len(g.Partitions) != 2 || g.Partitions[0] != want[0] || g.Partitions[1] != want[1] {
		t.Fatalf("group offsets %+v, want known, 0 members, %+v", g, want)
	}

	// At base+5h30m: partition 0's first record at or after is offset 6; partition 1 has none (end 4).
	at, err := kc.OffsetsAfter(ctx, topic, base.Add(5*time.Hour+30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if at[0] != 6 || at[1] != 4 {
		t.Fatalf("offsets after base+5h30m: %v, want 0=6 1=4", at)
	}

	if err := kc.CommitGroupOffsets(ctx, group, topic, map[int32]int64{0: 4, 1: 2}); err != nil {
		t.Fatal(err)
	}
	g, err = kc.GroupOffsets(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if g.Partitions[0].Committed != 4 || g.Partitions[1].Committed != 2 {
		t.Fatalf("after commit: %+v, want 0=4 1=2", g.Partitions)
	}

	unknown, err := kc.GroupOffsets(ctx, unique("no-such-group"), topic)
	if err != nil || unknown.Known {
		t.Fatalf("a group that never committed: known=%v err=%v, want unknown", unknown.Known, err)
	}
	if _, err := kc.GroupOffsets(ctx, group, unique("no-such-topic")); !errors.Is(err, action.ErrNotFound) {
		t.Fatalf("unknown topic: %v, want ErrNotFound", err)
	}
}
