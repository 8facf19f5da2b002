// Package audit is the append-only, fsynced log of every action: one JSON line
// per record, written under a file lock. It does not know the action types; the
// action service stores its plan and result in each record.
package audit
