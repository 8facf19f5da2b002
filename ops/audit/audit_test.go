package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func appendN(t *testing.T, log *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		rec := Record{Kind: KindRefusal, Time: time.Unix(int64(i), 0), Who: "op", Context: "c", Action: "scale",
			Target: fmt.Sprint("api-", i), Outcome: OutcomeRefused, Plan: json.RawMessage(`{"summary":"s"}`)}
		if err := log.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditAppendIsOrderedAndATornLineIsRepairedNotSwallowed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	log := NewLog(path)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rec := Record{Kind: KindRefusal, Time: time.Unix(int64(i), 0), Who: "op", Context: "c", Action: "scale", Outcome: OutcomeOK,
				Plan: json.RawMessage(`{"summary":"` + strings.Repeat("x", 5000) + `"}`)}
			if err := log.Append(rec); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if rep, err := log.Verify(context.Background()); err != nil || !rep.Intact || rep.Records != 20 {
		t.Fatalf("concurrent appends: %+v %v", rep, err)
	}
	// A crash mid-write leaves a partial last line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-`)
	f.Close()
	recs, err := log.Records(context.Background(), 0)
	var dmg *DamageError
	if !errors.As(err, &dmg) || len(dmg.Problems) != 1 || dmg.Problems[0].Line != 21 {
		t.Fatalf("torn line not reported: %v", err)
	}
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20 whole ones", len(recs))
	}
	// The next append repairs the tail and is read back whole.
	if err := log.Append(Record{Kind: KindRefusal, Who: "op", Context: "c", Action: "drain", Target: "after-crash", Outcome: OutcomeRefused}); err != nil {
		t.Fatal(err)
	}
	all, err := log.Lines()
	if err != nil {
		t.Fatalf("after the repair: %v", err)
	}
	if len(all) != 22 || all[20].Kind != KindRepair || string(all[20].Torn) != `{"time":"2026-` || all[21].Target != "after-crash" || all[21].Seq != 22 {
		t.Fatalf("after the repair: %d lines, repair %+v, last %+v", len(all), all[20], all[21])
	}
	rep, err := log.Verify(context.Background())
	if err != nil || !rep.Intact || len(rep.Notes) != 1 || rep.Notes[0].Line != 21 {
		t.Fatalf("repaired log: %+v %v", rep, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(path)); st.Mode().Perm() != 0o700 {
		t.Errorf("audit dir mode %v, want 0700", st.Mode().Perm())
	}
	if recs, _ := log.Records(context.Background(), 3); len(recs) != 3 {
		t.Errorf("limit 3 gave %d", len(recs))
	}
}

func TestTheChainLinksEachLineToTheOneBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	appendN(t, NewLog(path), 3)
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for i, l := range lines {
		var r Record
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		want := ""
		if i > 0 {
			want = Hash(lines[i-1])
		}
		if r.Seq != int64(i+1) || r.Prev != want {
			t.Fatalf("line %d: seq %d prev %q, want %d %q", i+1, r.Seq, r.Prev, i+1, want)
		}
	}
}

// tamper writes a six-record log, applies edit to its lines and verifies it.
func tamper(t *testing.T, edit func(lines [][]byte) [][]byte, cut int) *Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log := NewLog(path)
	appendN(t, log, 6)
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	lines = edit(lines)
	out := bytes.Join(lines, nil)
	if cut > 0 {
		out = out[:len(out)-cut]
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := log.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyFindsEachKindOfTampering(t *testing.T) {
	same := func(l [][]byte) [][]byte { return l }
	if rep := tamper(t, same, 0); !rep.Intact || rep.Records != 6 || rep.Head == "" {
		t.Fatalf("untouched log: %+v", rep)
	}
	cases := []struct {
		name string
		edit func([][]byte) [][]byte
		cut  int
		line int
		what string
	}{
		{"edit a field", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"who":"op"`), []byte(`"who":"xx"`), 1)
			return l
		}, 0, 3, "edited"},
		{"delete a line", func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) }, 0, 3, "deleted"},
		{"swap two lines", func(l [][]byte) [][]byte { l[2], l[3] = l[3], l[2]; return l }, 0, 3, "reordered"},
		{"delete the first line", func(l [][]byte) [][]byte { return l[1:] }, 0, 1, "deleted"},
		{"truncate mid-line", same, 10, 6, "torn"},
		{"garbage line", func(l [][]byte) [][]byte {
			return append(l[:4:4], append([][]byte{[]byte("not json\n")}, l[4:]...)...)
		}, 0, 5, "not a JSON record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := tamper(t, c.edit, c.cut)
			if rep.Intact || len(rep.Problems) == 0 {
				t.Fatalf("not detected: %+v", rep)
			}
			first := rep.Problems[0]
			if first.Line != c.line || !strings.Contains(first.What, c.what) {
				t.Fatalf("first problem line %d %q, want line %d %q (all: %+v)", first.Line, first.What, c.line, c.what, rep.Problems)
			}
			t.Logf("line %d: %s", first.Line, first.What)
		})
	}
}

func TestAnIntentWithoutAResultIsInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log := NewLog(path)
	must := func(r Record) {
		if err := log.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	must(Record{Kind: KindIntent, ID: "a", Action: "cordon", Target: "n1", Plan: json.RawMessage(`{"summary":"cordon n1"}`)})
	must(Record{Kind: KindResult, Intent: "a", Action: "cordon", Target: "n1", Outcome: OutcomeOK})
	// Written on another host: its process cannot be seen, so it is interrupted.
	must(Record{Kind: KindIntent, ID: "b", Action: "drain", Target: "n2", Host: "elsewhere", PID: 1})
	recs, err := log.Records(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Outcome != OutcomeInterrupted || recs[0].Target != "n2" || recs[1].Outcome != OutcomeOK || string(recs[1].Plan) != `{"summary":"cordon n1"}` {
		t.Fatalf("records: %+v", recs)
	}
	rep, _ := log.Verify(context.Background())
	if !rep.Intact || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0].What, "interrupted") {
		t.Fatalf("verify: %+v", rep)
	}
}

func TestALogBegunBeforeTheChainContinuesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	old := `{"time":"2025-01-01T00:00:00Z","who":"op","context":"c","action":"scale","target":"api","outcome":"ok","plan":null,"result":null}` + "\n"
	if err := os.WriteFile(path, []byte(old+old), 0o600); err != nil {
		t.Fatal(err)
	}
	log := NewLog(path)
	appendN(t, log, 2)
	rep, err := log.Verify(context.Background())
	if err != nil || !rep.Intact || rep.Legacy != 2 || rep.Records != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
	all, _ := log.Lines()
	if all[2].Seq != 3 {
		t.Fatalf("first chained seq %d, want 3 (its line)", all[2].Seq)
	}
}
