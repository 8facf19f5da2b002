package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeRefused = "refused"
)

// AuditRecord is one line of the audit log: who did what, where, when, with
// which plan, and what came of it.
type AuditRecord struct {
	Time    time.Time `json:"time"`
	Who     string    `json:"who"`
	Host    string    `json:"host,omitempty"`
	Context string    `json:"context"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	DryRun  bool      `json:"dryRun,omitempty"`
	Force   bool      `json:"force,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Outcome string    `json:"outcome"` // ok, failed, refused
	Plan    *Plan     `json:"plan"`
	Result  *Result   `json:"result"`
}

// AuditReader lists audit records, newest first; the TUI's audit view uses it.
type AuditReader interface {
	Records(ctx context.Context, limit int) ([]AuditRecord, error)
}

// AuditLog is an append-only JSONL file. Each record is written with one
// write under an exclusive flock and fsynced before Append returns, so two
// consoles on one machine never interleave lines.
type AuditLog struct {
	Path string
	mu   sync.Mutex
}

var _ AuditReader = (*AuditLog)(nil)

// NewAuditLog returns the log at path (created on first append).
func NewAuditLog(path string) *AuditLog { return &AuditLog{Path: path} }

// AuditPath is the context's audit-log, or $XDG_STATE_HOME/wotr/audit.jsonl
// ($HOME/.local/state when XDG_STATE_HOME is unset).
func AuditPath(cfg ContextConfig) string {
	if cfg.AuditLog != "" {
		return cfg.AuditLog
	}
	return filepath.Join(stateHome(), "wotr", "audit.jsonl")
}

func stateHome() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state")
	}
	return os.TempDir()
}

// Append writes one record and fsyncs it.
func (l *AuditLog) Append(rec AuditRecord) error {
	if l == nil || l.Path == "" {
		return errors.New("no audit log configured")
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", l.Path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := f.Write(line); err != nil {
		return err
	}
	return f.Sync()
}

// Records reads the log, newest first; limit <= 0 means all. A missing log is
// empty. A torn last line (a crash mid-write) is skipped.
func (l *AuditLog) Records(ctx context.Context, limit int) ([]AuditRecord, error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []AuditRecord
	r := bufio.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var rec AuditRecord
			if jerr := json.Unmarshal(line, &rec); jerr == nil {
				recs = append(recs, rec)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}

func (a *Actions) audit(p *Plan, res *Result, outcome string) error {
	host, _ := os.Hostname()
	rec := AuditRecord{
		Time:    a.now().UTC(),
		Who:     a.who(),
		Host:    host,
		Context: a.Config.Name,
		Action:  p.Request.Kind,
		Target:  p.Request.Target,
		DryRun:  p.Request.DryRun,
		Force:   p.Request.Force,
		Reason:  p.Request.Reason,
		Outcome: outcome,
		Plan:    p,
		Result:  res,
	}
	return a.Audit.Append(rec)
}
