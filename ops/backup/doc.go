// Package backup is the backup catalog (catalog.json in the backup dir) and the
// per-store locks that keep one backup of a store running at a time. Taking a
// backup is an action (ops/action).
package backup
