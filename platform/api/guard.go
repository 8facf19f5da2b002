package api

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Dependency names, used in breaker metrics and errors.
const (
	DepPostgres   = "postgres"
	DepRedis      = "redis"
	DepKafka      = "kafka"
	DepClickHouse = "clickhouse"
)

// UnavailableError marks a dependency that failed or whose circuit is open;
// the HTTP layer answers 503 with Retry-After.
type UnavailableError struct {
	Dep        string
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string { return fmt.Sprintf("%s unavailable: %v", e.Dep, e.Err) }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Guard wraps every call to one dependency with a timeout, a circuit breaker
// and, for calls that are safe to repeat, retries with exponential backoff.
type Guard struct {
	Name    string
	Timeout time.Duration
	// Retries is the number of extra attempts for idempotent calls.
	Retries  int
	BaseWait time.Duration
	MaxWait  time.Duration
	openFor  time.Duration
	cb       *gobreaker.CircuitBreaker[struct{}]
	// Observe, when set, receives the duration of every attempt the breaker let through.
	Observe func(d time.Duration)
}

// NewGuard builds a guard whose breaker opens after 5 consecutive failures
// and probes again after openFor.
func NewGuard(name string, timeout, openFor time.Duration) *Guard {
	g := &Guard{Name: name, Timeout: timeout, Retries: 2, BaseWait: 20 * time.Millisecond, MaxWait: 500 * time.Millisecond, openFor: openFor}
	g.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		// A caller that went away says nothing about the dependency.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	return g
}

// State is the breaker state: 0 closed, 1 half-open, 2 open.
func (g *Guard) State() gobreaker.State { return g.cb.State() }

// Open reports whether calls are currently rejected without trying.
func (g *Guard) Open() bool { return g.cb.State() == gobreaker.StateOpen }

// Once runs fn a single time (for calls that are not safe to repeat).
func (g *Guard) Once(ctx context.Context, fn func(context.Context) error) error {
	return g.run(ctx, 0, fn)
}

// Do runs an idempotent fn with retries and exponential backoff.
func (g *Guard) Do(ctx context.Context, fn func(context.Context) error) error {
	return g.run(ctx, g.Retries, fn)
}

func (g *Guard) run(ctx context.Context, retries int, fn func(context.Context) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		_, err = g.cb.Execute(func() (struct{}, error) {
			cctx, cancel := context.WithTimeout(ctx, g.Timeout)
			defer cancel()
			if g.Observe != nil {
				defer func(t0 time.Time) { g.Observe(time.Since(t0)) }(time.Now())
			}
			return struct{}{}, fn(cctx)
		})
		if err == nil {
			return nil
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return &UnavailableError{Dep: g.Name, RetryAfter: g.openFor, Err: err}
		}
		if ctx.Err() != nil || attempt >= retries {
			break
		}
		wait := g.BaseWait << attempt
		if wait > g.MaxWait {
			wait = g.MaxWait
		}
		wait = wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &UnavailableError{Dep: g.Name, RetryAfter: time.Second, Err: err}
		case <-t.C:
		}
	}
	return &UnavailableError{Dep: g.Name, RetryAfter: time.Second, Err: err}
}
