package present

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

func snapshot() state.Snapshot {
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	m := state.Meta{Source: "kafka@primary", FetchedAt: now.Add(-4 * time.Second), Stale: true, Error: "dial tcp: refused"}
	return state.Snapshot{Context: "t", TakenAt: now, Sources: []state.Meta{m},
		Kafka: state.KafkaState{Meta: m, Groups: []state.Group{{Name: "g", State: "Stable", TotalLag: 12345, LagSeconds: 65, ETASeconds: -1, Status: state.StatusWarn, LagState: "falling behind",
			Partitions: []state.PartitionLag{{Topic: "t", Partition: 3, Committed: -1, End: 9, Lag: 9, LagSeconds: -1, Status: state.StatusStop}}}}}}
}

func TestLagRows(t *testing.T) {
	s := snapshot()
	tb := Lag(s, false)
	if len(tb.Rows) != 1 || strings.Join(tb.Rows[0], "|") != "g|Stable|0|1|12.3k|1m05s|falling behind|WARN" {
		t.Fatalf("rows %q", tb.Rows)
	}
	wide := Lag(s, true)
	if len(wide.Rows) != 2 || wide.Rows[1][0] != "  t/3" || wide.Rows[1][1] != "-/9" || wide.Rows[1][7] != "STOP" {
		t.Fatalf("wide rows %q", wide.Rows)
	}
	var buf bytes.Buffer
	if err := Write(&buf, tb); err != nil || !strings.HasPrefix(buf.String(), "GROUP ") {
		t.Fatalf("write: %v %q", err, buf.String())
	}
}

func TestLagStateWording(t *testing.T) {
	for _, c := range []struct {
		g    state.Group
		want string
	}{
		{state.Group{LagState: "catching up", ETASeconds: 224, TotalLag: 9}, "catching up (ETA 3m44s)"},
		{state.Group{LagState: "steady", ETASeconds: -1, TotalLag: 900}, "steady"},
		{state.Group{TotalLag: 0}, "caught up"},
		{state.Group{TotalLag: 5}, "unknown"},
	} {
		if got := LagState(c.g); got != c.want {
			t.Errorf("LagState(%+v) = %q, want %q", c.g, got, c.want)
		}
	}
}

func TestSourcesAndFailed(t *testing.T) {
	s := snapshot()
	if f := Failed(s); len(f) != 1 || f[0].Source != "kafka@primary" {
		t.Fatalf("failed %+v", f)
	}
	row := Sources(s).Rows[0]
	if row[1] != "STALE" || row[2] != "4s (stale)" || row[4] != "dial tcp: refused" {
		t.Fatalf("sources row %q", row)
	}
}

func TestDocumentShape(t *testing.T) {
	d, err := NewDocument("lag", snapshot())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"apiVersion", "kind", "context", "takenAt", "sources", "data"} {
		if _, ok := m[k]; !ok {
			t.Errorf("document lacks %q", k)
		}
	}
	if _, err := NewDocument("pods", snapshot()); err == nil || !strings.Contains(err.Error(), `"pods"`) {
		t.Errorf("unknown kind error = %v", err)
	}
	d, _ = NewDocument("nodes", state.Snapshot{})
	if b, _ := json.Marshal(d.Data); string(b) != "[]" {
		t.Errorf("empty nodes = %s, want []", b)
	}
}

// status judges with the console's table: 12 s of lag and 2 % errors warn.
func TestOverviewJudgesWithThresholds(t *testing.T) {
	s := state.Snapshot{
		Instances:   []state.Instance{{Pod: "a", Ready: true, ErrorRate: 0.02}},
		Replication: state.Replication{Postgres: []state.PGStandby{{Name: "s", State: "streaming", ReplayLagSeconds: 12}}},
	}
	rows := map[string][]string{}
	for _, r := range Overview(s, health.Defaults()).Rows {
		rows[r[0]] = r
	}
	if r := rows["replication"]; r[1] != "WARN" || r[2] != "1 replicas, worst lag 12s" {
		t.Errorf("replication row %q", r)
	}
	if r := rows["instances"]; r[1] != "WARN" || !strings.Contains(r[2], "worst errors 2.0%") {
		t.Errorf("instances row %q", r)
	}
	loose := health.Defaults()
	loose.ReplicationLag = health.Bound{Warn: 30, Crit: 60}
	loose.ErrorRate = health.Bound{Warn: 0.05, Crit: 0.1}
	for _, r := range Overview(s, loose).Rows {
		if (r[0] == "replication" || r[0] == "instances") && r[1] != "OK" {
			t.Errorf("with looser thresholds %q", r)
		}
	}
	th := Thresholds(loose)
	if got := strings.Join(th.Rows[0][:3], "|"); got != "replication-lag|30s|1m00s" {
		t.Errorf("thresholds row %q", got)
	}
}

func TestWriteCSVQuotes(t *testing.T) {
	var b strings.Builder
	err := WriteCSV(&b, Table{Title: "not printed", Headers: []string{"NAME", "NOTE"}, Rows: [][]string{{"a", `say "hi", twice`}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NAME,NOTE\na,\"say \"\"hi\"\", twice\"\n"; b.String() != want {
		t.Errorf("csv %q, want %q", b.String(), want)
	}
}
