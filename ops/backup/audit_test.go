package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestBackupLockRefusesASecondHolderAndClearsAStaleOne(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir, "postgres", "set-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLock(dir, "postgres", "set-2"); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second lock: %v", err)
	}
	if _, err := AcquireLock(dir, "redis", "set-2"); err != nil {
		t.Fatalf("another store's lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	// A lock whose holder died is stale.
	os.WriteFile(lockPath(dir, "clickhouse"), []byte(`{"pid":999999999,"setId":"dead"}`), 0o600)
	if HeldLock(dir, "clickhouse") != nil {
		t.Error("stale lock reported as held")
	}
	if _, err := AcquireLock(dir, "clickhouse", "set-3"); err != nil {
		t.Fatalf("stale lock not cleared: %v", err)
	}
}

func TestCatalogListsNewestFirst(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range []state.System{state.SystemPostgres, state.SystemRedis, state.SystemPostgres} {
		e := Entry{Backup: state.Backup{Store: s, ID: NewSetID(t0.Add(time.Duration(i) * time.Hour)), StartedAt: t0.Add(time.Duration(i) * time.Hour), State: "done", Finished: t0.Add(time.Duration(i) * time.Hour)}}
		if err := PutEntry(dir, e); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := List(dir)
	if err != nil || len(bs) != 3 || !bs[0].StartedAt.After(bs[1].StartedAt) {
		t.Fatalf("list: %v %+v", err, bs)
	}
	last, _ := Last(dir, "postgres")
	if last == nil || !last.StartedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("last postgres backup %+v", last)
	}
	if bs, err := List(filepath.Join(dir, "none")); err != nil || bs != nil {
		t.Fatalf("missing catalog: %v %v", bs, err)
	}
}
