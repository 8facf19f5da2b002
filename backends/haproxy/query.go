package haproxy

import (
	"context"
	"fmt"

	"github.com/wotr/wotr-tui/ops/runbook"
)

// Admin state bits of `show servers state` (HAProxy's SRV_ADMF_*): forced,
// inherited, resolution and hostname maintenance; forced and inherited drain.
const (
	adminMaintMask = 0x01 | 0x02 | 0x20 | 0x40
	adminDrainMask = 0x08 | 0x10
)

// Servers lists the backend's servers as the load balancer sees them: the
// ops.LBReader of runbooks. A server-template slot without an address (not
// yet filled) has an empty Addr, so checks can skip it.
func (c *Client) Servers(ctx context.Context) ([]runbook.LBServer, error) {
	states, err := c.ServersState(ctx, c.Backend)
	if err != nil {
		return nil, err
	}
	out := make([]runbook.LBServer, 0, len(states))
	for _, s := range states {
		out = append(out, LBServerOf(s))
	}
	return out, nil
}

// LBServerOf maps one `show servers state` row to UP, DOWN, MAINT or DRAIN.
func LBServerOf(s ServerState) runbook.LBServer {
	srv := runbook.LBServer{Name: s.Server}
	if s.Addr != "" && s.Addr != "-" && s.Addr != "0.0.0.0" && s.Addr != "::" {
		srv.Addr = fmt.Sprintf("%s:%d", s.Addr, s.Port)
	}
	switch {
	case s.AdminState&adminMaintMask != 0:
		srv.State = "MAINT"
	case s.AdminState&adminDrainMask != 0:
		srv.State = "DRAIN"
	case s.OpState == 2:
		srv.State = "UP"
	default:
		srv.State = "DOWN"
	}
	return srv
}

var _ runbook.LBReader = (*Client)(nil)
