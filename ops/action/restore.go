package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// KindRestore replaces a store's data with a backup's (PostgreSQL: to a point in time).
const KindRestore Kind = "restore"

// Parameters of restore.
const (
	ParamFrom   = "from"
	ParamToTime = "to-time"
	ParamToLSN  = "to-lsn"
)

// StoreRestore is what to restore: a backup, a recovery target (PostgreSQL
// only; zero for the end of the backup) and the live data dir it replaces.
type StoreRestore struct {
	Entry   backup.Entry
	ToLSN   string
	ToTime  time.Time
	DataDir string
}

// RestoreFacts are what a plan shows about a restore: what the server holds
// now and what the restore gives up.
type RestoreFacts struct {
	CurrentLSN string
	// LostBytes of WAL written after the target; -1 when only the restore can tell (a time target).
	LostBytes int64
	Notes     []string
}

// StoreRestorer restores a backup into a new data dir beside the live one,
// without touching the live server until the prepared copy is swapped in.
type StoreRestorer interface {
	RestoreFacts(ctx context.Context, req StoreRestore) (RestoreFacts, error)
	PrepareRestore(ctx context.Context, req StoreRestore, progress func(string)) (PreparedRestore, error)
}

// PreparedRestore is a restored copy, checked and ready to replace the live data.
type PreparedRestore interface {
	Checks() []Check
	Detail() string
	// SwapIn stops the live server, moves its data dir aside (kept), moves
	// the restored one in and starts the server on it.
	SwapIn(ctx context.Context, progress func(string)) (SwapReport, error)
	// Discard removes the prepared copy (when it is not swapped in).
	Discard() error
}

// SwapReport says where the replaced data went and how the server came back.
type SwapReport struct {
	OldDataDir string
	Detail     string
	Checks     []Check
}

type restoreAction struct{}

func (restoreAction) params() []ParamSpec {
	return []ParamSpec{
		{Name: ParamFrom, Type: ParamString, Help: "backup set ID to restore from (see wotr-tui backups); required"},
		{Name: ParamToTime, Type: ParamString, Help: "PostgreSQL only: recover to this time (RFC 3339), between the backup and now, from the WAL archive"},
		{Name: ParamToLSN, Type: ParamString, Help: "PostgreSQL only: recover to this WAL position (e.g. 0/3000060), at or after the backup's end"},
	}
}

// restoreRequest checks the request against the catalog and the clock.
func restoreRequest(a *Service, req Request) (StoreRestore, error) {
	var sr StoreRestore
	store, err := storeList(req.Target)
	if err != nil || len(store) != 1 {
		return sr, Invalidf("restore target %q: must be one of postgres, clickhouse, redis (or restore set ID)", req.Target)
	}
	from := req.Params[ParamFrom]
	if from == "" {
		return sr, Invalidf("restore %s needs --from ID: the backup set to restore (see wotr-tui backups)", req.Target)
	}
	dir := backup.Dir(a.Config)
	set, err := backup.Set(dir, from)
	if err != nil {
		return sr, Invalidf("--from: %v", err)
	}
	found := false
	for _, e := range set {
		if e.Store == store[0] {
			sr.Entry, found = e, true
		}
	}
	if !found {
		return sr, Invalidf("--from %s: the set has no %s backup (it holds %s)", from, req.Target, entryStores(set))
	}
	if sr.Entry.State != "done" {
		return sr, Invalidf("--from %s: the %s backup is %s, not done", from, req.Target, sr.Entry.State)
	}
	toTime, toLSN := req.Params[ParamToTime], req.Params[ParamToLSN]
	if (toTime != "" || toLSN != "") && store[0] != state.SystemPostgres {
		return sr, Invalidf("--to-time and --to-lsn: only PostgreSQL recovers to a point in time; %s restores the backup as taken", req.Target)
	}
	if toTime != "" && toLSN != "" {
		return sr, Invalidf("--to-time %s and --to-lsn %s: give one recovery target, not both", toTime, toLSN)
	}
	if toLSN != "" {
		n, err := ParseLSN(toLSN)
		if err != nil {
			return sr, Invalidf("--to-lsn %q: must be a WAL position like 0/3000060 (two hex numbers): %v", toLSN, err)
		}
		end, err := BackupEndLSN(sr.Entry.WALPosition)
		if err != nil {
			return sr, Invalidf("--from %s: %v", from, err)
		}
		if e, _ := ParseLSN(end); n < e {
			return sr, Invalidf("--to-lsn %s is before the end of backup %s (%s): a restore replays forward from its base backup; pick an older backup", toLSN, from, end)
		}
		sr.ToLSN = toLSN
	}
	if toTime != "" {
		t, err := time.Parse(time.RFC3339Nano, toTime)
		if err != nil {
			return sr, Invalidf("--to-time %q: must be an RFC 3339 time such as 2026-12-01T23:40:00Z", toTime)
		}
		if now := a.now(); t.After(now) {
			return sr, Invalidf("--to-time %s is after now (%s): no WAL exists for the future", toTime, now.UTC().Format(time.RFC3339))
		}
		if oldest := oldestBase(dir); !oldest.IsZero() && t.Before(oldest) {
			return sr, Invalidf("--to-time %s is before the oldest base backup (finished %s): nothing to recover from", toTime, oldest.UTC().Format(time.RFC3339))
		}
		if t.Before(sr.Entry.Finished) {
			return sr, Invalidf("--to-time %s is before backup %s finished (%s): a restore replays forward from its base backup; pick an older backup", toTime, from, sr.Entry.Finished.UTC().Format(time.RFC3339))
		}
		sr.ToTime = t
	}
	return sr, nil
}

// oldestBase is when the oldest finished PostgreSQL backup finished.
func oldestBase(dir string) time.Time {
	entries, _ := backup.ListEntries(dir)
	var t time.Time
	for _, e := range entries {
		if e.Store == state.SystemPostgres && e.State == "done" && (t.IsZero() || e.Finished.Before(t)) {
			t = e.Finished
		}
	}
	return t
}

func (sr StoreRestore) targetText() string {
	switch {
	case sr.ToLSN != "":
		return "WAL position " + sr.ToLSN
	case !sr.ToTime.IsZero():
		return sr.ToTime.UTC().Format(time.RFC3339Nano)
	case sr.Entry.WALPosition != "":
		return "the end of the backup (" + sr.Entry.WALPosition + ")"
	}
	return "the backup as taken (" + sr.Entry.StartedAt.UTC().Format(time.RFC3339) + ")"
}

func (restoreAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	sr, err := restoreRequest(a, req)
	if err != nil {
		return err
	}
	r, err := a.primaryWith(sr.Entry.Store, req.Params[ParamRegion])
	if err != nil {
		return err
	}
	p.Summary = fmt.Sprintf("restore %s in region %s from backup %s to %s", sr.Entry.Store, r.Name, sr.Entry.ID, sr.targetText())
	p.Destructive = true
	p.ConfirmPhrase = string(sr.Entry.Store) + "@" + r.Name
	sr.DataDir = dataDirOf(r, sr.Entry.Store)
	rs, err := capability[StoreRestorer](a, sr.Entry.Store, r)
	if err != nil {
		p.Checks = append(p.Checks, Check{Name: "restorer", Status: CheckFail, Detail: err.Error()})
		return nil
	}
	facts, err := rs.RestoreFacts(ctx, sr)
	if err != nil {
		p.Checks = append(p.Checks, Check{Name: string(sr.Entry.Store) + " restorable", Status: CheckFail, Detail: err.Error()})
		return nil
	}
	p.Checks = append(p.Checks, Check{Name: string(sr.Entry.Store) + " restorable", Status: CheckPass, Detail: strings.Join(facts.Notes, "; ")})
	p.Steps = []string{
		fmt.Sprintf("restore backup %s (%s, %s) into a new data dir beside the live one and recover it to %s", sr.Entry.ID, sr.Entry.Method, present.Bytes(sr.Entry.SizeBytes), sr.targetText()),
		"check the restored copy (it answers, its counts); stop here, the live data untouched, if it fails",
		"stop the live server, move its data dir aside (kept, path printed), move the restored one in, start the server",
		"verify the server answers on the restored data",
	}
	if sr.Entry.Store == state.SystemRedis {
		// Redis is restored in place through its protocol, not by a data dir swap.
		p.Steps[0] = fmt.Sprintf("load backup %s (%s) into a scratch redis-server", sr.Entry.ID, present.Bytes(sr.Entry.SizeBytes))
		p.Steps[2] = "save the live keys to an RDB beside the backup (kept, path printed), FLUSHALL the live server, copy every key with its TTL from the checked copy"
		p.Steps[3] = "verify DBSIZE equals the backup's key count"
	}
	lost := fmt.Sprintf("everything written to %s after %s is lost from the live store", sr.Entry.Store, sr.targetText())
	if facts.CurrentLSN != "" {
		lost += " (the server is at WAL " + facts.CurrentLSN
		if facts.LostBytes >= 0 {
			lost += fmt.Sprintf(", %s of WAL after the target", present.Bytes(facts.LostBytes))
		}
		lost += ")"
	}
	since := sr.Entry.Finished
	if !sr.ToTime.IsZero() {
		since = sr.ToTime
	}
	lost += fmt.Sprintf("; time span lost: %s", present.Duration(a.now().Sub(since)))
	p.Warnings = append(p.Warnings, lost)
	p.Effects = append(p.Effects, "the old data dir is kept beside the new one until the operator removes it")
	return nil
}

// dataDirOf is the live data dir the context names for the store, if any.
func dataDirOf(r config.RegionConfig, s state.System) string {
	if s == state.SystemPostgres && r.Postgres != nil {
		return r.Postgres.DataDir
	}
	return ""
}

func (restoreAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	sr, err := restoreRequest(a, p.Request)
	if err != nil {
		return err
	}
	if p.Request.DryRun {
		res.Summary = "dry run: would " + p.Summary
		return nil
	}
	r, err := a.primaryWith(sr.Entry.Store, p.Request.Params[ParamRegion])
	if err != nil {
		return err
	}
	sr.DataDir = dataDirOf(r, sr.Entry.Store)
	rs, err := capability[StoreRestorer](a, sr.Entry.Store, r)
	if err != nil {
		return err
	}
	res.Measurements = map[string]float64{}
	var sp storeRestorePhases
	start := a.now()
	err = runPhases(ctx, sp.phases(rs, sr, res, ""), res, progress)
	res.Measurements["restore seconds"] = a.now().Sub(start).Seconds()
	if err != nil {
		return sp.fail(err)
	}
	swap := sp.swap
	res.Summary = fmt.Sprintf("%s restored from %s to %s; %s; the replaced data dir is kept at %s (remove it when done)",
		sr.Entry.Store, sr.Entry.ID, sr.targetText(), swap.Detail, swap.OldDataDir)
	return nil
}

// storeRestorePhases restores one store: a prepared copy, checked, swapped in.
// It holds what the phases made, for the summary and for cleaning up.
type storeRestorePhases struct {
	prepared PreparedRestore
	swap     SwapReport
}

// phases are the restore's steps; prefix names them when several stores restore in one action.
func (sp *storeRestorePhases) phases(rs StoreRestorer, sr StoreRestore, res *Result, prefix string) []phase {
	return []phase{
		{name: prefix + "restore copy", detail: "restoring backup " + sr.Entry.ID + " to " + sr.targetText(), run: func(ctx context.Context, detail func(string)) error {
			var err error
			sp.prepared, err = rs.PrepareRestore(ctx, sr, detail)
			return err
		}},
		{name: prefix + "check copy", detail: "checking the restored copy", run: func(ctx context.Context, detail func(string)) error {
			var bad []string
			for _, c := range sp.prepared.Checks() {
				c.Name = prefix + "restored copy: " + c.Name
				res.Verified = append(res.Verified, c)
				if c.Status == CheckFail {
					bad = append(bad, c.Name+": "+c.Detail)
				}
			}
			if len(bad) > 0 {
				_ = sp.prepared.Discard()
				return fmt.Errorf("the restored %s copy failed its checks, the live data is untouched: %s", sr.Entry.Store, strings.Join(bad, "; "))
			}
			detail(sp.prepared.Detail())
			return nil
		}},
		{name: prefix + "swap in", detail: "stopping the server and swapping the data dirs", run: func(ctx context.Context, detail func(string)) error {
			var err error
			sp.swap, err = sp.prepared.SwapIn(ctx, detail)
			if err == nil {
				res.Verified = append(res.Verified, sp.swap.Checks...)
			}
			return err
		}},
	}
}

// fail discards a copy that was never swapped in and names the kept data dir of one that was.
func (sp *storeRestorePhases) fail(err error) error {
	if sp.prepared != nil && sp.swap.OldDataDir == "" {
		_ = sp.prepared.Discard()
	}
	if sp.swap.OldDataDir != "" {
		err = errors.Join(err, fmt.Errorf("the replaced data dir is kept at %s", sp.swap.OldDataDir))
	}
	return err
}
