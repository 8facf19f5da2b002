package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// completions are the candidates of a `__complete` run (the last line is
// cobra's directive).
func completions(t *testing.T, app *testCLI, args ...string) []string {
	t.Helper()
	r := app.run(append([]string{"__complete"}, args...)...)
	mustCode(t, r, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("no directive in %q", r.out)
	}
	return lines[:len(lines)-1]
}

func hasAll(got []string, want ...string) bool {
	set := map[string]bool{}
	for _, g := range got {
		set[g] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// Completion reads the live platform of the context: the nodes of its
// cluster, the topics of its Kafka; static sets for scale and backup; the
// regions of the context for promote.
func TestCompletionFromTheLivePlatform(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka)
	app := newCLI(t).withContext(contextFor(t, p))

	if got := completions(t, app, "scale", ""); !hasAll(got, "api", "consumer") || len(got) != 2 {
		t.Errorf("scale: %q", got)
	}
	if got := completions(t, app, "scale", "co"); len(got) != 1 || got[0] != "consumer" {
		t.Errorf("scale co: %q", got)
	}
	if got := completions(t, app, "drain", ""); !hasAll(got, p.Kube.Nodes...) {
		t.Errorf("drain: %q, want the nodes %q", got, p.Kube.Nodes)
	}
	if got := completions(t, app, "cordon", ""); !hasAll(got, p.Kube.Nodes...) {
		t.Errorf("cordon: %q", got)
	}
	if got := completions(t, app, "partitions", ""); !hasAll(got, "ingest-events") {
		t.Errorf("partitions: %q, want ingest-events", got)
	}
	if got := completions(t, app, "promote", ""); !hasAll(got, "primary", "secondary") {
		t.Errorf("promote: %q", got)
	}
	if got := completions(t, app, "backup", ""); !hasAll(got, "postgres", "clickhouse", "redis", "all") {
		t.Errorf("backup: %q", got)
	}
	if got := completions(t, app, "runbook", "run", ""); len(got) == 0 {
		t.Errorf("runbook run offers no runbook")
	}
	// one target only: nothing after it
	if got := completions(t, app, "scale", "api", ""); len(got) != 0 {
		t.Errorf("second argument: %q", got)
	}
}

// An unreachable platform offers nothing, quickly, and no error.
func TestCompletionFallsBackSilently(t *testing.T) {
	app := newCLI(t).withContext(config.ContextConfig{Name: "gone", Regions: []config.RegionConfig{{Name: "primary", Role: "primary",
		Kafka: &config.KafkaEndpoint{Brokers: []string{"127.0.0.1:1"}}}}})
	start := time.Now()
	r := app.run("__complete", "partitions", "")
	mustCode(t, r, ExitOK)
	if took := time.Since(start); took > 2*completionTimeout+time.Second {
		t.Errorf("completion took %s against a dead broker", took)
	}
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); len(lines) != 1 {
		t.Errorf("candidates from a dead broker: %q", r.out)
	}
}

// offsets reset GROUP completes from the groups the context's Kafka lists:
// a group that committed offsets appears, by prefix too; nothing after it.
func TestCompletionOfConsumerGroups(t *testing.T) {
	p := localtest.Platform(t, local.Kafka)
	f := newOffsetFixture(t, p)
	app := newCLI(t).withContext(contextFor(t, p))

	got := completions(t, app, "offsets", "reset", "")
	if !hasAll(got, f.group) {
		t.Fatalf("offsets reset: %q, want the group %q", got, f.group)
	}
	got = completions(t, app, "offsets", "reset", "reset-gr")
	if !hasAll(got, f.group) {
		t.Errorf("offsets reset reset-gr: %q, want %q", got, f.group)
	}
	for _, g := range got {
		if !strings.HasPrefix(g, "reset-gr") {
			t.Errorf("candidate %q does not start with the typed prefix", g)
		}
	}
	if got := completions(t, app, "offsets", "reset", "no-such-group-"); len(got) != 0 {
		t.Errorf("unmatched prefix offered %q", got)
	}
	if got := completions(t, app, "offsets", "reset", f.group, ""); len(got) != 0 {
		t.Errorf("second argument: %q", got)
	}
}
