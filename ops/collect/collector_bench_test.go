package collect

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

type benchPlatform struct {
	pods, nodes, partitions, groups int
	calls                           atomic.Int64

	// The shapes are built once, so the benchmarks time the collector and
	// not the fake's string formatting; each read returns fresh copies.
	once      sync.Once
	instances []state.Instance
	kafka     state.KafkaState
}

func (b *benchPlatform) build() {
	b.once.Do(func() {
		b.instances = b.makeInstances()
		b.kafka = b.makeKafka()
	})
}

func (b *benchPlatform) ListInstances(context.Context) ([]state.Instance, error) {
	b.build()
	return append([]state.Instance(nil), b.instances...), nil
}

func (b *benchPlatform) makeInstances() []state.Instance {
	out := make([]state.Instance, b.pods)
	for i := range out {
		dep := "wotr-api"
		if i%5 == 0 {
			dep = "wotr-consumer"
		}
		out[i] = state.Instance{Pod: fmt.Sprintf("%s-%d", dep, i), Deployment: dep, Node: fmt.Sprintf("node-%d", i%b.nodes),
			Zone: "zone-a", Address: fmt.Sprintf("10.0.%d.%d:8000", i/250, i%250), Ready: true,
			CPURequest: 0.5, CPULimit: 1, MemRequest: 512 << 20, MemLimit: 1 << 30}
	}
	return out
}

func (b *benchPlatform) ReadDeployments(context.Context) ([]state.Deployment, error) {
	return []state.Deployment{
		{Name: "wotr-api", Desired: int32(b.pods * 4 / 5), HPA: &state.HPA{Min: 3, Max: int32(b.pods), Metrics: []state.HPAMetric{{Name: "cpu", Target: "70%"}}}},
		{Name: "wotr-consumer", Desired: int32(b.pods / 5)},
	}, nil
}

func (b *benchPlatform) ReadNodes(context.Context) ([]state.Node, error) {
	out := make([]state.Node, b.nodes)
	for i := range out {
		out[i] = state.Node{Name: fmt.Sprintf("node-%d", i), Ready: true, Pods: b.pods / b.nodes, Zone: "zone-a", Region: "primary"}
	}
	return out, nil
}

func (b *benchPlatform) ReadKafka(context.Context) (state.KafkaState, error) {
	b.build()
	n := b.calls.Add(1)
	k := b.kafka
	k.Groups = append([]state.Group(nil), k.Groups...)
	for g := range k.Groups {
		parts := append([]state.PartitionLag(nil), k.Groups[g].Partitions...)
		for p := range parts {
			parts[p].Committed = n*90 + int64(p)
			parts[p].End = n*100 + int64(p) + 50
		}
		k.Groups[g].Partitions = parts
	}
	return k, nil
}

func (b *benchPlatform) makeKafka() state.KafkaState {
	per := b.partitions / b.groups
	k := state.KafkaState{Brokers: []state.Broker{{ID: 0}, {ID: 1}, {ID: 2}}}
	for g := 0; g < b.groups; g++ {
		topic := fmt.Sprintf("topic-%d", g)
		k.Topics = append(k.Topics, state.Topic{Name: topic, Partitions: int32(per), Replicas: 3})
		grp := state.Group{Name: fmt.Sprintf("group-%d", g), State: "Stable", Status: state.StatusOK}
		for m := 0; m < 10; m++ {
			gm := state.GroupMember{ID: fmt.Sprintf("member-%d-%d", g, m)}
			for p := m; p < per; p += 10 {
				gm.Assigned = append(gm.Assigned, fmt.Sprintf("%s/%d", topic, p))
			}
			grp.Members = append(grp.Members, gm)
		}
		grp.Partitions = make([]state.PartitionLag, per)
		for p := range grp.Partitions {
			grp.Partitions[p] = state.PartitionLag{Topic: topic, Partition: int32(p)}
		}
		k.Groups = append(k.Groups, grp)
	}
	return k
}

func (b *benchPlatform) QueryVector(_ context.Context, q string) ([]state.Sample, error) {
	out := make([]state.Sample, 0, b.pods)
	for i := 0; i < b.pods; i++ {
		pod := fmt.Sprintf("wotr-api-%d", i)
		if q == LoadQueries["pools"] {
			for _, name := range []string{"postgres_pool_size", "postgres_pool_available", "redis_pool_size", "redis_pool_available"} {
				out = append(out, state.Sample{Labels: map[string]string{"__name__": name, "pod": pod}, Value: 10})
			}
			continue
		}
		out = append(out, state.Sample{Labels: map[string]string{"pod": pod}, Value: float64(i % 17)})
	}
	return out, nil
}

func (b *benchPlatform) ReadPGReplication(context.Context) ([]state.PGStandby, error) {
	return []state.PGStandby{{Name: "s1"}, {Name: "s2"}, {Name: "s3"}}, nil
}

func (b *benchPlatform) ReadCHReplicas(context.Context) ([]state.CHReplica, error) {
	return []state.CHReplica{{Replica: "r1"}, {Replica: "r2"}, {Replica: "r3"}}, nil
}

func (b *benchPlatform) ReadRedisReplication(context.Context) ([]state.RedisReplica, error) {
	return []state.RedisReplica{{Name: "r1"}, {Name: "r2"}, {Name: "r3"}}, nil
}

type benchPool string

func (s benchPool) ReadStorePool(context.Context) (state.StorePool, error) {
	return state.StorePool{Store: state.System(s), Connections: 50, Limit: 10000}, nil
}

func newBenchCollector(scale float64) (*Collector, *benchPlatform) {
	return newBenchCollectorOf(&benchPlatform{pods: int(1000 * scale), nodes: max(1, int(50*scale)), partitions: int(10000 * scale), groups: 20})
}

// tenX is 10x today's size at fraction f: 10,000 pods, 500 nodes, 100,000
// partitions in 200 groups at f=1.
func tenX(f float64) *benchPlatform {
	return &benchPlatform{pods: int(10000 * f), nodes: int(500 * f), partitions: int(100000 * f), groups: int(200 * f)}
}

func newBenchCollectorOf(b *benchPlatform) (*Collector, *benchPlatform) {
	c := New(Options{Context: "bench"}, RegionSources{Region: "primary", Role: "primary",
		Instances: b, Deployments: b, Nodes: b, Kafka: b, Metrics: b,
		PGReplication: b, CHReplicas: b, RedisReplication: b, PGPool: benchPool("postgres"), RedisPool: benchPool("redis"),
	})
	return c, b
}

// BenchmarkCollect: one full collection (every source polled, evaluated,
// assembled, published) at 0.1x, 0.5x and 1x of 1,000 pods on 50 nodes,
// 10,000 partitions in 20 groups, 3 replicas per store. ns/op over the sizes
// shows linearity; "partitions/s" is the throughput.
func BenchmarkCollect(b *testing.B) {
	for _, scale := range []float64{0.1, 0.5, 1} {
		b.Run(fmt.Sprintf("scale=%.1f", scale), func(b *testing.B) {
			c, p := newBenchCollector(scale)
			ctx := context.Background()
			c.CollectOnce(ctx) // windows and history exist from the second poll on
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := c.CollectOnce(ctx)
				if len(s.Instances) != p.pods || len(s.Kafka.Groups) != p.groups {
					b.Fatalf("snapshot has %d instances, %d groups", len(s.Instances), len(s.Kafka.Groups))
				}
			}
			b.ReportMetric(float64(p.partitions)*float64(b.N)/b.Elapsed().Seconds(), "partitions/s")
		})
	}
}

// BenchmarkCollect10x: one full collection at 0.1x, 0.5x and 1x of 10x
// today's size (10,000 pods on 500 nodes, 100,000 partitions in 200
// groups); "ns/partition" is flat when the cost is linear. Target: under 1 s.
func BenchmarkCollect10x(b *testing.B) {
	for _, f := range []float64{0.1, 0.5, 1} {
		b.Run(fmt.Sprintf("of10x=%.1f", f), func(b *testing.B) {
			c, p := newBenchCollectorOf(tenX(f))
			ctx := context.Background()
			c.CollectOnce(ctx)
			b.ResetTimer()
			cpu0 := localtest.ProcessCPU()
			for i := 0; i < b.N; i++ {
				s := c.CollectOnce(ctx)
				if len(s.Instances) != p.pods || len(s.Kafka.Groups) != p.groups {
					b.Fatalf("snapshot has %d instances, %d groups", len(s.Instances), len(s.Kafka.Groups))
				}
			}
			// CPU time is what the collection costs; wall time also holds the
			// waits for a core on a shared machine.
			b.ReportMetric(float64((localtest.ProcessCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/collection")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.partitions+p.pods), "ns/(partition+pod)")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/collection")
		})
	}
}

// BenchmarkCollectorMemory10x: heap held at 0.1x, 0.5x and 1x of 10x today's
// size in steady state. Target: under 200 MB. Rings are allocated at full
// capacity on their first point, so 12 collections (lag windows of 10 full)
// hold what 120 do, at a tenth of the benchmark's time.
func BenchmarkCollectorMemory10x(b *testing.B) {
	for _, f := range []float64{0.1, 0.5, 1} {
		b.Run(fmt.Sprintf("of10x=%.1f", f), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.ReportMetric(heldMB(tenX(f), 12), "MB-held")
			}
		})
	}
}

// heldMB is the heap a collector over p holds after rounds collections.
func heldMB(p *benchPlatform, rounds int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, _ := newBenchCollectorOf(p)
	ctx := context.Background()
	for j := 0; j < rounds; j++ {
		c.CollectOnce(ctx)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
}

// BenchmarkCollectorMemory: heap held by a collector at full size once its
// lag windows (10 samples per partition) and histories (120 points per
// series) are full, with the latest snapshot.
func BenchmarkCollectorMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_, p := newBenchCollector(1)
		b.ReportMetric(heldMB(p, 120), "MB-held")
	}
}

func TestCollectFullSizeUnderOneSecond(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing target: not under -short or -race")
	}
	c, _ := newBenchCollector(1)
	ctx := context.Background()
	c.CollectOnce(ctx)
	t0 := time.Now()
	s := c.CollectOnce(ctx)
	d := time.Since(t0)
	t.Logf("one full collection: %s (%d instances, %d partitions)", d, len(s.Instances), 10000)
	if d > time.Second {
		t.Errorf("full collection took %s, target < 1s", d)
	}
}
