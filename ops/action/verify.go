package action

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/backup"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
)

// KindBackupVerify restores a backup set into scratch servers and checks it.
const KindBackupVerify Kind = "backup-verify"

// BackupVerifier restores one store's backup into a scratch server on a free
// port, checks it against what the backup recorded, and removes the server.
// The live server is not touched.
type BackupVerifier interface {
	VerifyBackup(ctx context.Context, b backup.Entry, progress func(string)) (VerifyReport, error)
}

// VerifyReport is one store's restore test.
type VerifyReport struct {
	Checks []Check
	// RestoreTime runs from the first byte copied to the restored data answering.
	RestoreTime time.Duration
	Detail      string
}

// OK is true when no check failed.
func (r VerifyReport) OK() bool {
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			return false
		}
	}
	return len(r.Checks) > 0
}

const paramStore = "store"

type verifyAction struct{}

func (verifyAction) params() []ParamSpec {
	return []ParamSpec{{Name: paramStore, Type: ParamString, Default: "all", Help: "store to verify: postgres, clickhouse, redis or all (those in the set)"}}
}

// verifyEntries resolves the target (a set id or "latest") and the store filter.
func verifyEntries(a *Service, req Request) (string, []backup.Entry, error) {
	dir := backup.Dir(a.Config)
	id := req.Target
	if id == "latest" {
		latest, err := backup.Latest(dir)
		if err != nil {
			return "", nil, Invalidf("backup set %q: %v", id, err)
		}
		id = latest
	}
	set, err := backup.Set(dir, id)
	if err != nil {
		return "", nil, Invalidf("%v", err)
	}
	store := req.Params[paramStore]
	if store == "" || store == "all" {
		return id, set, nil
	}
	var have []string
	for _, e := range set {
		if string(e.Store) == store {
			return id, []backup.Entry{e}, nil
		}
		have = append(have, string(e.Store))
	}
	return "", nil, Invalidf("store %q: backup set %s holds %s", store, id, strings.Join(have, ", "))
}

func (verifyAction) plan(ctx context.Context, a *Service, req Request, p *Plan) error {
	id, entries, err := verifyEntries(a, req)
	if err != nil {
		return err
	}
	p.Summary = fmt.Sprintf("verify backup set %s by restoring %s into scratch servers", id, entryStores(entries))
	for _, e := range entries {
		name := string(e.Store)
		if e.State != "done" {
			p.Checks = append(p.Checks, Check{Name: name + " backup", Status: CheckFail, Detail: fmt.Sprintf("the %s backup of set %s is %s, not done: nothing to restore", e.Store, id, e.State)})
			continue
		}
		p.Checks = append(p.Checks, Check{Name: name + " backup", Status: CheckPass, Detail: fmt.Sprintf("%s, %s at %s", e.Method, present.Bytes(e.SizeBytes), e.Location)})
		r, rerr := a.primaryWith(e.Store, e.Region)
		if rerr == nil {
			_, rerr = capability[BackupVerifier](a, e.Store, r)
		}
		if rerr != nil {
			p.Checks = append(p.Checks, Check{Name: name + " verifier", Status: CheckFail, Detail: rerr.Error()})
			continue
		}
		p.Steps = append(p.Steps, fmt.Sprintf("%s: restore %s into a scratch server on a free port, compare with what the backup recorded, remove it", e.Store, e.Method))
	}
	p.Effects = append(p.Effects, "the live stores are not touched; the result and the restore time of each store are recorded in the catalog")
	return nil
}

func (verifyAction) execute(ctx context.Context, a *Service, p *Plan, res *Result, progress func(Progress)) error {
	id, entries, err := verifyEntries(a, p.Request)
	if err != nil {
		return err
	}
	if p.Request.DryRun {
		res.Summary = fmt.Sprintf("dry run: would verify %s of set %s in scratch servers", entryStores(entries), id)
		return nil
	}
	dir := backup.Dir(a.Config)
	res.Measurements = map[string]float64{}
	var summary, failed []string
	for i, e := range entries {
		name := string(e.Store)
		progress(Progress{Step: name, Detail: "restoring into a scratch server", Done: i, Total: len(entries)})
		r, err := a.primaryWith(e.Store, e.Region)
		if err != nil {
			return err
		}
		v, err := capability[BackupVerifier](a, e.Store, r)
		if err != nil {
			return err
		}
		rep, verr := v.VerifyBackup(ctx, e, func(msg string) {
			progress(Progress{Step: name, Detail: msg, Done: i, Total: len(entries)})
		})
		if verr != nil {
			rep.Checks = append(rep.Checks, Check{Name: name + " restore", Status: CheckFail, Detail: verr.Error()})
		}
		ok := rep.OK()
		for _, c := range rep.Checks {
			if !strings.HasPrefix(c.Name, name) {
				c.Name = name + " " + c.Name
			}
			res.Verified = append(res.Verified, c)
		}
		detail := rep.Detail
		if !ok {
			var bad []string
			for _, c := range rep.Checks {
				if c.Status == CheckFail {
					bad = append(bad, c.Name+": "+c.Detail)
				}
			}
			detail = strings.Join(bad, "; ")
			failed = append(failed, name)
		}
		secs := rep.RestoreTime.Seconds()
		res.Measurements[name+" restore seconds"] = secs
		if err := backup.SetVerification(dir, id, e.Store, state.BackupVerification{At: a.now().UTC(), OK: ok, Detail: detail, RestoreSeconds: secs}); err != nil {
			return fmt.Errorf("backup catalog: %w", err)
		}
		verdict := "pass"
		if !ok {
			verdict = "FAIL"
		}
		summary = append(summary, fmt.Sprintf("%s %s (restore %.1fs)", name, verdict, secs))
		progress(Progress{Step: name, Detail: verdict, Done: i + 1, Total: len(entries)})
	}
	// A failed store fails the result through its checks in res.Verified.
	res.Summary = fmt.Sprintf("backup set %s: %s", id, strings.Join(summary, ", "))
	if len(failed) > 0 {
		res.Summary += "; failed: " + strings.Join(failed, ", ")
	}
	return nil
}

func entryStores(es []backup.Entry) string {
	ss := make([]state.System, len(es))
	for i, e := range es {
		ss[i] = e.Store
	}
	return joinSystems(ss)
}

// BackupEndLSN is the end of a PostgreSQL backup's WAL range ("start..end").
func BackupEndLSN(walPosition string) (string, error) {
	_, end, ok := strings.Cut(walPosition, "..")
	if !ok {
		return "", fmt.Errorf("WAL position %q has no end LSN (want start..end)", walPosition)
	}
	if _, err := ParseLSN(end); err != nil {
		return "", err
	}
	return end, nil
}

// CompareCounts checks restored counts (rows per table or partition, keys per
// db) against what the backup recorded, name by name.
func CompareCounts(what string, recorded, restored map[string]int64) Check {
	if len(recorded) == 0 {
		return Check{Name: what, Status: CheckFail, Detail: "the backup recorded no counts to compare with (taken before backups recorded them): take a new backup"}
	}
	var bad []string
	for k, want := range recorded {
		if got := restored[k]; got != want {
			bad = append(bad, fmt.Sprintf("%s has %d, backup had %d", k, got, want))
		}
	}
	for k, got := range restored {
		if _, ok := recorded[k]; !ok {
			bad = append(bad, fmt.Sprintf("%s (%d rows) was not in the backup", k, got))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return Check{Name: what, Status: CheckFail, Detail: strings.Join(bad, "; ")}
	}
	return Check{Name: what, Status: CheckPass, Detail: fmt.Sprintf("all %d recorded counts match", len(recorded))}
}
