package action

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PartitionOffsets is one partition of a topic as an offset reset sees it.
type PartitionOffsets struct {
	Partition int32 `json:"partition"`
	Start     int64 `json:"logStart"`
	End       int64 `json:"logEnd"`
	// Committed is the group's committed offset; NoCommit when it has none.
	Committed int64 `json:"committed"`
}

// NoCommit marks a partition the group has never committed on.
const NoCommit int64 = -1

// GroupOffsets are a consumer group's offsets on one topic.
type GroupOffsets struct {
	Group   string `json:"group"`
	Topic   string `json:"topic"`
	State   string `json:"state"`
	Members int    `json:"members"`
	// Known: the group has members or a committed offset on some topic.
	Known      bool               `json:"known"`
	Partitions []PartitionOffsets `json:"partitions"` // by partition
}

// OffsetResetter reads and moves a group's offsets on one topic. The
// restore of a backup set rewinds the group with it too.
type OffsetResetter interface {
	// GroupOffsets: ErrNotFound when the topic does not exist.
	GroupOffsets(ctx context.Context, group, topic string) (GroupOffsets, error)
	// OffsetsAfter is, per partition, the first offset whose record
	// timestamp is at or after t; the log end when none is.
	OffsetsAfter(ctx context.Context, topic string, t time.Time) (map[int32]int64, error)
	// CommitGroupOffsets commits offsets for the group (which must have no members).
	CommitGroupOffsets(ctx context.Context, group, topic string, offsets map[int32]int64) error
}

// ResetMode is how an offset reset picks the new offsets.
type ResetMode string

const (
	ResetEarliest ResetMode = "to-earliest"
	ResetLatest   ResetMode = "to-latest"
	ResetDatetime ResetMode = "to-datetime"
	ResetShift    ResetMode = "shift-by"
	ResetBackup   ResetMode = "to-backup"
	// ResetOffsets: explicit offsets per partition (undo, a backup set's offsets).
	ResetOffsets ResetMode = "to-offsets"
)

// ResetModes in the order help lists them.
var ResetModes = []ResetMode{ResetEarliest, ResetLatest, ResetDatetime, ResetShift, ResetBackup, ResetOffsets}

// PartitionReset is one partition's move: events replayed when New <
// Current, skipped when New > Current.
type PartitionReset struct {
	Partition int32 `json:"partition"`
	Current   int64 `json:"current"` // NoCommit when none
	New       int64 `json:"new"`
	LogStart  int64 `json:"logStart"`
	LogEnd    int64 `json:"logEnd"`
	Replayed  int64 `json:"replayed"`
	Skipped   int64 `json:"skipped"`
	// Clamped names why New is not the requested offset (below log start, past log end).
	Clamped string `json:"clamped,omitempty"`
}

// OffsetReset is a planned (or done) reset of a group on a topic.
type OffsetReset struct {
	Group      string           `json:"group"`
	Topic      string           `json:"topic"`
	Mode       ResetMode        `json:"mode"`
	Partitions []PartitionReset `json:"partitions"`
	Replayed   int64            `json:"replayed"`
	Skipped    int64            `json:"skipped"`
}

// Previous is the committed offsets before the reset, for undo; partitions
// without a commit are left out.
func (r OffsetReset) Previous() map[int32]int64 {
	out := map[int32]int64{}
	for _, p := range r.Partitions {
		if p.Current != NoCommit {
			out[p.Partition] = p.Current
		}
	}
	return out
}

// NewOffsets is what the reset commits, partition -> offset; partitions
// it leaves without a commit are left out.
func (r OffsetReset) NewOffsets() map[int32]int64 {
	out := map[int32]int64{}
	for _, p := range r.Partitions {
		if p.New != NoCommit {
			out[p.Partition] = p.New
		}
	}
	return out
}

// PlanReset computes the reset of cur by the rules of an offset reset: the
// new offset is clamped into [log start, log end]; a shift that runs below
// the log start is an error; a partition without a commit is left as is
// by a shift. target holds the requested offsets (datetime, backup, explicit
// modes); partitions missing from it keep their offset. shift is for ResetShift.
func PlanReset(cur GroupOffsets, mode ResetMode, shift int64, target map[int32]int64) (OffsetReset, error) {
	r := OffsetReset{Group: cur.Group, Topic: cur.Topic, Mode: mode}
	known := map[int32]bool{}
	for _, p := range cur.Partitions {
		known[p.Partition] = true
	}
	for part := range target {
		if !known[part] {
			return r, Invalidf("partition %d is not a partition of topic %q (it has %d)", part, cur.Topic, len(cur.Partitions))
		}
	}
	for _, p := range cur.Partitions {
		pr := PartitionReset{Partition: p.Partition, Current: p.Committed, LogStart: p.Start, LogEnd: p.End}
		want := p.Committed
		switch mode {
		case ResetEarliest:
			want = p.Start
		case ResetLatest:
			want = p.End
		case ResetShift:
			if p.Committed == NoCommit {
				// Nothing to shift from: left to the consumer's reset policy.
				break
			}
			want = p.Committed + shift
			if want < p.Start {
				return r, Invalidf("shift-by %d runs past the log start of %s/%d: committed %d %+d = %d, log start %d (a shift may go back at most %d there)",
					shift, cur.Topic, p.Partition, p.Committed, shift, want, p.Start, p.Committed-p.Start)
			}
		case ResetDatetime, ResetBackup, ResetOffsets:
			o, ok := target[p.Partition]
			if !ok {
				if mode == ResetDatetime {
					want = p.End
				}
				break
			}
			if o < 0 {
				return r, Invalidf("%s: offset %d for %s/%d is negative", mode, o, cur.Topic, p.Partition)
			}
			want = o
		default:
			return r, Invalidf("offset reset mode %q is not one of %s", mode, joinModes())
		}
		if want == NoCommit {
			// No commit and no target: nothing to move.
			pr.New = NoCommit
			r.Partitions = append(r.Partitions, pr)
			continue
		}
		switch {
		case want < p.Start:
			pr.Clamped = fmt.Sprintf("requested %d is below the log start %d", want, p.Start)
			want = p.Start
		case want > p.End:
			pr.Clamped = fmt.Sprintf("requested %d is past the log end %d", want, p.End)
			want = p.End
		}
		pr.New = want
		if p.Committed != NoCommit {
			if want < p.Committed {
				pr.Replayed = p.Committed - want
			} else {
				pr.Skipped = want - p.Committed
			}
		}
		r.Replayed += pr.Replayed
		r.Skipped += pr.Skipped
		r.Partitions = append(r.Partitions, pr)
	}
	return r, nil
}

func joinModes() string {
	names := make([]string, len(ResetModes))
	for i, m := range ResetModes {
		names[i] = "--" + string(m)
	}
	return strings.Join(names, ", ")
}

// FormatOffsets writes partition offsets as "0=12,1=40", sorted by partition.
func FormatOffsets(m map[int32]int64) string {
	parts := make([]int32, 0, len(m))
	for p := range m {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fmt.Sprintf("%d=%d", p, m[p])
	}
	return strings.Join(out, ",")
}

// ParseOffsets reads "0=12,1=40" (partition=offset, comma separated).
func ParseOffsets(s string) (map[int32]int64, error) {
	out := map[int32]int64{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ps, os, ok := strings.Cut(item, "=")
		p, perr := strconv.ParseInt(strings.TrimSpace(ps), 10, 32)
		o, oerr := strconv.ParseInt(strings.TrimSpace(os), 10, 64)
		if !ok || perr != nil || oerr != nil || p < 0 || o < 0 {
			return nil, Invalidf("to-offsets item %q is not PARTITION=OFFSET (both 0 or more, e.g. 0=12,1=40)", item)
		}
		if _, dup := out[int32(p)]; dup {
			return nil, Invalidf("to-offsets names partition %d twice", p)
		}
		out[int32(p)] = o
	}
	if len(out) == 0 {
		return nil, Invalidf("to-offsets %q names no partition (PARTITION=OFFSET,...)", s)
	}
	return out, nil
}

// TopicOffsets picks one topic's partitions out of "topic/partition" ->
// offset, the form a backup set records.
func TopicOffsets(recorded map[string]int64, topic string) map[int32]int64 {
	out := map[int32]int64{}
	for k, o := range recorded {
		// Topic names may not hold "/", but split at the last one anyway.
		i := strings.LastIndex(k, "/")
		if i < 0 || k[:i] != topic {
			continue
		}
		if p, err := strconv.ParseInt(k[i+1:], 10, 32); err == nil {
			out[int32(p)] = o
		}
	}
	return out
}
