package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wotr/wotr-tui/ops/state"
)

// ReadKafka reads brokers, topics, groups, members, committed and end offsets
// in the fewest round trips the protocol allows:
//
//  1. Metadata (one request): brokers, topics, partitions, leaders;
//  2. in parallel: ListGroups (one per broker) and ListOffsets for every
//     partition at once (one per partition leader);
//  3. in parallel: DescribeGroups and OffsetFetch for every group at once
//     (one each per group coordinator, after one batched FindCoordinator
//     that the client caches).
//
// RoundTrips in the result is measured by a hook on every request written.
func (c *Client) ReadKafka(ctx context.Context) (state.KafkaState, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	start := c.Requests()
	var st state.KafkaState

	md, err := c.Admin.Metadata(ctx, c.Topics...)
	if err != nil {
		return st, fmt.Errorf("kafka: metadata: %w", err)
	}
	for _, b := range md.Brokers {
		br := state.Broker{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			br.Rack = *b.Rack
		}
		st.Brokers = append(st.Brokers, br)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	topicNames := md.Topics.Names()
	sort.Strings(topicNames)
	// Each topic's partitions, sorted once: every group on the topic reuses
	// them. Offsets and owners are then kept in slices by partition index
	// (Kafka numbers a topic's partitions 0..n-1; idx maps the rare other
	// case), not in maps that grow and rehash with the cluster.
	parts := make(map[string]*topicParts, len(topicNames))
	for _, name := range topicNames {
		td := md.Topics[name]
		if td.IsInternal || td.Err != nil {
			continue
		}
		tp := newTopicParts(td.Partitions.Sorted())
		parts[name] = tp
		rf := 0
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = name
		rt.Partitions = make([]kmsg.ListOffsetsRequestTopicPartition, 0, len(tp.sorted))
		for _, p := range tp.sorted {
			if len(p.Replicas) > rf {
				rf = len(p.Replicas)
			}
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp = -1 // end offset
			rp.CurrentLeaderEpoch = -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		st.Topics = append(st.Topics, state.Topic{Name: name, Partitions: int32(len(td.Partitions)), Replicas: rf})
	}

	var listed kadm.ListedGroups
	var listErr, endErr error
	gotEnds := false
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		listed, listErr = c.Admin.ListGroups(ctx)
	}()
	go func() {
		defer wg.Done()
		if len(req.Topics) == 0 {
			return
		}
		var errs []error
		for _, shard := range c.Kgo.RequestSharded(ctx, req) {
			if shard.Err != nil {
				errs = append(errs, shard.Err)
				continue
			}
			resp := shard.Resp.(*kmsg.ListOffsetsResponse)
			for _, t := range resp.Topics {
				tp := parts[t.Topic]
				if tp == nil {
					continue
				}
				for _, p := range t.Partitions {
					if i, ok := tp.index(p.Partition); ok {
						tp.ends[i] = endOffset{p.Offset, kerr.ErrorForCode(p.ErrorCode), true}
						gotEnds = true
					}
				}
			}
		}
		endErr = errors.Join(errs...)
	}()
	wg.Wait()
	if listErr != nil && len(listed) == 0 {
		return st, fmt.Errorf("kafka: list groups: %w", listErr)
	}
	if endErr != nil && !gotEnds {
		return st, fmt.Errorf("kafka: list end offsets: %w", endErr)
	}

	var groups []string
	for _, g := range listed.Sorted() {
		if g.ProtocolType == "consumer" || g.ProtocolType == "" {
			groups = append(groups, g.Group)
		}
	}
	var described kadm.DescribedGroups
	var fetched kadm.FetchOffsetsResponses
	var descErr error
	if len(groups) > 0 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			described, descErr = c.Admin.DescribeGroups(ctx, groups...)
		}()
		go func() {
			defer wg.Done()
			fetched = c.Admin.FetchManyOffsets(ctx, groups...)
		}()
		wg.Wait()
	}
	if descErr != nil && len(described) == 0 {
		return st, fmt.Errorf("kafka: describe groups: %w", descErr)
	}
	for _, name := range groups {
		g := state.Group{Name: name, Status: state.StatusOK}
		// The group's topics among the read ones, with the owner and the
		// committed offset of each partition by index.
		type groupTopic struct {
			tp        *topicParts
			owner     []string
			committed []int64
		}
		var gts map[string]*groupTopic
		topicOf := func(t string) *groupTopic {
			if gt := gts[t]; gt != nil {
				return gt
			}
			tp := parts[t]
			if tp == nil {
				return nil
			}
			gt := &groupTopic{tp: tp}
			if gts == nil {
				gts = map[string]*groupTopic{}
			}
			gts[t] = gt
			return gt
		}
		if d, ok := described[name]; ok {
			g.State, g.Protocol = d.State, d.Protocol
			if d.Err != nil {
				g.Status = state.StatusErr
			}
			for _, m := range d.Members {
				gm := state.GroupMember{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
				if ca, ok := m.Assigned.AsConsumer(); ok {
					for _, t := range ca.Topics {
						gt := topicOf(t.Topic)
						for _, p := range t.Partitions {
							gm.Assigned = append(gm.Assigned, t.Topic+"/"+strconv.Itoa(int(p)))
							if gt == nil {
								continue
							}
							if i, ok := gt.tp.index(p); ok {
								if gt.owner == nil {
									gt.owner = make([]string, len(gt.tp.sorted))
								}
								gt.owner[i] = m.MemberID
							}
						}
					}
				}
				g.Members = append(g.Members, gm)
			}
		} else {
			g.Status = state.StatusErr
		}
		if f, ok := fetched[name]; ok && f.Err == nil {
			f.Fetched.Each(func(o kadm.OffsetResponse) {
				gt := topicOf(o.Topic)
				if gt == nil {
					return
				}
				if i, ok := gt.tp.index(o.Partition); ok {
					if gt.committed == nil {
						gt.committed = make([]int64, len(gt.tp.sorted))
						for j := range gt.committed {
							gt.committed[j] = -1
						}
					}
					gt.committed[i] = o.At
				}
			})
		} else {
			g.Status = state.StatusErr
		}
		// Partitions of every read topic the group committed to or is assigned.
		tnames := make([]string, 0, len(gts))
		n := 0
		for t, gt := range gts {
			tnames = append(tnames, t)
			n += len(gt.tp.sorted)
		}
		sort.Strings(tnames)
		g.Partitions = make([]state.PartitionLag, 0, n)
		for _, t := range tnames {
			gt := gts[t]
			for i, p := range gt.tp.sorted {
				pl := state.PartitionLag{Topic: t, Partition: p.Partition, Committed: -1}
				if gt.owner != nil {
					pl.Member = gt.owner[i]
				}
				if gt.committed != nil {
					pl.Committed = gt.committed[i]
				}
				if e := gt.tp.ends[i]; !e.ok || e.err != nil {
					pl.Status = state.StatusErr
				} else {
					pl.End = e.offset
				}
				g.Partitions = append(g.Partitions, pl)
			}
		}
		st.Groups = append(st.Groups, g)
	}
	st.RoundTrips = int(c.Requests() - start)
	return st, nil
}

// RoundTripsPerCollection is the protocol's minimum for brokers b, leaders l
// and coordinators k: Metadata + ListGroups per broker + ListOffsets per
// leader + FindCoordinator + DescribeGroups and OffsetFetch per coordinator.
func RoundTripsPerCollection(b, l, k int) int { return 1 + b + l + 1 + 2*k }

type endOffset struct {
	offset int64
	err    error
	ok     bool // answered
}

// topicParts is one topic's partitions in order, with their end offsets.
type topicParts struct {
	sorted []kadm.PartitionDetail
	ends   []endOffset
	dense  bool            // sorted[i].Partition == i
	idx    map[int32]int32 // partition -> index when not dense
}

func newTopicParts(sorted []kadm.PartitionDetail) *topicParts {
	tp := &topicParts{sorted: sorted, ends: make([]endOffset, len(sorted)), dense: true}
	for i, p := range sorted {
		if p.Partition != int32(i) {
			tp.dense = false
			break
		}
	}
	if !tp.dense {
		tp.idx = make(map[int32]int32, len(sorted))
		for i, p := range sorted {
			tp.idx[p.Partition] = int32(i)
		}
	}
	return tp
}

// index of partition p in sorted, if the topic has it.
func (tp *topicParts) index(p int32) (int, bool) {
	if tp.dense {
		return int(p), p >= 0 && int(p) < len(tp.sorted)
	}
	i, ok := tp.idx[p]
	return int(i), ok
}
