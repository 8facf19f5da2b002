package action

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// BackupTaker copies one store's data into dir (created by the caller, empty).
// Implemented by the postgres (pg_basebackup), clickhouse (FREEZE / BACKUP)
// and redis (BGSAVE + LASTSAVE) backends.
type BackupTaker interface {
	TakeBackup(ctx context.Context, dir string, progress func(string)) (BackupInfo, error)
}

// BackupInfo is what a store reports about a finished backup.
type BackupInfo struct {
	Method      string // pg_basebackup, freeze, backup, bgsave
	SizeBytes   int64  // bytes written under dir, or frozen on the server
	Location    string // where the data is (dir, or a server-side path)
	WALPosition string // PostgreSQL: start..end LSN
	Detail      string
	// What backup verify compares a restore with (see backup.Entry).
	RowCounts map[string]int64
	Checksums map[string]string
}

// BackupMethodDescriber says, before running, how a store will be backed up.
type BackupMethodDescriber interface {
	BackupMethod(ctx context.Context) (string, error)
}

// OffsetRecorder reads a consumer group's committed offsets ("topic/partition" -> offset),
// recorded with each backup set as the shared reference point.
type OffsetRecorder interface {
	CommittedOffsets(ctx context.Context, group string) (map[string]int64, error)
}

type backupAction struct{}

func (backupAction) params() []ParamSpec { return nil }

func (backupAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	stores, err := storeList(req.Target)
	if err != nil {
		return err
	}
	dir := backup.Dir(a.Config)
	p.Summary = fmt.Sprintf("back up %s into %s", joinSystems(stores), dir)
	for _, s := range stores {
		r, rerr := a.primaryWith(s, req.Params["region"])
		if rerr != nil {
			if errors.Is(rerr, ErrInvalid) {
				return rerr
			}
			p.Checks = append(p.Checks, Check{Name: string(s + " endpoint"), Status: CheckFail, Detail: rerr.Error()})
			continue
		}
		bt, cerr := capability[BackupTaker](a, s, r)
		if cerr != nil {
			p.Checks = append(p.Checks, Check{Name: string(s + " backup"), Status: CheckFail, Detail: cerr.Error()})
			continue
		}
		method := ""
		if d, ok := bt.(BackupMethodDescriber); ok {
			m, merr := d.BackupMethod(ctx)
			if merr != nil {
				p.Checks = append(p.Checks, Check{Name: string(s + " reachable"), Status: CheckFail, Detail: merr.Error()})
				continue
			}
			method = m
		}
		p.Checks = append(p.Checks, Check{Name: string(s + " reachable"), Status: CheckPass, Detail: fmt.Sprintf("region %s, method %s", r.Name, method)})
		p.Steps = append(p.Steps, fmt.Sprintf("%s: %s (region %s)", s, method, r.Name))
		if info := backup.HeldLock(dir, s); info != nil {
			p.Checks = append(p.Checks, Check{Name: string(s + " lock"), Status: CheckFail, Hard: true,
				Detail: fmt.Sprintf("a backup of %s is already running (set %s, pid %d, since %s); one backup at a time per store", s, info.SetID, info.PID, info.Since.Format(time.RFC3339))})
		} else {
			p.Checks = append(p.Checks, Check{Name: string(s + " lock"), Status: CheckPass, Detail: string("no backup of " + s + " running")})
		}
	}
	if r, err := a.primaryWith(state.SystemKafka, ""); err == nil {
		p.Steps = append([]string{fmt.Sprintf("record consumer-group offsets of %s (region %s) as the set's reference point", groupOf(r), r.Name)}, p.Steps...)
	} else {
		p.Warnings = append(p.Warnings, "no Kafka endpoint: consumer-group offsets will not be recorded with this backup set")
	}
	if free, err := freeBytes(dir); err == nil {
		p.Checks = append(p.Checks, Check{Name: "backup dir space", Status: CheckPass, Detail: fmt.Sprintf("%s free at %s", present.Bytes(free), dir)})
	}
	p.Effects = append(p.Effects, fmt.Sprintf("a new backup set in %s, listed in %s", dir, filepath.Join(dir, backup.CatalogFile)))
	return nil
}

func groupOf(r config.RegionConfig) string {
	if r.Kafka != nil && r.Kafka.Group != "" {
		return r.Kafka.Group
	}
	return "wotr-consumer-group"
}

func freeBytes(dir string) (int64, error) {
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(d, &st); err == nil {
			return int64(st.Bavail) * int64(st.Bsize), nil
		}
		if d == filepath.Dir(d) {
			return 0, errors.New("no existing parent")
		}
	}
}

func (backupAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	stores, err := storeList(p.Request.Target)
	if err != nil {
		return err
	}
	dir := backup.Dir(a.Config)
	if p.Request.DryRun {
		res.Summary = "dry run: would back up " + joinSystems(stores) + " into " + dir
		return nil
	}
	setID := backup.NewSetID(a.now())
	// Take every lock first: a busy store refuses the whole request before anything runs.
	var locks []*backup.Lock
	defer func() {
		for _, l := range locks {
			_ = l.Release()
		}
	}()
	for _, s := range stores {
		l, err := backup.AcquireLock(dir, s, setID)
		if errors.Is(err, backup.ErrLocked) {
			err = fmt.Errorf("%w: %w", ErrRefused, err)
		}
		if err != nil {
			return err
		}
		locks = append(locks, l)
	}
	total := len(stores) + 1
	var offsets map[string]int64
	if r, err := a.primaryWith(state.SystemKafka, ""); err == nil {
		progress(Progress{Step: "kafka offsets", Detail: "recording " + groupOf(r), Total: total})
		rec, cerr := capability[OffsetRecorder](a, state.SystemKafka, r)
		if cerr == nil {
			offsets, cerr = rec.CommittedOffsets(ctx, groupOf(r))
		}
		if cerr != nil {
			res.Verified = append(res.Verified, Check{Name: "kafka offsets", Status: CheckWarn, Detail: cerr.Error()})
		} else {
			res.Verified = append(res.Verified, Check{Name: "kafka offsets", Status: CheckPass, Detail: fmt.Sprintf("%d partitions of %s recorded", len(offsets), groupOf(r))})
		}
	}
	var failed []string
	var summary []string
	for i, s := range stores {
		r, err := a.primaryWith(s, p.Request.Params["region"])
		if err != nil {
			return err
		}
		bt, err := capability[BackupTaker](a, s, r)
		if err != nil {
			return err
		}
		loc := filepath.Join(dir, setID, string(s))
		if err := os.MkdirAll(loc, 0o700); err != nil {
			return err
		}
		entry := backup.Entry{Backup: state.Backup{Store: s, ID: setID, StartedAt: a.now().UTC(), State: "running", Location: loc, KafkaOffsets: offsets},
			Region: r.Name, Context: a.Config.Name}
		if err := backup.PutEntry(dir, entry); err != nil {
			return fmt.Errorf("backup catalog: %w", err)
		}
		progress(Progress{Step: string(s), Detail: "started", Done: i + 1, Total: total})
		info, berr := bt.TakeBackup(ctx, loc, func(msg string) {
			progress(Progress{Step: string(s), Detail: msg, Done: i + 1, Total: total})
		})
		entry.Finished = a.now().UTC()
		entry.Method = info.Method
		entry.Detail = info.Detail
		entry.WALPosition = info.WALPosition
		entry.RowCounts, entry.Checksums = info.RowCounts, info.Checksums
		if info.Location != "" {
			entry.Location = info.Location
		}
		entry.SizeBytes = info.SizeBytes
		if entry.SizeBytes == 0 {
			entry.SizeBytes = backup.DirSize(loc)
		}
		if berr != nil {
			entry.State = "failed"
			entry.Error = berr.Error()
			failed = append(failed, string(s))
			res.Verified = append(res.Verified, Check{Name: string(s + " backup"), Status: CheckFail, Detail: berr.Error()})
		} else {
			entry.State = "done"
			detail := fmt.Sprintf("%s, %s at %s", info.Method, present.Bytes(entry.SizeBytes), entry.Location)
			if info.WALPosition != "" {
				detail += ", WAL " + info.WALPosition
			}
			st := CheckPass
			if entry.SizeBytes <= 0 {
				st, detail = CheckFail, "backup is empty: "+detail
			}
			res.Verified = append(res.Verified, Check{Name: string(s + " backup"), Status: st, Detail: detail})
			summary = append(summary, fmt.Sprintf("%s %s", s, present.Bytes(entry.SizeBytes)))
		}
		if err := backup.PutEntry(dir, entry); err != nil {
			return fmt.Errorf("backup catalog: %w", err)
		}
		progress(Progress{Step: string(s), Detail: entry.State, Done: i + 2, Total: total})
	}
	// The catalog must list what was just taken: that is what the collector and the DR gate read.
	entries, err := backup.ListEntries(dir)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, e := range entries {
		if e.ID == setID {
			listed[string(e.Store)] = true
		}
	}
	var missing []string
	for _, s := range stores {
		if !listed[string(s)] {
			missing = append(missing, string(s))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		res.Verified = append(res.Verified, Check{Name: "catalog", Status: CheckFail, Detail: "not listed: " + strings.Join(missing, ", ")})
	} else {
		res.Verified = append(res.Verified, Check{Name: "catalog", Status: CheckPass, Detail: fmt.Sprintf("set %s listed in %s", setID, filepath.Join(dir, backup.CatalogFile))})
	}
	res.Summary = fmt.Sprintf("backup set %s: %s", setID, strings.Join(summary, ", "))
	if len(failed) > 0 {
		res.Summary += "; failed: " + strings.Join(failed, ", ")
	}
	return nil
}

// storeList resolves the backup target: one store, or all of them.
func storeList(target string) ([]state.System, error) {
	if target == "all" {
		return backup.Stores, nil
	}
	names := make([]string, len(backup.Stores))
	for i, s := range backup.Stores {
		if string(s) == target {
			return []state.System{s}, nil
		}
		names[i] = string(s)
	}
	return nil, Invalidf("backup target %q is not one of %s, all", target, strings.Join(names, ", "))
}

func joinSystems(ss []state.System) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
