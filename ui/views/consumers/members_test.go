package consumers

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

func membersGroup() state.Group {
	g := state.Group{Name: "g", State: "Stable", Members: []state.GroupMember{
		{ID: "m-a", ClientID: "client-a", Host: "10.0.0.1", Assigned: []string{"t1/10", "t1/2", "t2/0"}},
		// no assignment listed: owns the partitions that name it
		{ID: "m-b", ClientID: "client-b", Host: "10.0.0.2"},
		{ID: "m-idle", ClientID: "client-c", Host: "10.0.0.3"},
	}}
	g.Partitions = []state.PartitionLag{
		{Topic: "t1", Partition: 2, Lag: 5},
		{Topic: "t1", Partition: 10, Lag: 7},
		{Topic: "t2", Partition: 0, Lag: 100},
		{Topic: "t1", Partition: 3, Lag: 40, Member: "m-b"},
	}
	return g
}

func TestMemberRowsCountListAndLag(t *testing.T) {
	rows := memberRows(membersGroup())
	want := map[string][]string{
		"m-a":    {"m-a", "client-a", "10.0.0.1", "3", "112", "t1:2,10 t2:0"},
		"m-b":    {"m-b", "client-b", "10.0.0.2", "1", "40", "t1:3"},
		"m-idle": {"m-idle", "client-c", "10.0.0.3", "0", "0", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if got := strings.Join(r.Cells, "|"); got != strings.Join(want[r.Key], "|") {
			t.Errorf("member %s: %q, want %q", r.Key, got, strings.Join(want[r.Key], "|"))
		}
	}
}

func TestCompactAssignedOneTopicDropsName(t *testing.T) {
	if got := compactAssigned([]string{"ev/11", "ev/2", "ev/5"}, true); got != "2,5,11" {
		t.Errorf("one topic: %q, want 2,5,11", got)
	}
	if got := compactAssigned([]string{"b/1", "a/0"}, false); got != "a:0 b:1" {
		t.Errorf("two topics: %q, want a:0 b:1", got)
	}
}

// The drill-in shows the members table above the partitions at 80x24 and
// 160x48, every line within the width.
func TestGroupDrillShowsMembersTable(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		ctx := common.NewContext(common.NoColorTheme())
		v := New(ctx)
		v.SetSize(sz[0], sz[1]-4)
		v.SetData(&common.Data{Snap: state.Snapshot{Kafka: state.KafkaState{Groups: []state.Group{membersGroup()}}}})
		v.Update(tea.KeyMsg{Type: tea.KeyEnter})
		if !v.InDrill() {
			t.Fatalf("%v: enter did not open the group", sz)
		}
		lines := strings.Split(v.View(), "\n")
		if len(lines) != sz[1]-4 {
			t.Errorf("%v: %d lines, want %d", sz, len(lines), sz[1]-4)
		}
		members, parts := -1, -1
		for i, l := range lines {
			if w := common.Width(l); w > sz[0] {
				t.Errorf("%v: line %d is %d wide: %q", sz, i, w, l)
			}
			f := strings.Fields(l)
			switch {
			case len(f) > 0 && f[0] == "MEMBER":
				members = i
			case len(f) > 0 && f[0] == "TOPIC":
				parts = i
			}
		}
		if members < 0 || parts < members+4 {
			t.Fatalf("%v: members header at %d, partitions header at %d; want members table with 3 rows above:\n%s", sz, members, parts, strings.Join(lines, "\n"))
		}
		// sorted by lag, worst first
		for i, want := range []string{"m-a client-a 10.0.0.1 3 112 t1:2,10 t2:0", "m-b client-b 10.0.0.2 1 40 t1:3", "m-idle client-c 10.0.0.3 0 0"} {
			if got := strings.Join(strings.Fields(lines[members+1+i]), " "); got != want {
				t.Errorf("%v: member row %d %q, want %q", sz, i, got, want)
			}
		}
	}
}

func TestSharedPrefixDropsOnlyWholeCommonWords(t *testing.T) {
	ms := []state.GroupMember{
		{ID: "wotr-consumer-wotr-consumer-6d575c9f8-abcde-1f3a"},
		{ID: "wotr-consumer-wotr-consumer-6d575c9f8-abxyz-2b4c"},
	}
	// "ab" is shared too, but cutting inside a word would lose the pod suffix
	if got := sharedPrefix(ms); got != "wotr-consumer-wotr-consumer-6d575c9f8-" {
		t.Errorf("prefix %q", got)
	}
	if got := sharedPrefix(ms[:1]); got != "" {
		t.Errorf("one member: prefix %q, want none", got)
	}
	if got := sharedPrefix(membersGroup().Members); got != "" {
		t.Errorf("short ids: prefix %q, want none", got)
	}
}
