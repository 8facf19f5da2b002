package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wotr/wotr-tui/ops/action"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ action.PartitionAlterer = (*Client)(nil)
	_ action.GroupReader      = (*Client)(nil)
	_ action.OffsetRecorder   = (*Client)(nil)
)

// TopicPartitions is the topic's partition count (ErrNotFound when missing).
func (c *Client) TopicPartitions(ctx context.Context, topic string) (int32, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	td, err := c.Admin.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	d, ok := td[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("%w: topic %q", action.ErrNotFound, topic)
	}
	if d.Err != nil {
		return 0, d.Err
	}
	return int32(len(d.Partitions)), nil
}

// SetPartitionCount sets the topic's total partition count with a
// CreatePartitions request (validateOnly: the brokers check it, nothing changes).
func (c *Client) SetPartitionCount(ctx context.Context, topic string, count int32, validateOnly bool) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	update := c.Admin.UpdatePartitions
	if validateOnly {
		update = c.Admin.ValidateUpdatePartitions
	}
	rs, err := update(ctx, int(count), topic)
	if err != nil {
		return err
	}
	if r, ok := rs[topic]; ok && r.Err != nil {
		if r.ErrMessage != "" {
			return fmt.Errorf("%w: %s", r.Err, r.ErrMessage)
		}
		return r.Err
	}
	return rs.Error()
}

// BrokerPartitionCounts sends a metadata request to every broker and returns
// the partition count each one reports for the topic.
func (c *Client) BrokerPartitionCounts(ctx context.Context, topic string) (map[int32]int32, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	brokers, err := c.Admin.ListBrokers(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int32]int32{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, b := range brokers {
		wg.Add(1)
		go func(id int32) {
			defer wg.Done()
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, c.Kgo.Broker(int(id)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("broker %d: %w", id, err))
				return
			}
			for _, t := range resp.Topics {
				if t.Topic != nil && *t.Topic == topic {
					out[id] = int32(len(t.Partitions))
				}
			}
		}(b.NodeID)
	}
	wg.Wait()
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// GroupInfo describes the group: members, state, assignment, and the
// partition counts of the topics it consumes (assigned, subscribed or committed).
func (c *Client) GroupInfo(ctx context.Context, group string) (action.GroupInfo, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	gi := action.GroupInfo{Group: group, Topics: map[string]int32{}, Assigned: map[string]int{}}
	dg, err := c.Admin.DescribeGroups(ctx, group)
	if err != nil {
		return gi, err
	}
	topics := map[string]bool{}
	if d, ok := dg[group]; ok {
		if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
			return gi, d.Err
		}
		gi.State = d.State
		gi.Members = len(d.Members)
		for _, m := range d.Members {
			if a, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range a.Topics {
					gi.Assigned[m.MemberID] += len(t.Partitions)
					topics[t.Topic] = true
				}
			}
			if j, ok := m.Join.AsConsumer(); ok {
				for _, t := range j.Topics {
					topics[t] = true
				}
			}
		}
	}
	if offs, err := c.Admin.FetchOffsets(ctx, group); err == nil {
		for t := range offs {
			topics[t] = true
		}
	}
	if len(topics) == 0 {
		for _, t := range c.Topics {
			topics[t] = true
		}
	}
	if len(topics) == 0 {
		topics["ingest-events"] = true
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	td, err := c.Admin.ListTopics(ctx, names...)
	if err != nil {
		return gi, err
	}
	for name, d := range td {
		if d.Err == nil {
			gi.Topics[name] = int32(len(d.Partitions))
		}
	}
	return gi, nil
}

// CommittedOffsets are the group's committed offsets, "topic/partition" -> offset.
func (c *Client) CommittedOffsets(ctx context.Context, group string) (map[string]int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	offs, err := c.Admin.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for t, ps := range offs {
		for p, o := range ps {
			if o.Err != nil {
				return nil, fmt.Errorf("%s/%d: %w", t, p, o.Err)
			}
			out[fmt.Sprintf("%s/%d", t, p)] = o.At
		}
	}
	return out, nil
}
