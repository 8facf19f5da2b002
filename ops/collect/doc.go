// Package collect polls each region's sources on their own schedules, keeps the
// last good value of each (marked stale on error or timeout), evaluates consumer
// lag and instance load, and assembles state.Snapshot for the console, the CLI
// and the runbooks. Sources are the small interfaces in sources.go.
package collect
