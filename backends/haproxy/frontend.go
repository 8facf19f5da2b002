package haproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// activeKey is the key of the global frontend's map whose value is the
// backend that gets the traffic.
const activeKey = "active"

func (c *Client) activeMap() (string, error) {
	if c.ActiveMap == "" {
		return "", errors.New("haproxy: no active map configured: the frontend is not global")
	}
	return c.ActiveMap, nil
}

// ActiveBackend is the backend the global frontend sends traffic to.
func (c *Client) ActiveBackend(ctx context.Context) (string, error) {
	m, err := c.activeMap()
	if err != nil {
		return "", err
	}
	out, err := c.Command(ctx, "show map "+m)
	if err != nil {
		return "", err
	}
	// Rows are "<id> <key> <value>".
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[1] == activeKey {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("haproxy: map %s has no %q key: %q", m, activeKey, strings.TrimSpace(out))
}

// SwitchFrontend points the global frontend at this client's backend.
func (c *Client) SwitchFrontend(ctx context.Context, dryRun bool) error {
	m, err := c.activeMap()
	if err != nil {
		return err
	}
	if c.Backend == "" {
		return errors.New("haproxy: no backend configured to switch the frontend to")
	}
	if dryRun {
		return nil
	}
	out, err := c.Command(ctx, fmt.Sprintf("set map %s %s %s", m, activeKey, c.Backend))
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(out); s != "" {
		return fmt.Errorf("haproxy: set map %s: %s", m, s)
	}
	return nil
}

// ServersUp counts this backend's servers that take new requests.
func (c *Client) ServersUp(ctx context.Context) (int, error) {
	ss, err := c.ServersState(ctx, c.Backend)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range ss {
		if s.OpState == 2 && !s.Draining() && !s.Maintenance() {
			n++
		}
	}
	return n, nil
}
