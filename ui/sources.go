// Package ui is the interactive console: a root router over one package per
// view, an action dialog driven by ops.Actor, and the sources it reads.
// All I/O happens inside tea.Cmds; Update and View never block.
package ui

import (
	"context"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

// StateSource is what the console needs of the collector.
type StateSource interface {
	Latest() state.Snapshot
	// Subscribe delivers every new snapshot until the returned func is called.
	Subscribe() (<-chan state.Snapshot, func())
	// History of a named series, oldest first (see common.Series*).
	History(series string) []float64
}

// AuditReader reads the newest audit records.
type AuditReader interface {
	Recent(ctx context.Context, limit int) ([]common.AuditEntry, error)
}

// RunbookLister lists runbooks; the runbooks engine implements it.
type RunbookLister interface {
	List(ctx context.Context) ([]common.RunbookInfo, error)
}
