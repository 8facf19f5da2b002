// Package audit is the append-only, fsynced, hash-chained log of every
// action: one JSON object per line, written under a file lock. It does not
// know the action types; the action service stores its plan and result in
// each record.
//
// # Write-ahead
//
// An action that executes has two records: an "intent" (kind, id, who,
// host, pid, context, action, target, params, plan), fsynced before
// anything runs, and a "result" (kind, intent: the intent's id, outcome,
// summary, error, result) after it. If the intent cannot be written the
// action is refused. An action refused before it runs (blocked plan, wrong
// confirmation, read-only context) has one "refusal" record with its plan.
// Read back, an intent without a result is "interrupted" (the process
// died: a crash, kill -9), or "running" while its pid lives on this host.
//
// # Hash chain
//
// A line is the JSON object's bytes exactly as stored, without the
// trailing newline. Every record carries:
//
//	seq   1 for the first line of the file, then the previous line's seq + 1
//	      (so seq is the line number in an intact log)
//	prev  lowercase hex SHA-256 of the previous line; absent on line 1
//
// Verify recomputes both for every line and reports, in line order: a line
// whose hash its successor does not record (edited), a seq gap (deleted
// records), a seq out of order or a prev naming a later line (reordered), a
// line that is not JSON, and a last line without a newline (torn). The
// chain detects change to any record but the newest: to also catch an edit
// or removal of the last records, keep the Head that verify prints
// somewhere else and compare. Lines written before the chain existed (no
// seq, no prev) may precede it; they are counted as legacy, unverified.
//
// # Torn lines
//
// A crash mid-write leaves a last line without a newline. Readers report it
// (never silently skip it), and the next Append truncates it and first
// writes a "repair" record keeping its bytes (torn, base64), so it never
// swallows the record after it.
package audit
