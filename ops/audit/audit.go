package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
)

// Record kinds.
const (
	// KindIntent is written and fsynced before an action executes.
	KindIntent = "intent"
	// KindResult follows its intent (named by Intent) with the outcome.
	KindResult = "result"
	// KindRefusal is an action refused before anything ran (no intent).
	KindRefusal = "refusal"
	// KindRepair records a torn last line removed before an append.
	KindRepair = "repair"
)

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeRefused = "refused"
	// OutcomeInterrupted: an intent without a result whose process is gone
	// (a crash, kill -9): the action may have run in part.
	OutcomeInterrupted = "interrupted"
	// OutcomeRunning: an intent without a result whose process still runs on this host.
	OutcomeRunning = "running"
)

// Record is one line of the audit log: who did what, where, when, with
// which plan, and what came of it. The log does not know the action types:
// the action service stores its plan and result as JSON and names the
// outcome in Summary and Error, so the log sits below the actions.
type Record struct {
	// Seq is the record's line number in an intact log (1-based).
	Seq int64 `json:"seq,omitempty"`
	// Prev is the hex SHA-256 of the previous line; absent on the first.
	Prev string `json:"prev,omitempty"`
	Kind string `json:"kind,omitempty"` // intent, result, refusal, repair
	// ID names an intent; Intent is, on a result, the ID it answers.
	ID      string    `json:"id,omitempty"`
	Intent  string    `json:"intent,omitempty"`
	Time    time.Time `json:"time"`
	Who     string    `json:"who"`
	Host    string    `json:"host,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Context string    `json:"context"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	DryRun  bool      `json:"dryRun,omitempty"`
	Force   bool      `json:"force,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Params are the request's parameters (also inside Plan).
	Params map[string]string `json:"params,omitempty"`
	// Undoes is, on an undo, the action ID it reverses.
	Undoes  string `json:"undoes,omitempty"`
	Outcome string `json:"outcome"` // ok, failed, refused; interrupted or running when read
	// Summary is the result's summary, or the plan's when nothing ran.
	Summary string          `json:"summary,omitempty"`
	Error   string          `json:"error,omitempty"`
	Plan    json.RawMessage `json:"plan"`
	Result  json.RawMessage `json:"result"`
	// Torn is, on a repair record, the partial line it removed.
	Torn []byte `json:"torn,omitempty"`
	// Line is where the record was read from (not stored).
	Line int `json:"-"`
}

// ActionID names the action a record belongs to: the intent's ID (a
// result carries it as Intent); a refusal has none.
func (r Record) ActionID() string {
	if r.Kind == KindResult {
		return r.Intent
	}
	return r.ID
}

// Reader lists audit records, newest first; the TUI's audit view uses it.
type Reader interface {
	Records(ctx context.Context, limit int) ([]Record, error)
}

// Log is an append-only, hash-chained JSONL file. Each record is written
// with one write under an exclusive flock and fsynced before Append
// returns, so two consoles on one machine never interleave lines.
type Log struct {
	Path string
	mu   sync.Mutex
	// now stamps repair records (tests fix it).
	now func() time.Time
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

// NewID returns a random intent id.
func NewID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("t%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// Hash is the chain's hash of one stored line (without its newline).
func Hash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// Append chains rec to the last line (Seq, Prev), writes it and fsyncs it.
// A torn last line is first replaced by a repair record.
func (l *Log) Append(rec Record) error {
	if l == nil || l.Path == "" {
		return errors.New("no audit log configured")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := filepath.Dir(l.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, statErr := os.Stat(l.Path)
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		// The new file's name must survive a crash too.
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", l.Path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	t, err := readTail(f)
	if err != nil {
		return err
	}
	var buf []byte
	if t.torn != nil {
		if err := f.Truncate(t.tornAt); err != nil {
			return fmt.Errorf("repair torn line: %w", err)
		}
		rep := Record{Kind: KindRepair, Time: l.stamp(), Outcome: OutcomeOK, Torn: t.torn,
			Summary: fmt.Sprintf("removed a torn last line (%d bytes, no newline): a crash mid-write", len(t.torn))}
		line, err := t.chain(&rep)
		if err != nil {
			return err
		}
		buf = append(buf, line...)
		buf = append(buf, '\n')
	}
	line, err := t.chain(&rec)
	if err != nil {
		return err
	}
	buf = append(buf, line...)
	buf = append(buf, '\n')
	if _, err := f.Write(buf); err != nil {
		return err
	}
	return f.Sync()
}

func (l *Log) stamp() time.Time {
	if l.now != nil {
		return l.now().UTC()
	}
	return time.Now().UTC()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// tail is the end of the log an append chains to.
type tail struct {
	last   []byte // last whole line, without its newline; nil when none
	seq    int64  // seq of the next record
	torn   []byte // bytes after the last newline
	tornAt int64
}

// chain sets rec's Seq and Prev and advances the tail.
func (t *tail) chain(rec *Record) ([]byte, error) {
	rec.Seq, rec.Prev = t.seq, ""
	if t.last != nil {
		rec.Prev = Hash(t.last)
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	t.last, t.seq = line, t.seq+1
	return line, nil
}

// readTail reads backwards for the last whole line and any torn bytes.
func readTail(f *os.File) (*tail, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	t := &tail{seq: 1, tornAt: size}
	if size == 0 {
		return t, nil
	}
	const chunk = 64 << 10
	var buf []byte
	off := size
	for off > 0 && bytes.Count(buf, []byte{'\n'}) < 2 {
		n := min(int64(chunk), off)
		off -= n
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, err
		}
		buf = append(b, buf...)
	}
	body := buf
	if body[len(body)-1] != '\n' {
		i := bytes.LastIndexByte(body, '\n')
		t.torn = append([]byte(nil), body[i+1:]...)
		t.tornAt = size - int64(len(t.torn))
		body = body[:i+1]
	}
	if len(body) == 0 {
		return t, nil
	}
	body = body[:len(body)-1]
	t.last = append([]byte(nil), body[bytes.LastIndexByte(body, '\n')+1:]...)
	var prev Record
	if json.Unmarshal(t.last, &prev) == nil && prev.Seq > 0 {
		t.seq = prev.Seq + 1
		return t, nil
	}
	// A log begun before the chain, or a bad last line: seq is the line number.
	n, err := countLines(f, t.tornAt)
	if err != nil {
		return nil, err
	}
	t.seq = n + 1
	return t, nil
}

func countLines(f *os.File, size int64) (int64, error) {
	r := io.NewSectionReader(f, 0, size)
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// line is one stored line as read back.
type line struct {
	n    int
	raw  []byte
	rec  *Record
	err  error // not JSON
	torn bool  // no newline at the end of the file
}

func (l *Log) readLines(ctx context.Context) ([]line, error) {
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []line
	for n := 1; len(data) > 0; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ln := line{n: n}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			ln.raw, ln.torn, data = data, true, nil
		} else {
			ln.raw, data = data[:i], data[i+1:]
		}
		var rec Record
		if err := json.Unmarshal(ln.raw, &rec); err != nil {
			ln.err = err
		} else {
			rec.Line = n
			ln.rec = &rec
		}
		out = append(out, ln)
	}
	return out, nil
}

// Problem is one line of the log that does not check out.
type Problem struct {
	Line int    `json:"line"`
	What string `json:"what"`
}

// DamageError lists lines that could not be read as records; the records
// that could are returned with it.
type DamageError struct {
	Path     string
	Problems []Problem
}

func (e *DamageError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("line %d: %s", p.Line, p.What)
	}
	return fmt.Sprintf("audit log %s: %d damaged line(s): %s (wotr-tui audit verify)", e.Path, len(e.Problems), strings.Join(parts, "; "))
}

func damage(path string, lines []line) error {
	var ps []Problem
	for _, ln := range lines {
		switch {
		case ln.torn:
			ps = append(ps, Problem{ln.n, fmt.Sprintf("torn: %d bytes without a newline at the end of the file (a crash mid-write, or the file was cut)", len(ln.raw))})
		case ln.err != nil:
			ps = append(ps, Problem{ln.n, "not a JSON record: " + ln.err.Error()})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return &DamageError{Path: path, Problems: ps}
}

// Lines reads every record in file order, Line set. Lines that are not
// records are reported in a *DamageError returned with the rest.
func (l *Log) Lines() ([]Record, error) {
	lines, err := l.readLines(context.Background())
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, ln := range lines {
		if ln.rec != nil && !ln.torn {
			recs = append(recs, *ln.rec)
		}
	}
	return recs, damage(l.Path, lines)
}

// Records lists actions, newest first; limit <= 0 means all. A missing log
// is empty. An intent and its result are one entry (the result, with the
// intent's plan); an intent without a result is interrupted (or running,
// while its process lives). Repair records are not actions and are left
// out. Damaged lines are reported in a *DamageError returned with the
// records that could be read.
func (l *Log) Records(ctx context.Context, limit int) ([]Record, error) {
	lines, err := l.readLines(ctx)
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, ln := range lines {
		if ln.rec != nil && !ln.torn {
			all = append(all, *ln.rec)
		}
	}
	results := map[string]int{}
	for i, r := range all {
		if r.Kind == KindResult && r.Intent != "" {
			results[r.Intent] = i
		}
	}
	intents := map[string]Record{}
	var recs []Record
	for _, r := range all {
		switch r.Kind {
		case KindRepair:
			continue
		case KindIntent:
			intents[r.ID] = r
			if _, done := results[r.ID]; done {
				continue
			}
			r.Outcome = OutcomeInterrupted
			if r.alive() {
				r.Outcome = OutcomeRunning
			}
		case KindResult:
			if in, ok := intents[r.Intent]; ok {
				if len(r.Plan) == 0 || string(r.Plan) == "null" {
					r.Plan = in.Plan
				}
				if r.Params == nil {
					r.Params = in.Params
				}
			}
		}
		recs = append(recs, r)
	}
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, damage(l.Path, lines)
}

// alive: the intent's process still runs on this host (pids are reused,
// so this errs towards "running" for a pid taken since).
func (r Record) alive() bool {
	host, _ := os.Hostname()
	if r.PID <= 0 || r.Host == "" || r.Host != host {
		return false
	}
	err := syscall.Kill(r.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Report is what Verify found.
type Report struct {
	Path    string `json:"path"`
	Records int    `json:"records"`
	// Legacy records precede the chain (written before it existed): unverified.
	Legacy int `json:"legacy,omitempty"`
	// Head is the hash of the last line: record it elsewhere to detect a
	// later edit or removal of the newest records.
	Head   string `json:"head,omitempty"`
	Intact bool   `json:"intact"`
	// Problems in line order; the first is where the log stops checking out.
	Problems []Problem `json:"problems,omitempty"`
	// Notes are not damage: repaired torn lines, interrupted intents.
	Notes []Problem `json:"notes,omitempty"`
}

// Verify checks the chain line by line: each record's prev is the hash of
// the line before it and its seq is one more than that line's.
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	lines, err := l.readLines(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Path: l.Path}
	at := map[string]int{} // hash -> line number
	for _, ln := range lines {
		at[Hash(ln.raw)] = ln.n
	}
	problem := func(n int, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{n, fmt.Sprintf(format, args...)})
	}
	var expect int64 = 1
	chained := false
	intents := map[string]int{}
	answered := map[string]bool{}
	for i, ln := range lines {
		switch {
		case ln.torn:
			problem(ln.n, "torn: %d bytes without a newline at the end of the file (a crash mid-write, or the file was cut); the next append repairs it", len(ln.raw))
			continue
		case ln.err != nil:
			problem(ln.n, "not a JSON record: %v", ln.err)
			expect++
			continue
		}
		rep.Records++
		r := ln.rec
		if !chained && r.Seq == 0 && r.Prev == "" {
			rep.Legacy++
			expect++
			continue
		}
		chained = true
		prevHash := ""
		if i > 0 {
			prevHash = Hash(lines[i-1].raw)
		}
		switch {
		case r.Seq == 0:
			problem(ln.n, "no seq or prev: a record outside the chain (inserted)")
		case r.Seq > expect && r.Prev != prevHash && at[r.Prev] > ln.n:
			problem(ln.n, "out of order: seq %d where %d belongs; the line it follows is line %d (reordered)", r.Seq, expect, at[r.Prev])
		case r.Seq > expect:
			problem(ln.n, "seq %d where %d belongs: %d record(s) before it deleted", r.Seq, expect, r.Seq-expect)
		case r.Seq < expect:
			problem(ln.n, "out of order: seq %d after seq %d (reordered or duplicated)", r.Seq, expect-1)
		case r.Prev != prevHash && i == 0:
			problem(ln.n, "the first line names a previous record (prev %.12s…): records before it deleted", r.Prev)
		case r.Prev != prevHash && r.Prev == "":
			problem(ln.n, "prev missing: the chain is cut here (edited)")
		case r.Prev != prevHash:
			problem(lines[i-1].n, "edited: its SHA-256 is %.12s…, but line %d records %.12s… as its predecessor's", prevHash, ln.n, r.Prev)
		}
		expect = r.Seq + 1
		switch r.Kind {
		case KindIntent:
			intents[r.ID] = ln.n
		case KindResult:
			if _, ok := intents[r.Intent]; !ok {
				problem(ln.n, "result of intent %q, which no earlier line records", r.Intent)
			}
			answered[r.Intent] = true
		case KindRepair:
			rep.Notes = append(rep.Notes, Problem{ln.n, fmt.Sprintf("repair: %s", r.Summary)})
		}
	}
	for id, n := range intents {
		if !answered[id] {
			rep.Notes = append(rep.Notes, Problem{n, fmt.Sprintf("intent %s has no result: interrupted (or still running)", id)})
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Line < rep.Problems[j].Line })
	sort.SliceStable(rep.Notes, func(i, j int) bool { return rep.Notes[i].Line < rep.Notes[j].Line })
	if len(lines) > 0 {
		rep.Head = Hash(lines[len(lines)-1].raw)
	}
	rep.Intact = len(rep.Problems) == 0
	return rep, nil
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
