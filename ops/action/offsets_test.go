package action

import (
	"errors"
	"strings"
	"testing"
)

func testGroup() GroupOffsets {
	return GroupOffsets{Group: "g", Topic: "t", Known: true, Partitions: []PartitionOffsets{
		{Partition: 0, Start: 10, End: 100, Committed: 50},
		{Partition: 1, Start: 0, End: 40, Committed: 40},
		{Partition: 2, Start: 5, End: 5, Committed: NoCommit},
	}}
}

func TestPlanResetModes(t *testing.T) {
	cases := []struct {
		mode     ResetMode
		shift    int64
		target   map[int32]int64
		want     []int64
		replayed int64
		skipped  int64
	}{
		{mode: ResetEarliest, want: []int64{10, 0, 5}, replayed: 40 + 40},
		{mode: ResetLatest, want: []int64{100, 40, 5}, skipped: 50},
		// Partition 1 has no record at or after the time: its log end; 2 is missing from the answer: the end too.
		{mode: ResetDatetime, target: map[int32]int64{0: 60, 1: 40}, want: []int64{60, 40, 5}, skipped: 10},
		// Past the end is clamped to the end, as a reset does.
		{mode: ResetOffsets, target: map[int32]int64{0: 500, 1: 2}, want: []int64{100, 2, NoCommit}, replayed: 38, skipped: 50},
		// A recorded offset below the log start (data deleted since) is clamped to it.
		{mode: ResetBackup, target: map[int32]int64{0: 3}, want: []int64{10, 40, NoCommit}, replayed: 40},
	}
	for _, c := range cases {
		r, err := PlanReset(testGroup(), c.mode, c.shift, c.target)
		if err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		for i, w := range c.want {
			if r.Partitions[i].New != w {
				t.Errorf("%s: partition %d new %d, want %d", c.mode, i, r.Partitions[i].New, w)
			}
		}
		if r.Replayed != c.replayed || r.Skipped != c.skipped {
			t.Errorf("%s: replayed %d skipped %d, want %d %d", c.mode, r.Replayed, r.Skipped, c.replayed, c.skipped)
		}
	}
	r, _ := PlanReset(testGroup(), ResetOffsets, 0, map[int32]int64{0: 500})
	if !strings.Contains(r.Partitions[0].Clamped, "past the log end 100") {
		t.Errorf("clamp not explained: %+v", r.Partitions[0])
	}
	if prev := r.Previous(); len(prev) != 2 || prev[0] != 50 || prev[1] != 40 {
		t.Errorf("previous offsets %v, want 0=50 1=40 (2 has no commit)", prev)
	}
	if commit := r.NewOffsets(); len(commit) != 2 || commit[0] != 100 || commit[1] != 40 {
		t.Errorf("offsets to commit %v, want 0=100 1=40 (2 is left without a commit)", commit)
	}
}

func TestPlanResetRefusesBadShifts(t *testing.T) {
	g := testGroup()
	g.Partitions = g.Partitions[:2]
	if r, err := PlanReset(g, ResetShift, -5, nil); err != nil || r.Partitions[0].New != 45 || r.Partitions[1].New != 35 || r.Replayed != 10 {
		t.Fatalf("shift -5: %+v %v", r, err)
	}
	// Partition 0 may go back 40 (50 -> 10), not 41.
	_, err := PlanReset(g, ResetShift, -41, nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "shift-by -41 runs past the log start of t/0") || !strings.Contains(err.Error(), "log start 10") {
		t.Fatalf("shift past log start: %v", err)
	}
	// Partition 2 has no commit: a shift leaves it alone.
	if r, err := PlanReset(testGroup(), ResetShift, 1, nil); err != nil || r.Partitions[2].New != NoCommit || len(r.NewOffsets()) != 2 || r.Skipped != 1 {
		t.Fatalf("shift with a partition without a commit: %+v %v", r, err)
	}
	if _, err := PlanReset(g, ResetOffsets, 0, map[int32]int64{7: 1}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "partition 7 is not a partition") {
		t.Fatalf("unknown partition: %v", err)
	}
}

func TestOffsetsFormatAndParse(t *testing.T) {
	m := map[int32]int64{2: 9, 0: 12, 10: 1}
	s := FormatOffsets(m)
	if s != "0=12,2=9,10=1" {
		t.Fatalf("format %q", s)
	}
	back, err := ParseOffsets(s)
	if err != nil || len(back) != 3 || back[10] != 1 {
		t.Fatalf("parse back %v %v", back, err)
	}
	for _, bad := range []string{"", "0=", "x=1", "0=-1", "0=1,0=2", "-1=3"} {
		if _, err := ParseOffsets(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseOffsets(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	rec := map[string]int64{"ingest-events/0": 5, "ingest-events/3": 7, "dlq-events/0": 1}
	if got := TopicOffsets(rec, "ingest-events"); len(got) != 2 || got[3] != 7 {
		t.Fatalf("topic offsets %v", got)
	}
}
