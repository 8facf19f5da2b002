// Package redis reads replication, clients and maxclients from Redis with
// go-redis, and holds the client the actions share.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds each command.
const DefaultTimeout = 5 * time.Second

// Client is one Redis server.
type Client struct {
	Redis *goredis.Client
	Addr  string
	Name  string
}

// New builds a client; the connection is made on first use.
func New(ep config.RedisEndpoint, name string) (*Client, error) {
	if ep.Addr == "" {
		return nil, errors.New("redis: addr is empty")
	}
	rc := goredis.NewClient(&goredis.Options{
		Addr:         ep.Addr,
		Password:     ep.Password,
		DialTimeout:  DefaultTimeout,
		ReadTimeout:  DefaultTimeout,
		WriteTimeout: DefaultTimeout,
		PoolSize:     2,
		ClientName:   "wotr-tui",
	})
	return &Client{Redis: rc, Addr: ep.Addr, Name: name}, nil
}

// Close closes the connections.
func (c *Client) Close() error { return c.Redis.Close() }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// go-redis logs pool errors with the standard logger, which would draw over
// the console's screen; route them to slog at debug level instead (the
// collector reports the same errors on the source).
func init() { goredis.SetLogger(slogPrintf{}) }

type slogPrintf struct{}

func (slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
