package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestGetUsageErrors(t *testing.T) {
	app := newCLI(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "get needs one kind"},
		{[]string{"get", "pods"}, `unknown kind "pods"`},
		{[]string{"get", "lag", "-o", "xml"}, `-o "xml": output must be table, wide, json, yaml or csv`},
		{[]string{"get", "lag", "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"get", "lag", "--since", "2h", "-o", "json"}, "--since 2h0m0s: must be one of 15m, 1h, 6h or 24h"},
		{[]string{"get", "nodes", "--since", "1h", "-o", "json"}, "--since with nodes: history exists for instances, lag and status"},
		{[]string{"get", "lag", "--since", "1h"}, "--since with -o table: history is printed with -o json or yaml"},
		{[]string{"status", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		r := app.run(c.args...)
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.err, c.want) {
			t.Errorf("%v: stderr %q, want %q", c.args, r.err, c.want)
		}
	}
}

// One unreachable source: exit code 1 naming it, everything else printed.
func TestGetReplicationJSONWithAnUnreachableSource(t *testing.T) {
	p := localtest.Platform(t, local.Postgres, local.Redis)
	cc := contextFor(t, p)
	cc.Regions = append(cc.Regions, config.RegionConfig{Name: "dead", Role: "secondary", Redis: &config.RedisEndpoint{Addr: "127.0.0.1:1"}})
	app := newCLI(t).withContext(cc)
	r := app.run("get", "replication", "-o", "json", "--timeout", "2s")
	mustCode(t, r, ExitFailed)
	if !strings.Contains(r.err, "redis/replication@dead") || !strings.Contains(r.err, "1 source(s) unreachable") {
		t.Errorf("stderr does not name the unreachable source: %q", r.err)
	}
	var doc struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Context    string            `json:"context"`
		Sources    []state.Meta      `json:"sources"`
		Data       state.Replication `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, r.out)
	}
	if doc.APIVersion != present.APIVersion || doc.Kind != "replication" || doc.Context != cc.Name {
		t.Errorf("envelope %s %s %s", doc.APIVersion, doc.Kind, doc.Context)
	}
	if len(doc.Data.Postgres) < 2 || len(doc.Data.Redis) < 2 {
		t.Errorf("postgres rows %d, redis rows %d: want the reachable ones (2 each)", len(doc.Data.Postgres), len(doc.Data.Redis))
	}
	failed := 0
	for _, s := range doc.Sources {
		if s.Error != "" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d sources carry an error, want 1: %+v", failed, doc.Sources)
	}
}

func TestGetLagTableAndYAML(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topic := "ingest-events"
	var recs []*kgo.Record
	for i := 0; i < 12; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("e")})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	group := "get-lag-" + time.Now().Format("150405.000000")
	offs := kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: end.Offset - 5, LeaderEpoch: -1}}}
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	app := newCLI(t).withContext(config.ContextConfig{Name: "lag-test", Regions: []config.RegionConfig{{Name: "primary", Role: "primary",
		Kafka: &config.KafkaEndpoint{Brokers: p.Kafka.Brokers}}}})

	r := app.run("get", "lag", "--rate-window", "0")
	mustCode(t, r, ExitOK)
	var row string
	for _, l := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(l, group+" ") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 5 || f[4] != "5" {
		t.Fatalf("row for %s = %q, want lag 5 in column 5\n%s", group, row, r.out)
	}
	r = app.run("get", "lag", "-o", "yaml", "--rate-window", "0")
	mustCode(t, r, ExitOK)
	for _, want := range []string{"apiVersion: wotr.io/v1", "kind: lag", "name: " + group, "lag: 5"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("yaml lacks %q", want)
		}
	}
	// Without Prometheus, --since returns this run's polls and says so.
	r = app.run("get", "lag", "-o", "json", "--since", "15m", "--rate-window", "100ms")
	mustCode(t, r, ExitOK)
	var doc struct {
		History struct {
			Window string                   `json:"window"`
			Source string                   `json:"source"`
			Series map[string][]state.Point `json:"series"`
		} `json:"history"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("--since output is not JSON: %v\n%s", err, r.out)
	}
	pts := doc.History.Series[state.SeriesGroupLag(group)]
	if doc.History.Window != "15m0s" || doc.History.Source != "polls" || len(pts) != 2 || pts[1].Value != 5 {
		t.Fatalf("history %+v, want 15m from polls with two lag points of 5 for %s", doc.History, group)
	}
	if !strings.Contains(r.err, "history: no Prometheus configured") {
		t.Errorf("stderr %q does not say the history is not from Prometheus", r.err)
	}
	r = app.run("get", "lag", "-o", "json", "--watch", "--interval", "100ms", "--watch-count", "2")
	mustCode(t, r, ExitOK)
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); len(lines) != 2 {
		t.Errorf("--watch -o json printed %d lines, want one document per poll (2)", len(lines))
	}
}

func TestStatusOverAllSources(t *testing.T) {
	p := localtest.Platform(t, local.Kafka, local.Kube, local.Postgres, local.Redis, local.ClickHouse)
	app := newCLI(t).withContext(contextFor(t, p))
	r := app.run("status", "-o", "wide", "--rate-window", "0")
	mustCode(t, r, ExitOK)
	for _, want := range []string{"AREA", "replication", "region primary", "kafka@primary", "postgres/replication@secondary", "clickhouse/replicas@primary"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status lacks %q:\n%s", want, r.out)
		}
	}
}
