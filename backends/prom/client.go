// Package prom queries Prometheus with client_golang's api v1, and scrapes
// instances' /metrics directly when no Prometheus is configured.
package prom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wotr/wotr-tui/ops/config"
)

// DefaultTimeout bounds each query.
const DefaultTimeout = 10 * time.Second

// Client queries one Prometheus server.
type Client struct {
	API v1.API
	URL string
}

// New builds a client for the endpoint's URL.
func New(ep config.PromEndpoint) (*Client, error) {
	if ep.URL == "" {
		return nil, errors.New("prom: url is empty")
	}
	c, err := api.NewClient(api.Config{
		Address:      ep.URL,
		RoundTripper: &http.Transport{ResponseHeaderTimeout: DefaultTimeout, MaxIdleConnsPerHost: 4},
	})
	if err != nil {
		return nil, fmt.Errorf("prom: %s: %w", ep.URL, err)
	}
	return &Client{API: v1.NewAPI(c), URL: ep.URL}, nil
}

// Query runs an instant query at now.
func (c *Client) Query(ctx context.Context, q string) (model.Vector, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	v, _, _, err := c.API.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("prom: query %q: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prom: query %q: want a vector, got %s", q, v.Type())
	}
	return vec, nil
}

// QueryRange runs a range query.
func (c *Client) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	v, _, _, err := c.API.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, fmt.Errorf("prom: range query %q: %w", q, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("prom: range query %q: want a matrix, got %s", q, v.Type())
	}
	return m, nil
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
