package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

const CatalogFile = "catalog.json"

// Stores are the stores the backup action knows, in the order "all" runs them.
var Stores = state.Stores

// catalog is the file's shape; entries are oldest first.
type catalog struct {
	Version int     `json:"version"`
	Backups []Entry `json:"backups"`
}

// Entry is a catalog row: a Backup plus how it was taken.
type Entry struct {
	state.Backup
	Method  string `json:"method,omitempty"` // pg_basebackup, freeze, backup, bgsave
	Region  string `json:"region,omitempty"`
	Context string `json:"context,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// RowCounts and Checksums are what the store held when backed up
	// (PostgreSQL: rows per table; ClickHouse: rows and part checksums per
	// partition; Redis: keys per db); backup verify compares a restore with them.
	RowCounts map[string]int64  `json:"rowCounts,omitempty"`
	Checksums map[string]string `json:"checksums,omitempty"`
}

// WALArchiveDir is where PostgreSQL archives its WAL beside the backups in
// dir (archive_command), for point-in-time recovery.
func WALArchiveDir(dir string) string { return filepath.Join(dir, "wal") }

// Set returns the entries of backup set id, or an error naming the id and
// the sets the catalog has.
func Set(dir, id string) ([]Entry, error) {
	entries, err := ListEntries(dir)
	if err != nil {
		return nil, err
	}
	var out, seen []Entry
	ids := map[string]bool{}
	for _, e := range entries {
		if e.ID == id {
			out = append(out, e)
		}
		if !ids[e.ID] {
			ids[e.ID] = true
			seen = append(seen, e)
		}
	}
	if len(out) == 0 {
		var names []string
		for i, e := range seen {
			if i == 5 {
				names = append(names, "...")
				break
			}
			names = append(names, e.ID)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("backup set %q is not in the catalog of %s: the catalog is empty", id, dir)
		}
		return nil, fmt.Errorf("backup set %q is not in the catalog of %s (newest: %s)", id, dir, strings.Join(names, ", "))
	}
	return out, nil
}

// Latest is the id of the newest set, for "backup verify latest".
func Latest(dir string) (string, error) {
	entries, err := ListEntries(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("the catalog of %s is empty: take a backup first", dir)
	}
	return entries[0].ID, nil
}

// SetVerification records the result of verifying one store of set id.
func SetVerification(dir, id string, store state.System, v state.BackupVerification) error {
	found := false
	err := updateCatalog(dir, func(c *catalog) {
		for i := range c.Backups {
			if c.Backups[i].ID == id && c.Backups[i].Store == store {
				c.Backups[i].Verification = &v
				found = true
			}
		}
	})
	if err == nil && !found {
		err = fmt.Errorf("backup set %q has no %s backup in %s", id, store, dir)
	}
	return err
}

// Dir is the context's backup-dir, or $XDG_STATE_HOME/wotr/backups/<context>.
func Dir(cfg config.ContextConfig) string {
	if cfg.BackupDir != "" {
		return cfg.BackupDir
	}
	name := cfg.Name
	if name == "" {
		name = "default"
	}
	return filepath.Join(config.StateHome(), "wotr", "backups", name)
}

// List reads the catalog in dir, newest first. A dir without a catalog
// has no backups (nil, nil).
func List(dir string) ([]state.Backup, error) {
	entries, err := ListEntries(dir)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, nil
	}
	out := make([]state.Backup, len(entries))
	for i, e := range entries {
		out[i] = e.Backup
	}
	return out, nil
}

// ListEntries is ListBackups with the method and region of each entry.
func ListEntries(dir string) ([]Entry, error) {
	c, err := readCatalog(dir)
	if err != nil {
		return nil, err
	}
	out := append([]Entry(nil), c.Backups...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out, nil
}

// Last returns the newest finished backup of store, or nil.
func Last(dir string, store state.System) (*state.Backup, error) {
	bs, err := List(dir)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.Store == store && b.State == "done" {
			b := b
			return &b, nil
		}
	}
	return nil, nil
}

func readCatalog(dir string) (*catalog, error) {
	data, err := os.ReadFile(filepath.Join(dir, CatalogFile))
	if errors.Is(err, os.ErrNotExist) {
		return &catalog{Version: 1}, nil
	}
	if err != nil {
		return nil, err
	}
	var c catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("backup catalog %s: %w", filepath.Join(dir, CatalogFile), err)
	}
	return &c, nil
}

// updateCatalog applies fn to the catalog under an exclusive flock and
// replaces the file atomically (write, fsync, rename).
func updateCatalog(dir string, fn func(*catalog)) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, CatalogFile+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck
	c, err := readCatalog(dir)
	if err != nil {
		return err
	}
	fn(c)
	c.Version = 1
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return config.WritePrivate(filepath.Join(dir, CatalogFile), append(data, '\n'))
}

// PutEntry inserts or replaces the entry with the same ID and store.
func PutEntry(dir string, e Entry) error {
	return updateCatalog(dir, func(c *catalog) {
		for i := range c.Backups {
			if c.Backups[i].ID == e.ID && c.Backups[i].Store == e.Store {
				c.Backups[i] = e
				return
			}
		}
		c.Backups = append(c.Backups, e)
	})
}

// ErrLocked: another live process holds the store's backup lock.
var ErrLocked = errors.New("backup lock held")

// Lock is held while one store is being backed up. A second request
// for the same store is refused, not queued.
type Lock struct {
	path string
}

// LockInfo says who holds a lock.
type LockInfo struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
	SetID string    `json:"setId"`
}

func lockPath(dir string, store state.System) string {
	return filepath.Join(dir, "locks", string(store)+".lock")
}

// HeldLock reports the holder of store's lock, or nil when free. A lock
// left by a process that no longer exists is stale and reported free.
func HeldLock(dir string, store state.System) *LockInfo {
	info, err := readLock(lockPath(dir, store))
	if err != nil || info == nil {
		return nil
	}
	if !processAlive(info.PID) {
		return nil
	}
	return info
}

func readLock(path string) (*LockInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		// A lock being written right now; treat as held by an unknown live process.
		return &LockInfo{PID: os.Getpid()}, nil
	}
	return &info, nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// AcquireLock takes store's lock or returns ErrRefused naming the holder.
func AcquireLock(dir string, store state.System, setID string) (*Lock, error) {
	path := lockPath(dir, store)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			data, _ := json.Marshal(LockInfo{PID: os.Getpid(), Since: time.Now().UTC(), SetID: setID})
			_, werr := f.Write(data)
			cerr := f.Close()
			if werr != nil || cerr != nil {
				os.Remove(path)
				return nil, errors.Join(werr, cerr)
			}
			return &Lock{path: path}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		info, rerr := readLock(path)
		if rerr == nil && info != nil && processAlive(info.PID) {
			return nil, fmt.Errorf("%w: a backup of %s is already running (set %s, pid %d, since %s); one backup at a time per store",
				ErrLocked, store, info.SetID, info.PID, info.Since.Format(time.RFC3339))
		}
		// Stale: the holder died. Remove and retry once.
		os.Remove(path)
	}
	return nil, fmt.Errorf("%w: could not take the %s backup lock at %s", ErrLocked, store, path)
}

// Release frees the lock.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	return os.Remove(l.path)
}

// DirSize sums the sizes of regular files under path.
func DirSize(path string) int64 {
	var n int64
	_ = filepath.Walk(path, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// NewSetID is sortable and unique per process and millisecond.
func NewSetID(t time.Time) string {
	return t.UTC().Format("20060102T150405.000Z") + "-" + strconv.Itoa(os.Getpid()%100000)
}
