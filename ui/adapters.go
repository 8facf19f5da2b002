package ui

import (
	"context"
	"errors"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/ui/common"
)

// AuditFromOps reads the ops audit log for the audit view.
func AuditFromOps(r audit.Reader) AuditReader { return opsAudit{r} }

type opsAudit struct{ r audit.Reader }

func (a opsAudit) Recent(ctx context.Context, limit int) ([]common.AuditEntry, error) {
	recs, err := a.r.Records(ctx, limit)
	var dmg *audit.DamageError
	if err != nil && !errors.As(err, &dmg) {
		return nil, err
	}
	out := make([]common.AuditEntry, 0, len(recs))
	for _, r := range recs {
		e := common.AuditEntry{Time: r.Time, User: r.Who, Context: r.Context, Kind: r.Action, Target: r.Target, Outcome: r.Outcome}
		e.Detail = r.Detail()
		e.ID, e.Undoes = r.ActionID(), r.Undoes
		if r.DryRun {
			e.Outcome += " (dry-run)"
		}
		out = append(out, e)
	}
	// Damaged lines are reported with the records that could be read.
	return out, err
}

// RunbooksFromOps lists runbooks with load (ops.LoadRunbooks with the
// context's override directory).
func RunbooksFromOps(load func() ([]*runbook.Runbook, error)) RunbookLister { return opsRunbooks(load) }

type opsRunbooks func() ([]*runbook.Runbook, error)

func (f opsRunbooks) List(ctx context.Context) ([]common.RunbookInfo, error) {
	rbs, err := f()
	if err != nil {
		return nil, err
	}
	out := make([]common.RunbookInfo, 0, len(rbs))
	for _, r := range rbs {
		out = append(out, common.RunbookInfo{Name: r.Name, Title: r.Title, Steps: len(r.Steps), Description: r.Description})
	}
	return out, nil
}
