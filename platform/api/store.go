package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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

// Deduper remembers event ids in Redis in two phases, so that a 202 never
// rests on a mark whose event is not in Kafka:
//
//   - Claim sets a short-lived pending mark (SET NX) before the produce; it
//     expires on its own if the API dies or a release fails.
//   - Commit turns the mark into the done mark for the de-dup window, only
//     after Kafka acknowledged the event.
//
// A request that finds a pending mark is told to retry; only a done mark
// makes it a duplicate.
//
// Once started, claims and commits are coalesced: a few workers each send
// whatever queued up while Redis answered the previous pipeline, so under
// load many requests share one round trip. Order within a pipeline is queue
// order, so two requests with the same id still see exactly one claim succeed.
type Deduper struct {
	rdb    redisClient
	guard  *Guard
	window time.Duration
	// pendingTTL outlives the produce and the commit that follows it.
	pendingTTL time.Duration
	log        *slog.Logger

	queue chan *dedupOp
	// committing holds the keys of commits queued but not yet sent.
	mu         sync.Mutex
	committing map[string]*dedupOp
	stop       chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup
}

// ClaimState is what Claim found for one key.
type ClaimState uint8

const (
	// Claimed: this call set the pending mark; produce, then Commit or Release.
	Claimed ClaimState = iota
	// Pending: another request is producing this event right now.
	Pending
	// Done: the event is in Kafka; a duplicate within the window.
	Done
)

// Mark values: only these two are ever written.
const (
	markPending = "p"
	markDone    = "d"
)

// An op's requester either waits for the answer or gives up; whichever comes
// first wins, so a worker knows whether anyone will act on what it claimed.
const (
	opWaiting int32 = iota
	opAnswered
	opAbandoned
)

type dedupOp struct {
	keys   []string
	commit bool
	states []ClaimState
	// done answers a claim; settled closes when a commit has been sent.
	done    chan error
	settled chan struct{}
	state   atomic.Int32
}

// claimWorkers bounds concurrent de-dup round trips; fewer workers coalesce
// more, and a handful keeps one slow pipeline from stalling every request.
const (
	claimWorkers  = 4
	maxClaimBatch = 1000
)

var errDeduperClosed = errors.New("de-dup closed")

// DedupKey is the Redis key of one event: ids are unique per source, so one
// source cannot suppress another's events. Names allow no '/', so the key
// is unambiguous.
func DedupKey(source, id string) string { return "wotr:dedup:" + source + "/" + id }

// Start runs the coalescing workers until Close.
func (d *Deduper) Start() {
	d.queue = make(chan *dedupOp, 4*maxClaimBatch)
	d.committing = make(map[string]*dedupOp)
	d.stop = make(chan struct{})
	for range claimWorkers {
		d.wg.Add(1)
		go d.work()
	}
}

// Close sends the queued commits, then stops the workers; later claims fail.
func (d *Deduper) Close() {
	if d.stop == nil {
		return
	}
	d.closeOnce.Do(func() {
		d.flushCommits()
		close(d.stop)
		d.wg.Wait()
	})
}

// Claim sets pending marks and reports for each key what it found. When ctx
// ends first, Claim returns ctx's error and whatever the worker claimed for
// this call is released by the worker: no mark outlives a request that gave
// up, beyond the pending TTL should that release fail too.
func (d *Deduper) Claim(ctx context.Context, keys []string) ([]ClaimState, error) {
	if d.queue == nil {
		states := make([]ClaimState, len(keys))
		return states, d.send(ctx, []*dedupOp{{keys: keys, states: states}})
	}
	if err := d.awaitCommits(ctx, keys); err != nil {
		return nil, err
	}
	op := &dedupOp{keys: keys, states: make([]ClaimState, len(keys)), done: make(chan error, 1)}
	if err := d.enqueue(ctx, op); err != nil {
		return nil, err
	}
	select {
	case err := <-op.done:
		return op.states, err
	case <-d.stop:
	case <-ctx.Done():
	}
	if op.state.CompareAndSwap(opWaiting, opAbandoned) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errDeduperClosed
	}
	// Answered meanwhile: the claims are this caller's to produce or release.
	err := <-op.done
	return op.states, err
}

// Commit queues the done marks of keys whose events Kafka acknowledged and
// returns at once: a 202 waits for Kafka, not for a second Redis round trip.
// Until a mark is set, a Claim of the same key in this process waits for it,
// so a client that re-sends right after its 202 is still told "duplicate";
// another instance sees the pending mark and answers 503 with Retry-After.
// A commit that fails leaves the pending mark to expire, and a later retry
// produces the event again (the consumer side removes duplicates by id).
func (d *Deduper) Commit(keys []string) {
	if len(keys) == 0 {
		return
	}
	op := &dedupOp{keys: keys, commit: true}
	if d.queue == nil {
		d.commitSettled(op, d.send(context.Background(), []*dedupOp{op}))
		return
	}
	op.settled = make(chan struct{})
	d.mu.Lock()
	for _, k := range keys {
		d.committing[k] = op
	}
	d.mu.Unlock()
	if err := d.enqueue(context.Background(), op); err != nil {
		d.commitSettled(op, err)
	}
}

// commitSettled ends an async commit: claims waiting on its keys go on.
func (d *Deduper) commitSettled(op *dedupOp, err error) {
	if err != nil && d.log != nil {
		d.log.Warn("de-dup commit failed; the pending marks expire and a retry produces again",
			"events", len(op.keys), "pending_ttl", d.pendingTTL, "err", err)
	}
	if op.settled == nil {
		return
	}
	d.mu.Lock()
	for _, k := range op.keys {
		if d.committing[k] == op {
			delete(d.committing, k)
		}
	}
	d.mu.Unlock()
	close(op.settled)
}

// awaitCommits waits until no commit of this process is in flight for keys.
func (d *Deduper) awaitCommits(ctx context.Context, keys []string) error {
	for _, k := range keys {
		d.mu.Lock()
		op := d.committing[k]
		d.mu.Unlock()
		if op == nil {
			continue
		}
		select {
		case <-op.settled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// flushCommits waits, at most one Redis timeout, for the queued commits.
func (d *Deduper) flushCommits() {
	d.mu.Lock()
	var waits []chan struct{}
	for _, op := range d.committing {
		waits = append(waits, op.settled)
	}
	d.mu.Unlock()
	timeout := time.NewTimer(d.guard.Timeout)
	defer timeout.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-timeout.C:
			return
		}
	}
}

func (d *Deduper) enqueue(ctx context.Context, op *dedupOp) error {
	select {
	case d.queue <- op:
		return nil
	case <-d.stop:
		return errDeduperClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Deduper) work() {
	defer d.wg.Done()
	var batch []*dedupOp
	for {
		batch = batch[:0]
		select {
		case op := <-d.queue:
			batch = append(batch, op)
		case <-d.stop:
			return
		}
		n := len(batch[0].keys)
	drain:
		for n < maxClaimBatch {
			select {
			case op := <-d.queue:
				batch = append(batch, op)
				n += len(op.keys)
			default:
				break drain
			}
		}
		// The guard's timeout bounds the call; no single request's context
		// may cancel a pipeline that carries the others' claims.
		err := d.send(context.Background(), batch)
		var orphans []string
		for _, op := range batch {
			if op.commit {
				d.commitSettled(op, err)
				continue
			}
			if op.state.CompareAndSwap(opWaiting, opAnswered) {
				op.done <- err
				continue
			}
			if err == nil {
				for i, st := range op.states {
					if st == Claimed {
						orphans = append(orphans, op.keys[i])
					}
				}
			}
		}
		if len(orphans) > 0 {
			go d.releaseOrphans(orphans)
		}
	}
}

// releaseOrphans drops pending marks claimed for requests that gave up
// while Redis was slow; their clients' retries must find no mark.
func (d *Deduper) releaseOrphans(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.guard.Timeout)
	defer cancel()
	if err := d.Release(ctx, keys); err != nil && d.log != nil {
		d.log.Warn("de-dup: releasing abandoned claims failed; they expire with the pending TTL",
			"keys", len(keys), "pending_ttl", d.pendingTTL, "err", err)
	}
}

// send runs one batch of claims and commits as one round trip, filling each
// claim's states. A claim is SET NX (a boolean reply, so the common path has
// no nil reply to handle); only the keys it found taken are read, in a second
// round trip, to tell pending from done.
func (d *Deduper) send(ctx context.Context, batch []*dedupOp) error {
	return d.guard.Once(ctx, func(ctx context.Context) error {
		if len(batch) == 1 && len(batch[0].keys) == 1 { // no pipeline needed
			op := batch[0]
			if op.commit {
				return d.rdb.Set(ctx, op.keys[0], markDone, d.window).Err()
			}
			set, err := d.rdb.SetNX(ctx, op.keys[0], markPending, d.pendingTTL).Result()
			if err != nil || set {
				return err
			}
			op.states[0], err = d.takenState(ctx, op.keys[0])
			return err
		}
		cmds, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, op := range batch {
				for _, k := range op.keys {
					if op.commit {
						p.Set(ctx, k, markDone, d.window)
					} else {
						p.SetNX(ctx, k, markPending, d.pendingTTL)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		type taken struct {
			op *dedupOp
			j  int
		}
		var takens []taken
		i := 0
		for _, op := range batch {
			for j := range op.keys {
				if !op.commit && !cmds[i].(*redis.BoolCmd).Val() {
					takens = append(takens, taken{op, j})
				}
				i++
			}
		}
		if len(takens) == 0 {
			return nil
		}
		gets, err := d.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, t := range takens {
				p.Get(ctx, t.op.keys[t.j])
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for n, t := range takens {
			st, err := markState(gets[n].(*redis.StringCmd).Result())
			if err != nil {
				return err
			}
			t.op.states[t.j] = st
		}
		return nil
	})
}

// takenState reads the mark a failed SET NX found.
func (d *Deduper) takenState(ctx context.Context, key string) (ClaimState, error) {
	return markState(d.rdb.Get(ctx, key).Result())
}

// markState names what a taken key holds. A mark gone since the SET NX
// (released or expired) counts as pending: the client retries and claims.
func markState(v string, err error) (ClaimState, error) {
	switch {
	case errors.Is(err, redis.Nil):
		return Pending, nil
	case err != nil:
		return Pending, err
	case v == markPending:
		return Pending, nil
	default:
		return Done, nil
	}
}

// Release forgets claims so a client retry is not mistaken for a duplicate.
func (d *Deduper) Release(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return d.guard.Do(ctx, func(ctx context.Context) error { return d.rdb.Del(ctx, keys...).Err() })
}
