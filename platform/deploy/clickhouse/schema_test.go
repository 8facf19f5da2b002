package chschema

import (
	"strings"
	"testing"
)

func TestStatements(t *testing.T) {
	st := Statements(false)
	if len(st) != 3 || st[0] != "CREATE DATABASE IF NOT EXISTS wotr" ||
		!strings.HasPrefix(st[1], "CREATE TABLE IF NOT EXISTS wotr.events (") ||
		!strings.HasPrefix(st[2], "CREATE TABLE IF NOT EXISTS wotr.events_all AS wotr.events") {
		t.Fatalf("statements without ON CLUSTER:\n%s", strings.Join(st, "\n---\n"))
	}
	for _, s := range st {
		if strings.Contains(s, "ON CLUSTER") || strings.Contains(s, "--") || strings.HasSuffix(s, ";") {
			t.Errorf("statement keeps a cluster clause, a comment or its semicolon: %s", s)
		}
	}
	for _, s := range Statements(true) {
		if !strings.Contains(s, " ON CLUSTER wotr_cluster") {
			t.Errorf("cluster statement without ON CLUSTER: %s", s)
		}
	}
}
