package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Partitions numbered 0..n-1 index themselves; any other numbering goes
// through the map, and a partition the topic lacks has no index.
func TestTopicPartsIndex(t *testing.T) {
	dense := newTopicParts([]kadm.PartitionDetail{{Partition: 0}, {Partition: 1}, {Partition: 2}})
	sparse := newTopicParts([]kadm.PartitionDetail{{Partition: 0}, {Partition: 5}, {Partition: 7}})
	for _, c := range []struct {
		tp   *topicParts
		p    int32
		want int
		ok   bool
	}{
		{dense, 2, 2, true}, {dense, 3, 0, false}, {dense, -1, 0, false},
		{sparse, 7, 2, true}, {sparse, 5, 1, true}, {sparse, 1, 0, false},
	} {
		i, ok := c.tp.index(c.p)
		if ok != c.ok || (ok && i != c.want) {
			t.Errorf("dense=%v index(%d) = %d, %v; want %d, %v", c.tp.dense, c.p, i, ok, c.want, c.ok)
		}
	}
	if !dense.dense || sparse.dense {
		t.Errorf("dense flags %v %v, want true false", dense.dense, sparse.dense)
	}
}
