// Package clickhouse reads system.replicas (and system.backups where the server
// has it) from every replica with clickhouse-go v2 over the native protocol.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds each query.
const DefaultTimeout = 10 * time.Second

// Replica is one connection to one replica address.
type Replica struct {
	Addr string
	Conn driver.Conn
}

// Client holds one connection per replica: replication state is per server.
type Client struct {
	Replicas []Replica
	Database string
}

// New opens a connection per address in ep.Addrs; connections are lazy.
func New(ep config.CHEndpoint) (*Client, error) {
	if len(ep.Addrs) == 0 {
		return nil, errors.New("clickhouse: no addrs configured")
	}
	c := &Client{Database: ep.Database}
	if c.Database == "" {
		c.Database = "default"
	}
	user := ep.User
	if user == "" {
		user = "default"
	}
	for _, a := range ep.Addrs {
		conn, err := ch.Open(&ch.Options{
			Addr:         []string{a},
			Auth:         ch.Auth{Database: c.Database, Username: user, Password: ep.Password},
			Protocol:     ch.Native,
			DialTimeout:  5 * time.Second,
			ReadTimeout:  DefaultTimeout,
			MaxOpenConns: 2,
			MaxIdleConns: 1,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("clickhouse: %s: %w", a, err)
		}
		c.Replicas = append(c.Replicas, Replica{Addr: a, Conn: conn})
	}
	return c, nil
}

// Close closes every replica connection.
func (c *Client) Close() {
	for _, r := range c.Replicas {
		_ = r.Conn.Close()
	}
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
