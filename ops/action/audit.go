package action

import (
	"encoding/json"
	"os"

	"github.com/wotr/wotr-tui/ops/audit"
)

// record is the audit record of a plan, without kind or outcome.
func (a *Service) record(p *Plan) audit.Record {
	host, _ := os.Hostname()
	rec := audit.Record{
		Time:    a.now().UTC(),
		Who:     a.who(),
		Host:    host,
		PID:     os.Getpid(),
		Context: a.Config.Name,
	}
	if p != nil {
		rec.Action, rec.Target = string(p.Request.Kind), p.Request.Target
		rec.DryRun, rec.Force, rec.Reason = p.Request.DryRun, p.Request.Force, p.Request.Reason
		rec.Params = p.Request.Params
		rec.Summary = p.Summary
		if p.Request.Kind == KindUndo {
			rec.Undoes = p.Request.Target
		}
	}
	return rec
}

// auditIntent writes, and fsyncs, the intent to run plan p; it returns the
// intent's id. Nothing may execute unless this succeeds.
func (a *Service) auditIntent(p *Plan) (string, error) {
	rec := a.record(p)
	rec.Kind, rec.ID = audit.KindIntent, audit.NewID()
	var err error
	if rec.Plan, err = json.Marshal(p); err != nil {
		return "", err
	}
	return rec.ID, a.Audit.Append(rec)
}

// auditOutcome writes a result (intent != "") or a refusal before
// execution (intent == "", with the plan, since no intent carries it).
func (a *Service) auditOutcome(intent string, p *Plan, res *Result, outcome string) error {
	rec := a.record(p)
	rec.Kind, rec.Intent, rec.Outcome = audit.KindResult, intent, outcome
	var err error
	if intent == "" {
		rec.Kind = audit.KindRefusal
		if rec.Plan, err = json.Marshal(p); err != nil {
			return err
		}
	}
	if res != nil {
		if res.Summary != "" {
			rec.Summary = res.Summary
		}
		rec.Error = res.Error
	}
	if rec.Result, err = json.Marshal(res); err != nil {
		return err
	}
	return a.Audit.Append(rec)
}
