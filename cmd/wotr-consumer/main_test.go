package main

import (
	"bytes"
	"strings"
	"testing"
)

// --help lists the consumer's batching settings with their defaults and rules.
func TestUsageListsTheEnvironment(t *testing.T) {
	var buf bytes.Buffer
	usage(&buf)
	for _, want := range []string{
		"BATCH_SIZE 10000 integer from 1 to 1000000",
		"BATCH_WAIT 1s duration from 0s to 1m0s",
		"BATCH_MIN_SIZE 1000 integer from 1 to 1000000",
		"KAFKA_GROUP_ID wotr-consumer-group text",
	} {
		found := false
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Join(strings.Fields(l), " ") == want {
				found = true
			}
		}
		if !found {
			t.Errorf("--help lacks the line %q:\n%s", want, buf.String())
		}
	}
}
