package local

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kfake"
)

// BrokerProxy names the fault proxy in front of broker node: brokers listen
// in node order, so the n-th proxy the listener made fronts node n.
func BrokerProxy(node int32) string { return fmt.Sprintf("kafka-%d", node) }

// Leaders is which node leads each partition, by topic.
type Leaders map[string]map[int32]int32

// FailOver does what a real controller does when broker node stops
// answering: it hands every partition of topics that node leads to the
// live brokers (round robin), and moves the coordinators of groups off it.
// The brokers here share one process and one copy of the data, so nothing
// notices a broker behind a faulted proxy; without this the partitions it
// leads would stay unavailable for as long as the fault lasts, which is not
// what a replicated cluster does. It returns the leaders it replaced, for
// MoveLeaders to put back.
func (k *KafkaCluster) FailOver(node int32, topics, groups []string) (Leaders, error) {
	c := k.Fake()
	if c == nil {
		return nil, errors.New("kafka: stopped")
	}
	n := int32(len(k.Brokers))
	if node < 0 || node >= n {
		return nil, fmt.Errorf("broker %d: must be between 0 and %d", node, n-1)
	}
	if n < 2 {
		return nil, fmt.Errorf("broker %d: a cluster of %d broker has no live broker to fail over to", node, n)
	}
	// Every topic is checked before anything moves.
	infos := make(map[string][]*kfake.PartitionInfo, len(topics))
	for _, topic := range topics {
		if infos[topic] = c.PartitionInfos(topic); infos[topic] == nil {
			return nil, fmt.Errorf("topic %q: unknown", topic)
		}
	}
	moved := Leaders{}
	next := (node + 1) % n
	for _, topic := range slices.Sorted(maps.Keys(infos)) {
		for _, pi := range infos[topic] {
			if pi.Leader != node {
				continue
			}
			if err := c.MoveTopicPartition(topic, pi.Partition, next); err != nil {
				return moved, fmt.Errorf("move %s/%d to broker %d: %w", topic, pi.Partition, next, err)
			}
			if moved[topic] == nil {
				moved[topic] = map[int32]int32{}
			}
			moved[topic][pi.Partition] = node
			if next = (next + 1) % n; next == node {
				next = (next + 1) % n
			}
		}
	}
	// Coordinators are a hash of the key and a generation: rehash until none
	// of the groups lands on node. Each rehash has a 1/n chance per group of
	// landing there, so a few dozen tries are plenty.
	for try := 0; ; try++ {
		on := ""
		for _, g := range groups {
			if c.CoordinatorFor(g) == node {
				on = g
				break
			}
		}
		if on == "" {
			return moved, nil
		}
		if try == 64 {
			return moved, fmt.Errorf("group %q: coordinator still on broker %d after %d rehashes", on, node, try)
		}
		c.RehashCoordinators()
	}
}

// MoveLeaders makes each listed node lead its partitions again (a preferred
// leader election once a failed broker is back).
func (k *KafkaCluster) MoveLeaders(l Leaders) error {
	c := k.Fake()
	if c == nil {
		return errors.New("kafka: stopped")
	}
	var errs []error
	for topic, parts := range l {
		for part, node := range parts {
			if err := c.MoveTopicPartition(topic, part, node); err != nil {
				errs = append(errs, fmt.Errorf("move %s/%d to broker %d: %w", topic, part, node, err))
			}
		}
	}
	return errors.Join(errs...)
}
