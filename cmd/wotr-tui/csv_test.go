package main

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// -o csv is the rows -o table prints, every table of the kind, read back
// intact by a CSV reader (the HPA targets hold a comma).
func TestGetCSVIsTheTableRows(t *testing.T) {
	s := state.Snapshot{
		Instances: []state.Instance{{Pod: "wotr-api-f6c5657b9-x7k2p", Ready: true, RPS: 12}, {Pod: "wotr-api-f6c5657b9-q4m8z"}},
		Deployments: []state.Deployment{{Name: "wotr-api", Desired: 2, HPA: &state.HPA{Min: 1, Max: 4,
			Metrics: []state.HPAMetric{{Name: "cpu", Target: "70%", Current: "58%"}, {Name: "rps", Target: "1000", Current: "210"}}}}},
	}
	var b bytes.Buffer
	if err := printSnapshot(&b, "csv", "instances", s, nil, health.Defaults(), false); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(&b)
	r.FieldsPerRecord = -1
	got, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, b.String())
	}
	var want [][]string
	for _, tb := range []present.Table{present.Instances(s, false), present.Deployments(s, false)} {
		want = append(want, tb.Headers)
		want = append(want, tb.Rows...)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("records\n%q\nwant\n%q", got, want)
	}
}
