package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/platform/api"
)

// --help lists every variable the API reads, with its default and rule.
func TestUsageListsTheEnvironment(t *testing.T) {
	var buf bytes.Buffer
	usage(&buf)
	lines := map[string][]string{}
	for _, l := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = f
		}
	}
	vars := api.DescribeConfig()
	if len(vars) < 30 {
		t.Fatalf("only %d variables described", len(vars))
	}
	for _, v := range vars {
		if _, ok := lines[v.Name]; !ok {
			t.Errorf("--help does not list %s", v.Name)
		}
	}
	if got := strings.Join(lines["POSTGRES_POOL_MAX"], " "); got != "POSTGRES_POOL_MAX 10 integer from 1 to 10000" {
		t.Errorf("POSTGRES_POOL_MAX line: %q", got)
	}
	if got := strings.Join(lines["KAFKA_BOOTSTRAP"], " "); got != "KAFKA_BOOTSTRAP localhost:9092 comma-separated host:port list" {
		t.Errorf("KAFKA_BOOTSTRAP line: %q", got)
	}
	if got := strings.Join(lines["POD_NAME"], " "); got != "POD_NAME the host name text" {
		t.Errorf("POD_NAME line: %q", got)
	}
}
