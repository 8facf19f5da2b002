package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

type recordedWindow struct {
	Description string         `json:"description"`
	Now         time.Time      `json:"now"`
	Owned       bool           `json:"owned"`
	Samples     []OffsetSample `json:"samples"`
	Want        state.Status   `json:"want"`
}

func TestBurrowRulesOnRecordedWindows(t *testing.T) {
	files, err := filepath.Glob("../../testdata/burrow/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded windows in testdata/burrow: %v", err)
	}
	seen := map[state.Status]bool{}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var w recordedWindow
			if err := json.Unmarshal(data, &w); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			got := EvaluatePartition(w.Samples, w.Now, w.Owned)
			if got != w.Want {
				t.Errorf("%s: got %s, want %s", w.Description, got, w.Want)
			}
			seen[got] = true
		})
	}
	for _, s := range []state.Status{state.StatusOK, state.StatusWarn, state.StatusStall, state.StatusStop, state.StatusRewind} {
		if !seen[s] {
			t.Errorf("no recorded window produces %s", s)
		}
	}
}

func TestGroupStatusFoldsLikeBurrow(t *testing.T) {
	cases := []struct {
		parts []state.Status
		want  state.Status
	}{
		{[]state.Status{state.StatusOK, state.StatusOK}, state.StatusOK},
		{[]state.Status{state.StatusOK, state.StatusWarn}, state.StatusWarn},
		{[]state.Status{state.StatusWarn, state.StatusStall}, state.StatusErr},
		{[]state.Status{state.StatusStop}, state.StatusErr},
		{[]state.Status{state.StatusRewind, state.StatusOK}, state.StatusErr},
		{nil, state.StatusOK},
	}
	for _, c := range cases {
		var ps []state.PartitionLag
		for _, s := range c.parts {
			ps = append(ps, state.PartitionLag{Status: s})
		}
		if got := GroupStatus(ps); got != c.want {
			t.Errorf("GroupStatus(%v) = %s, want %s", c.parts, got, c.want)
		}
	}
}

// Produce 100/s, consume 150/s: lag seconds from the produce rate and an ETA
// from the net drain rate.
func TestLagEvaluatorRatesLagSecondsAndETA(t *testing.T) {
	e := newLagEvaluator(10)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var k state.KafkaState
	for i := 0; i < 5; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		k = state.KafkaState{
			Topics: []state.Topic{{Name: "ingest-events", Partitions: 1}},
			Groups: []state.Group{{Name: "g", State: "Stable",
				Members: []state.GroupMember{{ID: "m1", Assigned: []string{"ingest-events/0"}}},
				Partitions: []state.PartitionLag{{Topic: "ingest-events", Partition: 0,
					Committed: 1000 + int64(i)*150, End: 3000 + int64(i)*100}}}},
		}
		e.apply(&k, now)
	}
	g := k.Groups[0]
	p := g.Partitions[0]
	if p.Lag != 1800 { // 3400 - 1600
		t.Fatalf("lag = %d, want 1800", p.Lag)
	}
	if got := k.Topics[0].ProduceRate; got != 100 {
		t.Errorf("produce rate = %v, want 100", got)
	}
	if p.LagSeconds != 18 {
		t.Errorf("lag seconds = %v, want 18", p.LagSeconds)
	}
	if g.ETASeconds != 36 { // 1800 / (150-100)
		t.Errorf("ETA = %v, want 36", g.ETASeconds)
	}
	if p.Member != "m1" || p.Status != state.StatusOK || g.Status != state.StatusOK {
		t.Errorf("member %q status %s group %s, want m1 OK OK", p.Member, p.Status, g.Status)
	}
}

func TestLagEvaluatorNoCatchUpWhenFallingBehind(t *testing.T) {
	e := newLagEvaluator(10)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var k state.KafkaState
	for i := 0; i < minTrendSamples; i++ {
		k = state.KafkaState{Groups: []state.Group{{Name: "g", Partitions: []state.PartitionLag{{Topic: "t", Partition: 0,
			Committed: 100 + int64(i)*10, End: 200 + int64(i)*50}}}}}
		e.apply(&k, t0.Add(time.Duration(i)*time.Second))
	}
	if g := k.Groups[0]; g.ETASeconds != -1 || g.Partitions[0].Status != state.StatusWarn || g.Status != state.StatusWarn {
		t.Errorf("eta %v status %s/%s, want -1 WARN/WARN", g.ETASeconds, g.Partitions[0].Status, g.Status)
	}
}

func TestHistogramQuantile(t *testing.T) {
	bs := []bucket{{0.1, 50}, {0.2, 90}, {0.5, 100}, {posInf(), 100}}
	if got := histogramQuantile(0.5, bs); got != 0.1 {
		t.Errorf("p50 = %v, want 0.1", got)
	}
	if got := histogramQuantile(0.7, bs); got < 0.149 || got > 0.151 {
		t.Errorf("p70 = %v, want 0.15", got)
	}
	if got := histogramQuantile(0.99, nil); got != 0 {
		t.Errorf("empty = %v", got)
	}
}

// A consumer committing 1,000 records once a second against 1,000/s of
// produce holds about a batch of lag: its state is steady throughout and
// never reads as falling behind, and the group carries both rates.
func TestLagEvaluatorBatchingConsumerIsSteady(t *testing.T) {
	e := newLagEvaluator(10)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var k state.KafkaState
	for i := 0; i < 30; i++ {
		now := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		end := 10000 + int64(i)*500
		committed := 10000 + int64(i/2)*1000 - 1000 // one batch behind, committed every other poll
		k = state.KafkaState{Groups: []state.Group{{Name: "g", State: "Stable",
			Members:    []state.GroupMember{{ID: "m1", Assigned: []string{"t/0"}}},
			Partitions: []state.PartitionLag{{Topic: "t", Partition: 0, Committed: committed, End: end}}}}}
		e.apply(&k, now)
		if g := k.Groups[0]; i > 0 && g.LagState != "steady" {
			t.Fatalf("poll %d: lag %d state %q, want steady", i, g.TotalLag, g.LagState)
		}
	}
	g := k.Groups[0]
	if g.ProduceRate < 900 || g.ProduceRate > 1100 || g.ConsumeRate < 800 || g.ConsumeRate > 1200 {
		t.Fatalf("rates produce %v consume %v, want about 1000/s each", g.ProduceRate, g.ConsumeRate)
	}
}

// BenchmarkLagApply: the lag evaluation of one read (windows, rates, lag
// seconds, statuses) at 10,000, 50,000 and 100,000 partitions in groups of
// 500; "ns/partition" is flat when the cost is linear.
func BenchmarkLagApply(b *testing.B) {
	for _, parts := range []int{10000, 50000, 100000} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			bp := &benchPlatform{pods: 1, nodes: 1, partitions: parts, groups: parts / 500}
			e := newLagEvaluator(10)
			now := time.Unix(1_700_000_000, 0)
			for i := 0; i < 10; i++ { // full windows
				k, _ := bp.ReadKafka(context.Background())
				e.apply(&k, now.Add(time.Duration(i)*5*time.Second))
			}
			reads := make([]state.KafkaState, b.N)
			for i := range reads {
				reads[i], _ = bp.ReadKafka(context.Background())
			}
			b.ResetTimer()
			cpu0 := localtest.ProcessCPU()
			for i := 0; i < b.N; i++ {
				e.apply(&reads[i], now.Add(time.Duration(10+i)*5*time.Second))
			}
			b.ReportMetric(float64((localtest.ProcessCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(parts), "ns/partition")
		})
	}
}

// A partition that leaves the read and comes back starts a fresh window (its
// old samples would judge it stopped); partitions read out of order come out
// sorted; a partition number no topic can have is judged without a window.
func TestLagEvaluatorForgetsVanishedPartitions(t *testing.T) {
	e := newLagEvaluator(10)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	read := func(i int, parts ...int32) state.Group {
		k := state.KafkaState{Groups: []state.Group{{Name: "g"}}}
		for _, p := range parts {
			k.Groups[0].Partitions = append(k.Groups[0].Partitions,
				state.PartitionLag{Topic: "t", Partition: p, Committed: 100, End: 200 + int64(i)})
		}
		e.apply(&k, t0.Add(time.Duration(i)*time.Second))
		return k.Groups[0]
	}
	var g state.Group
	for i := 0; i < 3; i++ {
		g = read(i, 1, 0)
	}
	if g.Partitions[0].Partition != 0 || g.Partitions[1].Partition != 1 {
		t.Fatalf("partitions not sorted: %+v", g.Partitions)
	}
	if g.Partitions[1].Status != state.StatusStop {
		t.Fatalf("unchanged unowned offset over 3 reads: %s, want STOP", g.Partitions[1].Status)
	}
	read(3, 0)
	if g = read(4, 0, 1); g.Partitions[1].Status != state.StatusOK {
		t.Errorf("partition back after a read without it: %s, want OK (fresh window)", g.Partitions[1].Status)
	}
	if g = read(5, 0, maxPartitionIndex); g.Partitions[1].Lag != 105 || g.Partitions[1].Status != state.StatusOK {
		t.Errorf("partition %d: lag %d status %s, want 105 OK", maxPartitionIndex, g.Partitions[1].Lag, g.Partitions[1].Status)
	}
}
