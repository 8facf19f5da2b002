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
	for _, name := range topicNames {
		td := md.Topics[name]
		if td.IsInternal || td.Err != nil {
			continue
		}
		rf := 0
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = name
		for _, p := range td.Partitions.Sorted() {
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

	type endOffset struct {
		offset int64
		err    error
	}
	ends := map[string]map[int32]endOffset{}
	var listed kadm.ListedGroups
	var listErr, endErr error
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
				m := ends[t.Topic]
				if m == nil {
					m = map[int32]endOffset{}
					ends[t.Topic] = m
				}
				for _, p := range t.Partitions {
					m[p.Partition] = endOffset{p.Offset, kerr.ErrorForCode(p.ErrorCode)}
				}
			}
		}
		endErr = errors.Join(errs...)
	}()
	wg.Wait()
	if listErr != nil && len(listed) == 0 {
		return st, fmt.Errorf("kafka: list groups: %w", listErr)
	}
	if endErr != nil && len(ends) == 0 {
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
	wanted := map[string]bool{}
	for _, t := range st.Topics {
		wanted[t.Name] = true
	}
	for _, name := range groups {
		g := state.Group{Name: name, Status: state.StatusOK}
		assigned := map[string]map[int32]string{}
		if d, ok := described[name]; ok {
			g.State, g.Protocol = d.State, d.Protocol
			if d.Err != nil {
				g.Status = state.StatusErr
			}
			for _, m := range d.Members {
				gm := state.GroupMember{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
				if ca, ok := m.Assigned.AsConsumer(); ok {
					for _, t := range ca.Topics {
						for _, p := range t.Partitions {
							gm.Assigned = append(gm.Assigned, t.Topic+"/"+strconv.Itoa(int(p)))
							if assigned[t.Topic] == nil {
								assigned[t.Topic] = map[int32]string{}
							}
							assigned[t.Topic][p] = m.MemberID
						}
					}
				}
				g.Members = append(g.Members, gm)
			}
		} else {
			g.Status = state.StatusErr
		}
		committed := map[string]map[int32]int64{}
		if f, ok := fetched[name]; ok && f.Err == nil {
			f.Fetched.Each(func(o kadm.OffsetResponse) {
				if committed[o.Topic] == nil {
					committed[o.Topic] = map[int32]int64{}
				}
				committed[o.Topic][o.Partition] = o.At
			})
		} else {
			g.Status = state.StatusErr
		}
		// Partitions of every topic the group committed to or is assigned.
		topics := map[string]bool{}
		for t := range committed {
			topics[t] = true
		}
		for t := range assigned {
			topics[t] = true
		}
		var tnames []string
		for t := range topics {
			if wanted[t] {
				tnames = append(tnames, t)
			}
		}
		sort.Strings(tnames)
		for _, t := range tnames {
			td := md.Topics[t]
			for _, p := range td.Partitions.Sorted() {
				pl := state.PartitionLag{Topic: t, Partition: p.Partition, Committed: -1, Member: assigned[t][p.Partition]}
				if o, ok := committed[t][p.Partition]; ok {
					pl.Committed = o
				}
				e, ok := ends[t][p.Partition]
				if !ok || e.err != nil {
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
