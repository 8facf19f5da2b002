package audit

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

	"github.com/wotr/wotr-tui/ops/config"
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeRefused = "refused"
)

// Record is one line of the audit log: who did what, where, when, with
// which plan, and what came of it. The log does not know the action types:
// the action service stores its plan and result as JSON and names the
// outcome in Summary and Error, so the log sits below the actions.
type Record struct {
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
	// Summary is the result's summary, or the plan's when nothing ran.
	Summary string          `json:"summary,omitempty"`
	Error   string          `json:"error,omitempty"`
	Plan    json.RawMessage `json:"plan"`
	Result  json.RawMessage `json:"result"`
}

// Reader lists audit records, newest first; the TUI's audit view uses it.
type Reader interface {
	Records(ctx context.Context, limit int) ([]Record, error)
}

// Log is an append-only JSONL file. Each record is written with one
// write under an exclusive flock and fsynced before Append returns, so two
// consoles on one machine never interleave lines.
type Log struct {
	Path string
	mu   sync.Mutex
}

var _ Reader = (*Log)(nil)

// NewLog returns the log at path (created on first append).
func NewLog(path string) *Log { return &Log{Path: path} }

// PathFor is the context's audit-log, or $XDG_STATE_HOME/wotr/audit.jsonl
// ($HOME/.local/state when XDG_STATE_HOME is unset).
func PathFor(cfg config.ContextConfig) string {
	if cfg.AuditLog != "" {
		return cfg.AuditLog
	}
	return filepath.Join(config.StateHome(), "wotr", "audit.jsonl")
}

// Append writes one record and fsyncs it.
func (l *Log) Append(rec Record) error {
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
func (l *Log) Records(ctx context.Context, limit int) ([]Record, error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Record
	r := bufio.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var rec Record
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

// Detail is the record's one-line outcome: the error, else the summary.
// Records written before Summary existed are read from their plan and result.
func (r Record) Detail() string {
	if r.Error != "" {
		return r.Error
	}
	if r.Summary != "" {
		return r.Summary
	}
	for _, raw := range []json.RawMessage{r.Result, r.Plan} {
		var v struct{ Summary, Error string }
		if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
			continue
		}
		if v.Error != "" {
			return v.Error
		}
		if v.Summary != "" {
			return v.Summary
		}
	}
	return ""
}
