package action

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// PartitionAlterer reads and raises a topic's partition count.
type PartitionAlterer interface {
	TopicPartitions(ctx context.Context, topic string) (int32, error) // ErrNotFound when missing
	// SetPartitionCount sets the total count; validateOnly asks the brokers to
	// check the request without applying it.
	SetPartitionCount(ctx context.Context, topic string, count int32, validateOnly bool) error
	// BrokerPartitionCounts asks every broker for the topic's metadata.
	BrokerPartitionCounts(ctx context.Context, topic string) (map[int32]int32, error)
}

// MaxPartitions is the largest count the partitions action accepts.
const MaxPartitions = 10000

type partitionsAction struct{}

func (partitionsAction) params() []ParamSpec {
	return []ParamSpec{{Name: "count", Type: ParamInt, Help: "new total partition count (increases only)"}}
}

func parsePartitions(a *Service, req Request) (string, int32, config.RegionConfig, error) {
	topic := strings.TrimSpace(req.Target)
	if topic == "" {
		return "", 0, config.RegionConfig{}, Invalidf("partitions needs a TOPIC")
	}
	ps, err := paramsOf(req)
	if err != nil {
		return "", 0, config.RegionConfig{}, err
	}
	n, has := ps.int("count")
	if !has {
		return "", 0, config.RegionConfig{}, Invalidf("partitions %s needs the parameter count", topic)
	}
	if n < 1 || n > MaxPartitions {
		return "", 0, config.RegionConfig{}, Invalidf("partitions parameter count %d is outside 1..%d", n, MaxPartitions)
	}
	r, err := a.primaryWith(state.SystemKafka, req.Params["region"])
	return topic, int32(n), r, err
}

func (partitionsAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	topic, count, r, err := parsePartitions(a, req)
	if err != nil {
		return err
	}
	pa, err := capability[PartitionAlterer](a, state.SystemKafka, r)
	if err != nil {
		return err
	}
	cur, err := pa.TopicPartitions(ctx, topic)
	if errors.Is(err, ErrNotFound) {
		return Invalidf("topic %q does not exist in region %s", topic, r.Name)
	}
	if err != nil {
		return err
	}
	switch {
	case count < cur:
		p.Summary = fmt.Sprintf("decrease %s from %d to %d partitions: refused", topic, cur, count)
		p.Checks = append(p.Checks, Check{Name: "increase only", Status: CheckFail, Hard: true,
			Detail: fmt.Sprintf("%s has %d partitions; Kafka cannot remove partitions (their records would be lost), so %d is refused. Create a new topic with %d partitions and migrate instead", topic, cur, count, count)})
		return nil
	case count == cur:
		p.Summary = fmt.Sprintf("%s already has %d partitions: nothing to change", topic, cur)
		p.Checks = append(p.Checks, Check{Name: "increase only", Status: CheckPass, Detail: "no change"})
		return nil
	}
	p.Summary = fmt.Sprintf("increase %s from %d to %d partitions", topic, cur, count)
	p.Checks = append(p.Checks, Check{Name: "increase only", Status: CheckPass, Detail: fmt.Sprintf("%d -> %d", cur, count)})
	p.Steps = append(p.Steps,
		fmt.Sprintf("CreatePartitions %s: total %d", topic, count),
		fmt.Sprintf("verify: every broker's metadata shows %d partitions", count),
		"verify: the consumer group is assigned the new partitions")
	p.Warnings = append(p.Warnings,
		fmt.Sprintf("the key-to-partition mapping changes for new records: a key that went to partition k of %d may now go elsewhere, so per-key ordering across the change is not guaranteed", cur),
		"existing data does not move: records already written stay in partitions 0.."+fmt.Sprint(cur-1))
	p.Effects = append(p.Effects, fmt.Sprintf("%s: %d new partitions (%d total)", topic, count-cur, count))
	if gr, gerr := capability[GroupReader](a, state.SystemKafka, r); gerr == nil {
		if gi, ierr := gr.GroupInfo(ctx, groupOf(r)); ierr == nil && gi.Members > 0 {
			p.Effects = append(p.Effects, fmt.Sprintf("group %s (%d members) rebalances to take the new partitions", gi.Group, gi.Members))
		}
	}
	return nil
}

func (partitionsAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	topic, count, r, err := parsePartitions(a, p.Request)
	if err != nil {
		return err
	}
	pa, err := capability[PartitionAlterer](a, state.SystemKafka, r)
	if err != nil {
		return err
	}
	cur, err := pa.TopicPartitions(ctx, topic)
	if err != nil {
		return err
	}
	// State may have moved since the plan: the rule is enforced again here.
	if count < cur {
		return Refusedf("%s has %d partitions; decreasing to %d is not possible", topic, cur, count)
	}
	if count > cur {
		progress(Progress{Step: "create partitions", Detail: fmt.Sprintf("%s: %d -> %d", topic, cur, count), Total: 2})
		if err := pa.SetPartitionCount(ctx, topic, count, p.Request.DryRun); err != nil {
			return fmt.Errorf("create partitions on %s: %w", topic, err)
		}
	}
	if p.Request.DryRun {
		res.Summary = fmt.Sprintf("dry run: brokers validated %s %d -> %d partitions", topic, cur, count)
		return nil
	}
	res.Summary = fmt.Sprintf("%s: %d -> %d partitions", topic, cur, count)
	o := a.opts()
	progress(Progress{Step: "verify", Detail: "broker metadata", Done: 1, Total: 2})
	detail, err := waitFor(ctx, o.VerifyTimeout, o.PollInterval, func(ctx context.Context) (bool, string, error) {
		per, err := pa.BrokerPartitionCounts(ctx, topic)
		if err != nil {
			return false, "", err
		}
		if len(per) == 0 {
			return false, "no broker answered", nil
		}
		ids := make([]int, 0, len(per))
		for id := range per {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
		var parts []string
		ok := true
		for _, id := range ids {
			n := per[int32(id)]
			parts = append(parts, fmt.Sprintf("broker %d: %d", id, n))
			ok = ok && n == count
		}
		return ok, strings.Join(parts, ", "), nil
	})
	st := CheckPass
	if err != nil {
		st, detail = CheckFail, err.Error()
	}
	res.Verified = append(res.Verified, Check{Name: "broker metadata", Status: st, Detail: detail})
	if gr, gerr := capability[GroupReader](a, state.SystemKafka, r); gerr == nil {
		res.Verified = append(res.Verified, verifyAssigned(ctx, a, gr, groupOf(r), topic, count))
	}
	progress(Progress{Step: "verify", Detail: "done", Done: 2, Total: 2})
	return nil
}

// verifyAssigned waits until the group's members own all count partitions of topic.
func verifyAssigned(ctx context.Context, a *Service, gr GroupReader, group, topic string, count int32) Check {
	c := Check{Name: "consumers assigned"}
	o := a.opts()
	detail, err := waitFor(ctx, o.VerifyTimeout/2, 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		gi, err := gr.GroupInfo(ctx, group)
		if err != nil {
			return false, "", err
		}
		if gi.Members == 0 {
			return true, "no members: no consumer is connected to this Kafka", nil
		}
		assigned := 0
		for _, n := range gi.Assigned {
			assigned += n
		}
		return gi.State == "Stable" && gi.Topics[topic] == count && assigned >= int(count),
			fmt.Sprintf("%d members, %d partitions assigned, state %s", gi.Members, assigned, gi.State), nil
	})
	switch {
	case err != nil:
		c.Status, c.Detail = CheckWarn, err.Error()
	case strings.HasPrefix(detail, "no members"):
		c.Status, c.Detail = CheckWarn, detail
	default:
		c.Status, c.Detail = CheckPass, detail
	}
	return c
}
