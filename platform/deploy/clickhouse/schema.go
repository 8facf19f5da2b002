// Package chschema carries the events schema of schema.sql to Go, so the
// local platform creates the very tables the manifests create.
//
// The events table is ReplicatedReplacingMergeTree with ingested_at as the
// version: an event delivered twice (the consumer is at-least-once) keeps one
// row, the latest ingested, once parts merge; readers that need exact counts
// before a merge use FINAL. Rows collapse on the whole sorting key, and a
// redelivered event carries the same source and created_at as the original,
// so this is de-duplication by id. Replicated tables also drop a repeated
// identical insert block (replicated_deduplication_window), which covers a
// consumer retrying the same batch. kafka_partition and kafka_offset record
// where a row came from.
package chschema

import (
	_ "embed"
	"strings"
)

//go:embed schema.sql
var schemaSQL string

// SQL is schema.sql as shipped (the ConfigMap carries the same text).
func SQL() string { return schemaSQL }

// Statements splits schema.sql into its statements, comments dropped. With
// onCluster false, "ON CLUSTER wotr_cluster" is removed, for running each
// statement on every server oneself.
func Statements(onCluster bool) []string {
	var lines []string
	for _, l := range strings.Split(schemaSQL, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, st := range strings.Split(strings.Join(lines, "\n"), ";") {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		if !onCluster {
			st = strings.ReplaceAll(st, " ON CLUSTER wotr_cluster", "")
		}
		out = append(out, st)
	}
	return out
}
