package ops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuditAppendIsOrderedAndSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	log := NewAuditLog(path)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rec := AuditRecord{Time: time.Unix(int64(i), 0), Who: "op", Context: "c", Action: KindScale, Outcome: OutcomeOK,
				Plan: &Plan{Summary: strings.Repeat("x", 5000)}}
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

func TestBackupLockRefusesASecondHolderAndClearsAStaleOne(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireBackupLock(dir, "postgres", "set-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireBackupLock(dir, "postgres", "set-2"); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second lock: %v", err)
	}
	if _, err := AcquireBackupLock(dir, "redis", "set-2"); err != nil {
		t.Fatalf("another store's lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	// A lock whose holder died is stale.
	os.WriteFile(lockPath(dir, "clickhouse"), []byte(`{"pid":999999999,"setId":"dead"}`), 0o600)
	if HeldBackupLock(dir, "clickhouse") != nil {
		t.Error("stale lock reported as held")
	}
	if _, err := AcquireBackupLock(dir, "clickhouse", "set-3"); err != nil {
		t.Fatalf("stale lock not cleared: %v", err)
	}
}

func TestCatalogListsNewestFirst(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range []string{"postgres", "redis", "postgres"} {
		e := BackupEntry{Backup: Backup{Store: s, ID: newBackupSetID(t0.Add(time.Duration(i) * time.Hour)), StartedAt: t0.Add(time.Duration(i) * time.Hour), State: "done", Finished: t0.Add(time.Duration(i) * time.Hour)}}
		if err := putBackupEntry(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := ListBackups(dir)
	if err != nil || len(bs) != 3 || !bs[0].StartedAt.After(bs[1].StartedAt) {
		t.Fatalf("list: %v %+v", err, bs)
	}
	last, _ := LastBackup(dir, "postgres")
	if last == nil || !last.StartedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("last postgres backup %+v", last)
	}
	if bs, err := ListBackups(filepath.Join(dir, "none")); err != nil || bs != nil {
		t.Fatalf("missing catalog: %v %v", bs, err)
	}
}

func TestParseLSN(t *testing.T) {
	a, err := ParseLSN("1/0")
	if err != nil || a != 1<<32 {
		t.Fatalf("1/0 = %d %v", a, err)
	}
	if d, _ := lsnDiff("0/3029000", "0/3028000"); d != 4096 {
		t.Fatalf("diff %d", d)
	}
	if _, err := ParseLSN("nope"); err == nil {
		t.Fatal("bad LSN accepted")
	}
}

func TestForceNeedsAReasonAndHardChecksStayBlocked(t *testing.T) {
	a := &Actions{Config: ContextConfig{Name: "c"}, Audit: NewAuditLog(filepath.Join(t.TempDir(), "a.jsonl"))}
	if _, err := a.Plan(context.Background(), ActionRequest{Kind: KindScale, Target: "api", Force: true}); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("force without reason: %v", err)
	}
	checks := []Check{{Name: "x", Status: CheckFail}}
	if !blocked(checks, false) || blocked(checks, true) {
		t.Error("a soft failure blocks without --force only")
	}
	checks[0].Hard = true
	if !blocked(checks, true) {
		t.Error("a hard failure blocks even with --force")
	}
}
