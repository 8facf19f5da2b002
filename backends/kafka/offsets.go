package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/wotr/wotr-tui/ops/action"
)

var _ action.OffsetResetter = (*Client)(nil)

// GroupOffsets reads the group's state, members and committed offsets on
// topic, with each partition's log start and end.
func (c *Client) GroupOffsets(ctx context.Context, group, topic string) (action.GroupOffsets, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	g := action.GroupOffsets{Group: group, Topic: topic}
	starts, err := c.Admin.ListStartOffsets(ctx, topic)
	if err != nil {
		return g, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	if err := topicErr(starts, topic); err != nil {
		return g, err
	}
	ends, err := c.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return g, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := topicErr(ends, topic); err != nil {
		return g, err
	}
	dg, err := c.Admin.DescribeGroups(ctx, group)
	if err != nil {
		return g, fmt.Errorf("describe group %s: %w", group, err)
	}
	if d, ok := dg[group]; ok {
		if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
			return g, fmt.Errorf("describe group %s: %w", group, d.Err)
		}
		g.State, g.Members = d.State, len(d.Members)
	}
	committed, err := c.Admin.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return g, fmt.Errorf("fetch offsets of %s: %w", group, err)
	}
	g.Known = g.Members > 0 || len(committed) > 0
	for part, s := range starts[topic] {
		po := action.PartitionOffsets{Partition: part, Start: s.Offset, Committed: action.NoCommit}
		if e, ok := ends.Lookup(topic, part); ok {
			po.End = e.Offset
		}
		if o, ok := committed.Lookup(topic, part); ok && o.Err == nil && o.At >= 0 {
			po.Committed = o.At
		}
		g.Partitions = append(g.Partitions, po)
	}
	sort.Slice(g.Partitions, func(i, j int) bool { return g.Partitions[i].Partition < g.Partitions[j].Partition })
	return g, nil
}

// topicErr turns a listing's missing topic into ErrNotFound and a
// partition's load error into an error.
func topicErr(l kadm.ListedOffsets, topic string) error {
	ps, ok := l[topic]
	if !ok || len(ps) == 0 {
		return fmt.Errorf("%w: topic %q", action.ErrNotFound, topic)
	}
	for p, o := range ps {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("%w: topic %q", action.ErrNotFound, topic)
		}
		if o.Err != nil {
			return fmt.Errorf("%s/%d: %w", topic, p, o.Err)
		}
	}
	return nil
}

// OffsetsAfter is the first offset per partition at or after t (the log end
// where no record is that new).
func (c *Client) OffsetsAfter(ctx context.Context, topic string, t time.Time) (map[int32]int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	l, err := c.Admin.ListOffsetsAfterMilli(ctx, t.UnixMilli(), topic)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s after %s: %w", topic, t.Format(time.RFC3339), err)
	}
	if err := topicErr(l, topic); err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range l[topic] {
		out[p] = o.Offset
	}
	return out, nil
}

// CommitGroupOffsets commits offsets for group on topic, outside any
// generation: brokers refuse it while the group has members.
func (c *Client) CommitGroupOffsets(ctx context.Context, group, topic string, offsets map[int32]int64) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	os := kadm.Offsets{}
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	rs, err := c.Admin.CommitOffsets(ctx, group, os)
	if err != nil {
		return fmt.Errorf("commit offsets of %s: %w", group, err)
	}
	return rs.Error()
}
