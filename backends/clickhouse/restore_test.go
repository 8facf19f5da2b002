package clickhouse

import "testing"

func TestUnreplicatedAndPartitionOf(t *testing.T) {
	in := "CREATE TABLE wotr.events (id String) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/01/events', 'replica1', ingested_at) PARTITION BY toYYYYMM(created_at) ORDER BY id"
	want := "CREATE TABLE wotr.events (id String) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(created_at) ORDER BY id"
	if got := unreplicated(in); got != want {
		t.Errorf("unreplicated:\n got %s\nwant %s", got, want)
	}
	if got := unreplicated("ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY id"); got != "ENGINE = MergeTree() ORDER BY id" {
		t.Errorf("plain replicated: %s", got)
	}
	for part, pid := range map[string]string{"202610_1_1_0": "202610", "all_3_7_1": "all", "20261001_x_5_9_2": "20261001_x", "odd": "odd"} {
		if got := partitionOf(part); got != pid {
			t.Errorf("partitionOf(%q) = %q, want %q", part, got, pid)
		}
	}
}
