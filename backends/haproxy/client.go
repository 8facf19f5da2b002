// Package haproxy speaks HAProxy's runtime API over its unix socket: server
// states and stats for the collector, and the socket the actions share.
package haproxy

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds each runtime API command.
const DefaultTimeout = 5 * time.Second

// Client sends runtime API commands, one connection per command (the
// non-interactive mode of the socket).
type Client struct {
	Socket    string
	Backend   string
	ActiveMap string
}

// New checks the endpoint and returns a client; nothing is dialled yet.
func New(ep config.HAProxyEndpoint) (*Client, error) {
	if ep.Socket == "" {
		return nil, errors.New("haproxy: socket path is empty")
	}
	return &Client{Socket: ep.Socket, Backend: ep.Backend, ActiveMap: ep.ActiveMap}, nil
}

// Command sends one command and returns the full answer.
func (c *Client) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n;") {
		return "", fmt.Errorf("haproxy: command %q: must be one command without newline or ';'", cmd)
	}
	deadline := time.Now().Add(DefaultTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var dialer net.Dialer
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := dialer.DialContext(dctx, "unix", c.Socket)
	if err != nil {
		return "", fmt.Errorf("haproxy: dial %s: %w", c.Socket, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy: %q: %w", cmd, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("haproxy: %q: %w", cmd, err)
	}
	return string(b), nil
}

// ServerState is one line of `show servers state`.
type ServerState struct {
	Backend    string
	Server     string
	Addr       string
	Port       int
	OpState    int // 0 stopped, 1 starting, 2 running, 3 stopping
	AdminState int // SRV_ADMF_* bits: 0x01/0x02/0x20/0x40 maintenance, 0x08/0x10 drain
	Weight     int
}

// Draining reports whether the server is in drain mode.
func (s ServerState) Draining() bool { return s.AdminState&0x18 != 0 }

// Maintenance reports whether the server is in maintenance mode.
func (s ServerState) Maintenance() bool { return s.AdminState&0x63 != 0 }

// ServersState runs `show servers state [backend]`.
func (c *Client) ServersState(ctx context.Context, backend string) ([]ServerState, error) {
	cmd := "show servers state"
	if backend != "" {
		cmd += " " + backend
	}
	out, err := c.Command(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return ParseServersState(out)
}

// ParseServersState parses the answer of `show servers state`: a version line,
// a '#' header naming the columns, then one space-separated line per server.
func ParseServersState(out string) ([]ServerState, error) {
	var cols []string
	var res []ServerState
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			cols = strings.Fields(strings.TrimPrefix(line, "#"))
			continue
		}
		if cols == nil {
			continue // version line
		}
		f := strings.Fields(line)
		get := func(name string) string {
			for i, c := range cols {
				if c == name && i < len(f) {
					return f[i]
				}
			}
			return ""
		}
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		res = append(res, ServerState{
			Backend:    get("be_name"),
			Server:     get("srv_name"),
			Addr:       get("srv_addr"),
			Port:       atoi(get("srv_port")),
			OpState:    atoi(get("srv_op_state")),
			AdminState: atoi(get("srv_admin_state")),
			Weight:     atoi(get("srv_uweight")),
		})
	}
	if cols == nil && strings.TrimSpace(out) != "" && !strings.HasPrefix(strings.TrimSpace(out), "1") {
		return nil, fmt.Errorf("haproxy: unexpected answer to show servers state: %.80q", out)
	}
	return res, nil
}

// Stat is one row of `show stat`, keyed by column name (pxname, svname,
// scur, status, ...).
type Stat map[string]string

// Stats runs `show stat` and parses its CSV.
func (c *Client) Stats(ctx context.Context) ([]Stat, error) {
	out, err := c.Command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return ParseStat(out)
}

// ParseStat parses `show stat` CSV whose first line is "# pxname,svname,...".
func ParseStat(out string) ([]Stat, error) {
	out = strings.TrimPrefix(strings.TrimLeft(out, " \n"), "# ")
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("haproxy: parse show stat: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	head := recs[0]
	var res []Stat
	for _, rec := range recs[1:] {
		s := Stat{}
		for i, v := range rec {
			if i < len(head) && head[i] != "" {
				s[head[i]] = v
			}
		}
		res = append(res, s)
	}
	return res, nil
}
