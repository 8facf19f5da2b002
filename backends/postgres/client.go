// Package postgres reads replication, connection limits and activity from
// PostgreSQL with pgx, and holds the pool the actions share.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds each statement.
const DefaultTimeout = 10 * time.Second

// Client is a small pool to one PostgreSQL server.
type Client struct {
	Pool *pgxpool.Pool
	// Name labels the server in reports (region or role).
	Name string
}

// New opens a lazy pool of at most 2 connections: the console must not eat
// into the platform's connection budget.
func New(ctx context.Context, ep config.PostgresEndpoint, name string) (*Client, error) {
	if ep.DSN == "" {
		return nil, errors.New("postgres: dsn is empty")
	}
	cfg, err := pgxpool.ParseConfig(ep.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn %s: %w", config.MaskDSN(ep.DSN), err)
	}
	cfg.MaxConns = 2
	cfg.MinConns = 0
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "wotr-tui"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", config.MaskDSN(ep.DSN), err)
	}
	return &Client{Pool: pool, Name: name}, nil
}

// Close closes the pool.
func (c *Client) Close() { c.Pool.Close() }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
