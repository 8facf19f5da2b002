package audit

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuditAppendIsOrderedAndSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	log := NewLog(path)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rec := Record{Time: time.Unix(int64(i), 0), Who: "op", Context: "c", Action: "scale", Outcome: OutcomeOK,
				Plan: json.RawMessage(`{"summary":"` + strings.Repeat("x", 5000) + `"}`)}
			if err := log.Append(rec); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	// A crash mid-write leaves a partial last line; readers skip it.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-`)
	f.Close()
	recs, err := log.Records(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20 whole ones", len(recs))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", st.Mode().Perm())
	}
	if recs, _ := log.Records(context.Background(), 3); len(recs) != 3 {
		t.Errorf("limit 3 gave %d", len(recs))
	}
}
