package main

import (
	"context"

	"github.com/wotr/wotr-tui/backends/wire"
	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ui"
)

// The console's live data: a collector over every source of the context,
// polling until the console's context ends, and the action service.
func init() {
	consoleBackends = func(ctx context.Context, cc config.ContextConfig) (ui.StateSource, action.Actor, error) {
		c, closeAll, err := wire.NewCollector(ctx, cc, collect.Options{Context: cc.Name})
		if err != nil {
			if closeAll != nil {
				closeAll()
			}
			return nil, nil, err
		}
		go func() {
			_ = c.Run(ctx)
			closeAll()
		}()
		svc := newActionService(cc)
		go func() {
			<-ctx.Done()
			svc.Close()
		}()
		return c, svc, nil
	}
}
