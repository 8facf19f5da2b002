// Package runbook parses the runbooks (shipped under runbooks/, overridable from
// the config dir), runs their steps (checks over a snapshot, PromQL, SQL and
// Kubernetes queries, actions, manual steps), records each run's state so it can
// resume, and writes its report.
package runbook
