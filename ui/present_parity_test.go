package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// The same snapshot through `get -o wide` (present.Tables, what get prints)
// and through the console's views shows every figure the same way.
func TestCLIAndConsoleShowTheSameFigures(t *testing.T) {
	snap := fixture.Snapshot()
	cli := func(kind string) string {
		tables, err := present.Tables(kind, snap, true, health.Defaults())
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, tb := range tables {
			if err := present.Write(&b, tb); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	m := newModel(t, 200, 60, goldenOptions())
	feed(m, snap)
	screen := func(keys ...string) string {
		press(m, keys...)
		return m.View()
	}

	type figure struct{ what, value string }
	check := func(kind string, console string, figs []figure) {
		t.Helper()
		out := cli(kind)
		for _, f := range figs {
			// whole cells only: "1.4s" must not match inside "11.4s"
			if !containsCell(out, f.value) {
				t.Errorf("get %s lacks %s %q:\n%s", kind, f.what, f.value, out)
			}
			if !containsCell(console, f.value) {
				t.Errorf("console lacks %s %q (get %s shows it):\n%s", f.what, f.value, kind, console)
			}
		}
	}

	var repl []figure
	// a replica's own report carries seconds only: its byte lag is the
	// primary's to measure
	for _, p := range snap.Replication.Postgres {
		repl = append(repl, figure{"postgres replay lag", present.Seconds(p.ReplayLagSeconds)})
		if !p.Self {
			repl = append(repl, figure{"postgres lag bytes", present.Bytes(p.ReplayLagBytes)})
		}
	}
	for _, c := range snap.Replication.ClickHouse {
		repl = append(repl, figure{"clickhouse delay", present.Seconds(c.AbsoluteDelay)})
	}
	for _, r := range snap.Replication.Redis {
		repl = append(repl, figure{"redis lag", present.Seconds(r.LagSeconds)})
		if !r.Self {
			repl = append(repl, figure{"redis offset lag", present.Bytes(r.OffsetLag)})
		}
	}
	check("replication", screen("4"), repl)

	var pools []figure
	for _, ip := range snap.Pools.Instances {
		for _, p := range ip.Pools {
			pools = append(pools, figure{fmt.Sprintf("%s %s utilisation", ip.Pod, p.Store), present.Percent(p.Utilization())},
				figure{"pool in use", present.Count(p.InUse)})
		}
	}
	check("pools", screen("5"), pools)

	var lag []figure
	for _, g := range snap.Kafka.Groups {
		lag = append(lag, figure{g.Name + " lag", present.Count(g.TotalLag)}, figure{g.Name + " lag time", present.Seconds(g.LagSeconds)})
	}
	check("lag", screen("3"), lag)

	var inst []figure
	for _, in := range snap.Instances {
		inst = append(inst, figure{in.Pod + " p99", present.Millis(in.P99)}, figure{in.Pod + " errors", present.Percent(in.ErrorRate)},
			figure{in.Pod + " rps", present.Rate(in.RPS)})
	}
	check("instances", screen("2"), inst)

	var bak []figure
	for _, b := range snap.Backups {
		bak = append(bak, figure{b.ID + " size", present.Bytes(b.SizeBytes)}, figure{b.ID + " age", present.Age(snap.TakenAt.Sub(b.StartedAt))})
	}
	check("backups", screen("8"), bak)

	t.Logf("compared %d replication, %d pool, %d lag, %d instance and %d backup figures", len(repl), len(pools), len(lag), len(inst), len(bak))
	if len(repl) == 0 || len(pools) == 0 || len(lag) == 0 || len(inst) == 0 || len(bak) == 0 {
		t.Fatal("the fixture lacks a figure this test compares")
	}
}

// containsCell: s holds v bounded by spaces, a box edge or a line end.
func containsCell(s, v string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], v)
		if j < 0 {
			return false
		}
		j += i
		before, after := " ", " "
		if j > 0 {
			before = s[j-1 : j]
		}
		if k := j + len(v); k < len(s) {
			after = s[k : k+1]
		}
		if !strings.ContainsAny(before, "0123456789.") && !strings.ContainsAny(after, "0123456789.") {
			return true
		}
		i = j + 1
	}
}
