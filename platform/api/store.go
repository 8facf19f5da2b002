package api

import (
	"context"
	"errors"
	"log/slog"
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
	log      *slog.Logger
}

func cacheKey(hash string) string { return "wotr:apikey:" + hash }

// Source returns the source owning apiKey, ErrUnknownKey, or an
// *UnavailableError when PostgreSQL cannot answer.
func (a *Authenticator) Source(ctx context.Context, apiKey string) (string, error) {
	hash := HashKey(apiKey)
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
	return name, nil
}

// Deduper remembers event ids in Redis for a window: SET NX claims an id, and
// a claim is released when the event could not be written to Kafka.
type Deduper struct {
	rdb    redisClient
	guard  *Guard
	window time.Duration
}

func dedupKey(id string) string { return "wotr:dedup:" + id }

// Claim reports for each id whether this call claimed it (true) or it was
// already seen within the window (false).
func (d *Deduper) Claim(ctx context.Context, ids []string) ([]bool, error) {
	fresh := make([]bool, len(ids))
	err := d.guard.Once(ctx, func(ctx context.Context) error {
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
