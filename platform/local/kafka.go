package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Topic names of the scaling guide.
const (
	TopicIngestEvents = "ingest-events"
	TopicDLQEvents    = "dlq-events"
)

// KafkaOptions configures the in-process kfake cluster.
type KafkaOptions struct {
	// Brokers is the number of brokers; default 3.
	Brokers int
	// Topics maps topic name to partition count; default ingest-events:10, dlq-events:3.
	Topics map[string]int32
}

// DefaultKafkaTopics are the scaling guide's topics and partition counts.
func DefaultKafkaTopics() map[string]int32 {
	return map[string]int32{TopicIngestEvents: 10, TopicDLQEvents: 3}
}

func (o KafkaOptions) withDefaults() (KafkaOptions, error) {
	if o.Brokers == 0 {
		o.Brokers = 3
	}
	if o.Brokers < 1 || o.Brokers > 64 {
		return o, fmt.Errorf("brokers %d: must be between 1 and 64", o.Brokers)
	}
	if o.Topics == nil {
		o.Topics = DefaultKafkaTopics()
	}
	for name, parts := range o.Topics {
		if strings.TrimSpace(name) == "" {
			return o, errors.New("topic name \"\": must not be empty")
		}
		if parts < 1 {
			return o, fmt.Errorf("topic %q partitions %d: must be at least 1", name, parts)
		}
	}
	return o, nil
}

// KafkaCluster is a kfake cluster speaking the real Kafka protocol. Its state is
// persisted in Dir so that Stop followed by Restart keeps topics, records and
// committed offsets, on the same ports: the way a broker outage looks to clients.
type KafkaCluster struct {
	// Brokers are the host:port seed addresses, stable across Restart.
	Brokers []string
	// Topics the cluster was seeded with (name -> partitions).
	Topics map[string]int32
	// Dir holds the persisted cluster state.
	Dir string

	mu      sync.Mutex
	cluster *kfake.Cluster
	ports   []int
	opts    []kfake.Opt
}

func (p *Platform) startKafka(ctx context.Context) error {
	o, err := p.opts.Kafka.withDefaults()
	if err != nil {
		return err
	}
	dir := filepath.Join(p.Dir, "kafka")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	opts := []kfake.Opt{kfake.DataDir(filepath.Join(dir, "data")), kfake.ClusterID("wotr-local")}
	if p.Faults != nil {
		opts = append(opts, kfake.ListenFn(p.kafkaListenFn()))
	}
	// Seed topics grouped by partition count: SeedTopics takes one count per call.
	byParts := map[int32][]string{}
	for name, parts := range o.Topics {
		byParts[parts] = append(byParts[parts], name)
	}
	for parts, names := range byParts {
		sort.Strings(names)
		opts = append(opts, kfake.SeedTopics(parts, names...))
	}
	// The first start binds port 0 (no race with other processes for a port
	// picked in advance); restarts reuse the ports it got.
	k := &KafkaCluster{Topics: o.Topics, Dir: dir, opts: append(opts, kfake.NumBrokers(o.Brokers))}
	// Registered first so that a cluster started before a failed readiness wait is closed too.
	p.onStop(Kafka, k.Stop)
	if err := k.Restart(ctx); err != nil {
		return err
	}
	p.Kafka = k
	return nil
}

// Stop closes every broker; clients see connection refused until Restart.
// Stopping a stopped cluster is a no-op.
func (k *KafkaCluster) Stop() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		k.cluster.Close()
		k.cluster = nil
	}
	return nil
}

// Restart starts the cluster again on the same ports with the persisted state
// (or starts it the first time), and waits until every broker accepts connections.
func (k *KafkaCluster) Restart(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		k.cluster.Close()
		k.cluster = nil
	}
	opts := k.opts
	if k.ports != nil {
		opts = append(opts, kfake.Ports(k.ports...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("kfake on ports %v: %w", k.ports, err)
	}
	k.cluster = c
	if k.ports == nil {
		for _, addr := range c.ListenAddrs() {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return err
			}
			n, _ := strconv.Atoi(port)
			k.ports = append(k.ports, n)
			k.Brokers = append(k.Brokers, addr)
		}
	}
	for _, addr := range k.Brokers {
		if err := WaitFor(ctx, "kafka broker "+addr, nil, dialCheck(addr)); err != nil {
			return err
		}
	}
	return nil
}

// Running reports whether the brokers are up (false between Stop and Restart).
func (k *KafkaCluster) Running() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster != nil
}

// Fake exposes the kfake cluster for fault injection (Control, MoveTopicPartition);
// nil while stopped.
func (k *KafkaCluster) Fake() *kfake.Cluster {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster
}

// Bootstrap is the comma-separated broker list, the form of KAFKA_BOOTSTRAP.
func (k *KafkaCluster) Bootstrap() string { return strings.Join(k.Brokers, ",") }
