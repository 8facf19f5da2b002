package action

import (
	"encoding/json"
	"os"

	"github.com/wotr/wotr-tui/ops/audit"
)

// audit writes the record of one plan and its result.
func (a *Service) audit(p *Plan, res *Result, outcome string) error {
	host, _ := os.Hostname()
	rec := audit.Record{
		Time:    a.now().UTC(),
		Who:     a.who(),
		Host:    host,
		Context: a.Config.Name,
		Action:  string(p.Request.Kind),
		Target:  p.Request.Target,
		DryRun:  p.Request.DryRun,
		Force:   p.Request.Force,
		Reason:  p.Request.Reason,
		Outcome: outcome,
	}
	if res != nil {
		rec.Summary, rec.Error = res.Summary, res.Error
	}
	if rec.Summary == "" && p != nil {
		rec.Summary = p.Summary
	}
	var err error
	if rec.Plan, err = json.Marshal(p); err != nil {
		return err
	}
	if rec.Result, err = json.Marshal(res); err != nil {
		return err
	}
	return a.Audit.Append(rec)
}
