// Package postgres reads replication, connection limits and activity from
// PostgreSQL with pgx, and holds the pool the actions share.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
	// query runs runbook queries (QueryRows): one connection, as the
	// endpoint's query-dsn role, or as dsn when none is configured.
	query *pgxpool.Pool
}

// New opens a lazy pool of at most 2 connections, and one of 1 for runbook
// queries: the console must not eat into the platform's connection budget.
func New(ctx context.Context, ep config.PostgresEndpoint, name string) (*Client, error) {
	if ep.DSN == "" {
		return nil, errors.New("postgres: dsn is empty")
	}
	pool, err := newPool(ctx, ep.DSN, "dsn", 2, false)
	if err != nil {
		return nil, err
	}
	qdsn, field := ep.DSN, "dsn"
	if ep.QueryDSN != "" {
		qdsn, field = ep.QueryDSN, "query-dsn"
	}
	query, err := newPool(ctx, qdsn, field, 1, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Client{Pool: pool, Name: name, query: query}, nil
}

func newPool(ctx context.Context, dsn, field string, maxConns int32, runbook bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse %s %s: %w", field, config.MaskDSN(dsn), maskErr(err, dsn))
	}
	if runbook {
		// The extended protocol only: one statement per query, and no
		// statement cache for DISCARD ALL to invalidate.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "wotr-tui"
		if runbook {
			cfg.ConnConfig.RuntimeParams["application_name"] = "wotr-tui runbook"
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s %s: %w", field, config.MaskDSN(dsn), maskErr(err, dsn))
	}
	return pool, nil
}

// maskErr keeps a DSN's password out of an error that quotes the DSN.
func maskErr(err error, dsn string) error {
	masked := config.MaskSecrets(err.Error(), dsn)
	if masked == err.Error() {
		return err
	}
	return errors.New(masked)
}

// Close closes the pools.
func (c *Client) Close() {
	c.Pool.Close()
	if c.query != nil {
		c.query.Close()
	}
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
