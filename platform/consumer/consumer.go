// Package consumer moves events from Kafka (ingest-events) into ClickHouse in
// batches, at least once: offsets are committed only after the insert (and any
// dead-lettering) succeeded, and ClickHouse removes duplicates by id.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
)

// DLQ header keys; the reason is human-readable, the stage is one of
// StageDecode or StageInsert.
const (
	HeaderReason    = "dlq-reason"
	HeaderStage     = "dlq-stage"
	HeaderTopic     = "dlq-original-topic"
	HeaderPartition = "dlq-original-partition"
	HeaderOffset    = "dlq-original-offset"
	HeaderAttempts  = "dlq-attempts"
	HeaderGroup     = "dlq-consumer-group"
	HeaderTime      = "dlq-time"

	StageDecode = "decode"
	StageInsert = "insert"
)

// ClickHouse DateTime covers 1970 to 2105; later values would wrap silently.
var (
	minCreatedAt = time.Unix(1, 0).UTC()
	maxCreatedAt = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

// decodeLimits accept anything ClickHouse can store; the API is the place for
// the stricter timestamp window.
var decodeLimits = api.Limits{MaxPayloadSize: 16 << 20, MaxClockSkew: 200 * 365 * 24 * time.Hour, MaxEventAge: 200 * 365 * 24 * time.Hour}

// Consumer is one member of the consumer group.
type Consumer struct {
	cfg     Config
	log     *slog.Logger
	kc      *kgo.Client
	ch      driver.Conn
	m       *metrics
	columns []string
	insert  string

	lastBatch atomic.Int64 // unix nanos of the last committed batch
	// pendingSince is when records were polled that are not committed yet
	// (unix nanos, 0 when none): its age is how long the consumer is stuck.
	pendingSince atomic.Int64
	mu           sync.Mutex
	assigned     map[int32]bool
}

// errAbandoned ends a batch without commit: its records are read again.
var errAbandoned = errors.New("batch abandoned uncommitted")

// New creates the Kafka client (which joins the group on first poll) and the
// ClickHouse pool, and reads the events table's columns.
func New(ctx context.Context, cfg Config, log *slog.Logger, kafkaOpts ...kgo.Opt) (*Consumer, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Consumer{cfg: cfg, log: log, assigned: map[int32]bool{}}
	var err error
	c.ch, err = clickhouse.Open(&clickhouse.Options{
		Addr:         []string{cfg.ClickHouse.Addr()},
		Protocol:     clickhouse.Native,
		Auth:         clickhouse.Auth{Database: cfg.ClickHouse.DB, Username: cfg.ClickHouse.User, Password: cfg.ClickHouse.Password},
		MaxOpenConns: cfg.ClickHouse.PoolSize, MaxIdleConns: cfg.ClickHouse.PoolSize,
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if err := c.loadColumns(ctx); err != nil {
		c.ch.Close()
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.GroupID),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// Revocation waits until the polled batch is inserted and committed.
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ClientID("wotr-consumer-" + cfg.PodName),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.setAssigned(m[cfg.Topic], true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.setAssigned(m[cfg.Topic], false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.setAssigned(m[cfg.Topic], false) }),
	}, kafkaOpts...)
	c.kc, err = kgo.NewClient(opts...)
	if err != nil {
		c.ch.Close()
		return nil, fmt.Errorf("kafka: %w", err)
	}
	c.m = newMetrics(c)
	return c, nil
}

// loadColumns checks the table has the columns events need and learns the
// optional ones (ingested_at), so the INSERT names exactly what exists.
func (c *Consumer) loadColumns(ctx context.Context) error {
	q := fmt.Sprintf("SELECT name FROM system.columns WHERE database = '%s' AND table = '%s'",
		sqlString(c.cfg.ClickHouse.DB), sqlString(c.cfg.ClickHouse.Table))
	var have map[string]bool
	err := retry(ctx, 10, func() error {
		have = map[string]bool{}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rows, err := c.ch.Query(qctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			have[n] = true
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("clickhouse: reading columns of %s.%s: %w", c.cfg.ClickHouse.DB, c.cfg.ClickHouse.Table, err)
	}
	c.columns = []string{"id", "source", "type", "created_at", "payload"}
	var missing []string
	for _, col := range c.columns {
		if !have[col] {
			missing = append(missing, col)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("clickhouse: table %s.%s lacks columns %s (needs id, source, type, created_at, payload)",
			c.cfg.ClickHouse.DB, c.cfg.ClickHouse.Table, strings.Join(missing, ", "))
	}
	// Optional columns of platform/local's schema: provenance and arrival time.
	for _, col := range []string{"ingested_at", "kafka_partition", "kafka_offset"} {
		if have[col] {
			c.columns = append(c.columns, col)
		}
	}
	c.insert = fmt.Sprintf("INSERT INTO %s.%s (%s)", c.cfg.ClickHouse.DB, c.cfg.ClickHouse.Table, strings.Join(c.columns, ", "))
	return nil
}

func sqlString(s string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) }

func (c *Consumer) setAssigned(parts []int32, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The assignment changed: what was pending is now read by whoever owns it.
	c.pendingSince.Store(0)
	for _, p := range parts {
		if on {
			c.assigned[p] = true
			continue
		}
		delete(c.assigned, p)
		c.m.lag.DeleteLabelValues(c.cfg.GroupID, c.cfg.Topic, strconv.Itoa(int(p)))
	}
}

// Assigned lists the partitions this member owns.
func (c *Consumer) Assigned() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int32, 0, len(c.assigned))
	for p := range c.assigned {
		out = append(out, p)
	}
	return out
}

// Close leaves the group (when the loop ended cleanly) and closes pools.
func (c *Consumer) Close() {
	c.kc.Close()
	_ = c.ch.Close()
}

// Run polls, inserts and commits until ctx ends, and returns nil then. A
// batch in progress at the end gets ShutdownTimeout to finish and commit;
// past it, or past BatchTimeout at any time, it is abandoned uncommitted
// and its records are read again (by this member or the next owner).
func (c *Consumer) Run(ctx context.Context) error {
	for {
		fetches := c.kc.PollRecords(ctx, c.cfg.BatchSize)
		if fetches.IsClientClosed() {
			return nil
		}
		c.logFetchErrors(fetches)
		c.recordLag(fetches)
		recs := fetches.Records()
		if len(recs) > 0 {
			c.pendingSince.CompareAndSwap(0, time.Now().UnixNano())
			recs = c.fill(ctx, recs)
			err := c.runBatch(ctx, recs)
			switch {
			case err == nil:
				c.lastBatch.Store(time.Now().UnixNano())
				c.pendingSince.Store(0)
			case errors.Is(err, errAbandoned):
				c.m.abandoned.Inc()
				c.log.Warn("batch abandoned; its records will be read again", "records", len(recs), "err", err)
				c.rewind(recs)
			default:
				c.kc.AllowRebalance()
				return err
			}
		}
		// Rebalances wait for this: a batch never outlives BatchTimeout,
		// which is below the rebalance timeout, so the group never evicts
		// a member mid-batch.
		c.kc.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// runBatch bounds processBatch by BatchTimeout, and by ShutdownTimeout once
// runCtx ends.
func (c *Consumer) runBatch(runCtx context.Context, recs []*kgo.Record) error {
	bctx, cancel := context.WithTimeoutCause(context.WithoutCancel(runCtx), c.cfg.BatchTimeout,
		fmt.Errorf("batch timeout %s", c.cfg.BatchTimeout))
	defer cancel()
	var grace *time.Timer
	stop := context.AfterFunc(runCtx, func() {
		grace = time.AfterFunc(c.cfg.ShutdownTimeout, cancel)
	})
	defer func() {
		if !stop() && grace != nil {
			grace.Stop()
		}
	}()
	err := c.processBatch(bctx, runCtx, recs)
	if err != nil && bctx.Err() != nil {
		return fmt.Errorf("%w: %w", errAbandoned, context.Cause(bctx))
	}
	return err
}

// rewind sets each partition of an abandoned batch back to its first
// record, so nothing after it is committed before it is stored. Partitions
// no longer owned are left to their new owner, who starts at the commit.
func (c *Consumer) rewind(recs []*kgo.Record) {
	first := map[string]map[int32]kgo.EpochOffset{}
	for _, r := range recs {
		m := first[r.Topic]
		if m == nil {
			m = map[int32]kgo.EpochOffset{}
			first[r.Topic] = m
		}
		if o, ok := m[r.Partition]; !ok || r.Offset < o.Offset {
			m[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset}
		}
	}
	c.kc.SetOffsets(first)
}

// fill polls for more records while the batch is smaller than BatchMin (and
// BatchSize), for at most BatchWait after its first records came. A backlog
// fills batches at once and never waits. Rebalances stay blocked meanwhile,
// which BatchWait keeps far below the session timeout.
func (c *Consumer) fill(ctx context.Context, recs []*kgo.Record) []*kgo.Record {
	enough := min(c.cfg.BatchMin, c.cfg.BatchSize)
	if c.cfg.BatchWait <= 0 || len(recs) >= enough {
		return recs
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.BatchWait)
	defer cancel()
	for len(recs) < enough && wctx.Err() == nil {
		more := c.kc.PollRecords(wctx, c.cfg.BatchSize-len(recs))
		if more.IsClientClosed() {
			break
		}
		c.logFetchErrors(more)
		c.recordLag(more)
		recs = append(recs, more.Records()...)
	}
	return recs
}

func (c *Consumer) logFetchErrors(fetches kgo.Fetches) {
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		}
	})
}

// recordLag exports high watermark minus next offset per fetched partition.
func (c *Consumer) recordLag(fetches kgo.Fetches) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.Err != nil || p.HighWatermark < 0 {
			return
		}
		var next int64
		if n := len(p.Records); n > 0 {
			next = p.Records[n-1].Offset + 1
		} else {
			return
		}
		lag := p.HighWatermark - next
		if lag < 0 {
			lag = 0
		}
		c.m.lag.WithLabelValues(c.cfg.GroupID, p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(lag))
	})
}

type row struct {
	ev  api.Event
	rec *kgo.Record
}

type deadLetter struct {
	rec      *kgo.Record
	stage    string
	reason   string
	attempts int
}

// processBatch decodes, inserts, dead-letters and commits recs under ctx
// (the batch's bound); runCtx only cuts the demo's slowdown short.
func (c *Consumer) processBatch(ctx, runCtx context.Context, recs []*kgo.Record) error {
	start := time.Now()
	c.m.batchSize.Observe(float64(len(recs)))
	var rows []row
	var dead []deadLetter
	now := time.Now()
	for _, r := range recs {
		ev, err := api.ParseEvent(r.Value, decodeLimits, now)
		if err == nil && (ev.CreatedAt.Before(minCreatedAt) || ev.CreatedAt.After(maxCreatedAt)) {
			err = fmt.Errorf("created_at %s is outside what ClickHouse DateTime stores (1970-01-01 to 2105-12-31)", ev.CreatedAt.Format(time.RFC3339))
		}
		if err != nil {
			c.m.failed.WithLabelValues(StageDecode).Inc()
			dead = append(dead, deadLetter{rec: r, stage: StageDecode, reason: err.Error(), attempts: 1})
			continue
		}
		rows = append(rows, row{ev: ev, rec: r})
	}
	rejected, err := c.insertRows(ctx, rows)
	if err != nil {
		return err
	}
	dead = append(dead, rejected...)
	if err := c.deadLetter(ctx, dead); err != nil {
		return err
	}
	if c.cfg.Slowdown > 0 {
		// Between insert and commit, so lag builds and a kill here shows that
		// uncommitted but inserted rows are re-delivered, not lost.
		t := time.NewTimer(c.cfg.Slowdown)
		select {
		case <-runCtx.Done():
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	// Offsets move only now: everything polled is in ClickHouse or the DLQ.
	// A member that lost its partitions must not commit for them.
	err = retry(ctx, -1, func() error {
		err := c.kc.CommitRecords(ctx, recs...)
		if isMembershipError(err) {
			return stopRetry{err}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: commit offsets: %w", errAbandoned, err)
	}
	c.m.batchDuration.Observe(time.Since(start).Seconds())
	return nil
}

// insertRows inserts rows as one block. A block ClickHouse rejects for its
// data (isDataError) is split in halves until the rejected rows are
// isolated; those come back as dead letters and the rest is inserted.
// Every other failure (server state, overload, network) is retried until
// ctx ends, so an outage delays events but never dead-letters them.
func (c *Consumer) insertRows(ctx context.Context, rows []row) ([]deadLetter, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var rejected error
	attempts, wait := 0, 50*time.Millisecond
	for {
		attempts++
		err := c.insertBlock(ctx, rows)
		if err == nil {
			c.m.processed.Add(float64(len(rows)))
			return nil, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(err, ctx.Err())
		}
		c.m.insertRetries.Inc()
		if isDataError(err) {
			rejected = err
			if attempts > c.cfg.InsertRetries {
				break
			}
		} else {
			c.log.Warn("clickhouse insert failed; retrying", "rows", len(rows), "attempt", attempts, "code", exceptionCode(err), "err", err)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*2, 5*time.Second)
	}
	if len(rows) == 1 {
		c.m.failed.WithLabelValues(StageInsert).Inc()
		return []deadLetter{{rec: rows[0].rec, stage: StageInsert, reason: rejected.Error(), attempts: attempts}}, nil
	}
	c.log.Warn("clickhouse rejected a block's data; isolating bad rows", "rows", len(rows), "err", rejected)
	half := len(rows) / 2
	a, err := c.insertRows(ctx, rows[:half])
	if err != nil {
		return nil, err
	}
	b, err := c.insertRows(ctx, rows[half:])
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

func (c *Consumer) insertBlock(ctx context.Context, rows []row) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
	defer cancel()
	t0 := time.Now()
	b, err := c.ch.PrepareBatch(ctx, c.insert)
	if err != nil {
		return err
	}
	ingested := time.Now().UTC()
	vals := make([]any, len(c.columns))
	for _, r := range rows {
		ev := r.ev
		for i, col := range c.columns {
			switch col {
			case "id":
				vals[i] = ev.ID
			case "source":
				vals[i] = ev.Source
			case "type":
				vals[i] = ev.Type
			case "created_at":
				vals[i] = ev.CreatedAt
			case "payload":
				vals[i] = string(ev.Payload)
			case "ingested_at":
				vals[i] = ingested
			case "kafka_partition":
				vals[i] = r.rec.Partition
			case "kafka_offset":
				vals[i] = r.rec.Offset
			}
		}
		if err = b.Append(vals...); err != nil {
			_ = b.Abort()
			return &appendError{err}
		}
	}
	if err := b.Send(); err != nil {
		return err
	}
	c.m.insertDuration.Observe(time.Since(t0).Seconds())
	return nil
}

// deadLetter writes records to the DLQ with their reason in headers and waits
// for the acks; it retries until Kafka takes them.
func (c *Consumer) deadLetter(ctx context.Context, dead []deadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	out := make([]*kgo.Record, len(dead))
	for i, d := range dead {
		c.log.Warn("dead-lettering record", "stage", d.stage, "partition", d.rec.Partition, "offset", d.rec.Offset, "reason", d.reason)
		h := append([]kgo.RecordHeader{}, d.rec.Headers...)
		h = append(h,
			kgo.RecordHeader{Key: HeaderReason, Value: []byte(d.reason)},
			kgo.RecordHeader{Key: HeaderStage, Value: []byte(d.stage)},
			kgo.RecordHeader{Key: HeaderTopic, Value: []byte(d.rec.Topic)},
			kgo.RecordHeader{Key: HeaderPartition, Value: []byte(strconv.Itoa(int(d.rec.Partition)))},
			kgo.RecordHeader{Key: HeaderOffset, Value: []byte(strconv.FormatInt(d.rec.Offset, 10))},
			kgo.RecordHeader{Key: HeaderAttempts, Value: []byte(strconv.Itoa(d.attempts))},
			kgo.RecordHeader{Key: HeaderGroup, Value: []byte(c.cfg.GroupID)},
			kgo.RecordHeader{Key: HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		)
		out[i] = &kgo.Record{Topic: c.cfg.DLQTopic, Key: d.rec.Key, Value: d.rec.Value, Headers: h}
	}
	err := retry(ctx, -1, func() error { return c.kc.ProduceSync(ctx, out...).FirstErr() })
	if err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	for _, d := range dead {
		c.m.deadLettered.WithLabelValues(d.stage).Inc()
	}
	return nil
}

// stopRetry makes retry return its error at once.
type stopRetry struct{ err error }

func (s stopRetry) Error() string { return s.err.Error() }
func (s stopRetry) Unwrap() error { return s.err }

// retry runs fn until it succeeds, ctx ends, fn returns a stopRetry, or
// (max >= 0) max retries were spent, with capped exponential backoff and
// jitter.
func retry(ctx context.Context, max int, fn func() error) error {
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		var stop stopRetry
		if errors.As(err, &stop) || (max >= 0 && attempt >= max) {
			return err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// PendingSince is when the oldest polled, uncommitted record was polled
// (zero when none is pending).
func (c *Consumer) PendingSince() time.Time {
	if n := c.pendingSince.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// LastBatch is when the poll loop last committed a batch (zero before the first).
func (c *Consumer) LastBatch() time.Time {
	if n := c.lastBatch.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}
