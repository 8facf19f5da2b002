package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// ErrUnknownKey means the API key matches no active source.
var ErrUnknownKey = errors.New("unknown or inactive API key")

// negativeTTL bounds how long an unknown key stays cached, so a newly created
// source can ingest quickly.
const negativeTTL = 10 * time.Second

// Authenticator maps API keys to source names: Redis first, PostgreSQL on a
// miss. A Redis failure degrades to PostgreSQL instead of failing requests.
type Authenticator struct {
	pg       *pgxpool.Pool
	rdb      redisClient
	pgGuard  *Guard
	rdGuard  *Guard
	cacheTTL time.Duration
	// local answers repeat requests in process; nil disables it.
	local *keyCache
	log   *slog.Logger
}

func cacheKey(hash string) string { return "wotr:apikey:" + hash }

// Source returns the source owning apiKey, ErrUnknownKey, or an
// *UnavailableError when PostgreSQL cannot answer.
func (a *Authenticator) Source(ctx context.Context, apiKey string) (string, error) {
	hash := HashKey(apiKey)
	if source, ok := a.local.get(hash); ok {
		return source, nil
	}
	var cached string
	var hit bool
	err := a.rdGuard.Do(ctx, func(ctx context.Context) error {
		v, err := a.rdb.Get(ctx, cacheKey(hash)).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		cached, hit = v, true
		return nil
	})
	if err != nil {
		a.log.Warn("auth cache read failed; asking postgres", "err", err)
	}
	if hit {
		if cached == "" {
			return "", ErrUnknownKey
		}
		a.local.put(hash, cached)
		return cached, nil
	}
	var name string
	found := false
	err = a.pgGuard.Do(ctx, func(ctx context.Context) error {
		err := a.pg.QueryRow(ctx, `SELECT name FROM sources WHERE api_key_sha256 = $1 AND active`, hash).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return nil
	})
	if err != nil {
		return "", err
	}
	ttl := a.cacheTTL
	if !found {
		name, ttl = "", min(ttl, negativeTTL)
	}
	if err := a.rdGuard.Once(ctx, func(ctx context.Context) error {
		return a.rdb.Set(ctx, cacheKey(hash), name, ttl).Err()
	}); err != nil {
		a.log.Warn("auth cache write failed", "err", err)
	}
	if !found {
		return "", ErrUnknownKey
	}
	a.local.put(hash, name)
	return name, nil
}

// Deduper remembers event ids in Redis for a window: SET NX claims an id, and
// a claim is released when the event could not be written to Kafka.
//
// Once started, concurrent claims are coalesced: a few workers each send
// whatever claims queued up while Redis answered the previous pipeline, so
// under load many requests share one round trip, and an idle API adds only a
// channel hop. Order within a pipeline is queue order, so two requests with
// the same id still see exactly one claim succeed.
type Deduper struct {
	rdb    redisClient
	guard  *Guard
	window time.Duration

	queue     chan *claim
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type claim struct {
	ids   []string
	fresh []bool
	done  chan error
}

// claimWorkers bounds concurrent de-dup round trips; fewer workers coalesce
// more, and a handful keeps one slow pipeline from stalling every request.
const (
	claimWorkers  = 4
	maxClaimBatch = 1000
)

var errDeduperClosed = errors.New("de-dup closed")

func dedupKey(id string) string { return "wotr:dedup:" + id }

// Start runs the coalescing workers until Close.
func (d *Deduper) Start() {
	d.queue = make(chan *claim, 4*maxClaimBatch)
	d.stop = make(chan struct{})
	for range claimWorkers {
		d.wg.Add(1)
		go d.work()
	}
}

// Close stops the workers; later claims fail (and requests produce without de-dup).
func (d *Deduper) Close() {
	if d.stop == nil {
		return
	}
	d.closeOnce.Do(func() {
		close(d.stop)
		d.wg.Wait()
	})
}

// Claim reports for each id whether this call claimed it (true) or it was
// already seen within the window (false).
func (d *Deduper) Claim(ctx context.Context, ids []string) ([]bool, error) {
	if d.queue == nil {
		return d.claimNow(ctx, ids)
	}
	c := &claim{ids: ids, fresh: make([]bool, len(ids)), done: make(chan error, 1)}
	select {
	case d.queue <- c:
	case <-d.stop:
		return nil, errDeduperClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case err := <-c.done:
		return c.fresh, err
	case <-d.stop:
		return nil, errDeduperClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *Deduper) work() {
	defer d.wg.Done()
	var batch []*claim
	for {
		batch = batch[:0]
		select {
		case c := <-d.queue:
			batch = append(batch, c)
		case <-d.stop:
			return
		}
		n := len(batch[0].ids)
	drain:
		for n < maxClaimBatch {
			select {
			case c := <-d.queue:
				batch = append(batch, c)
				n += len(c.ids)
			default:
				break drain
			}
		}
		ids := batch[0].ids
		if len(batch) > 1 {
			ids = make([]string, 0, n)
			for _, c := range batch {
				ids = append(ids, c.ids...)
			}
		}
		// The guard's timeout bounds the call; no single request's context
		// may cancel a pipeline that carries the others' claims.
		fresh, err := d.claimNow(context.Background(), ids)
		off := 0
		for _, c := range batch {
			copy(c.fresh, fresh[off:off+len(c.ids)])
			off += len(c.ids)
			c.done <- err
		}
	}
}

func (d *Deduper) claimNow(ctx context.Context, ids []string) ([]bool, error) {
	fresh := make([]bool, len(ids))
	err := d.guard.Once(ctx, func(ctx context.Context) error {
		if len(ids) == 1 { // no pipeline needed
			ok, err := d.rdb.SetNX(ctx, dedupKey(ids[0]), 1, d.window).Result()
			fresh[0] = ok
			return err
		}
		cmds, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range ids {
				p.SetNX(ctx, dedupKey(id), 1, d.window)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, c := range cmds {
			fresh[i] = c.(*redis.BoolCmd).Val()
		}
		return nil
	})
	return fresh, err
}

// Release forgets claims so a client retry is not mistaken for a duplicate.
func (d *Deduper) Release(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = dedupKey(id)
	}
	return d.guard.Do(ctx, func(ctx context.Context) error { return d.rdb.Del(ctx, keys...).Err() })
}
