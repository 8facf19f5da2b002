package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/ops/action"
)

var _ action.StoreRestorer = (*Client)(nil)

// A restore loads the backup into a scratch redis-server and copies its keys
// into the live server (FLUSHALL, then DUMP/RESTORE REPLACE per key) rather
// than swapping the RDB file under a stopped server: the console neither owns
// the server's process nor its config, a file swap leaves the server down if
// the new file does not load, and replicas follow a keyspace change through
// replication but would need a full resync after a file swap.

// RestoreFacts checks the backup holds a snapshot and the live server can
// keep its current data beside the backups before it is replaced.
func (c *Client) RestoreFacts(ctx context.Context, req action.StoreRestore) (action.RestoreFacts, error) {
	facts := action.RestoreFacts{LostBytes: -1}
	rdb, err := snapshotFile(req.Entry.Location)
	if err != nil {
		return facts, err
	}
	if _, err := liveSnapshotPath(ctx, c); err != nil {
		return facts, err
	}
	size, err := c.Redis.DBSize(ctx).Result()
	if err != nil {
		return facts, fmt.Errorf("DBSIZE of the live server: %w", err)
	}
	facts.Notes = append(facts.Notes, fmt.Sprintf("live server %s holds %d keys; the backup's snapshot %s holds %d", c.Addr, size, filepath.Base(rdb), req.Entry.RowCounts["db0"]),
		"the live keys are saved beside the backup before they are replaced")
	return facts, nil
}

// liveSnapshotPath is the live server's RDB file, which must be on this machine
// so the data it replaces can be kept.
func liveSnapshotPath(ctx context.Context, c *Client) (string, error) {
	dir, err := c.Redis.ConfigGet(ctx, "dir").Result()
	if err != nil {
		return "", fmt.Errorf("CONFIG GET dir: %w", err)
	}
	file, err := c.Redis.ConfigGet(ctx, "dbfilename").Result()
	if err != nil {
		return "", fmt.Errorf("CONFIG GET dbfilename: %w", err)
	}
	p := filepath.Join(dir["dir"], file["dbfilename"])
	if _, err := os.Stat(dir["dir"]); err != nil {
		return "", fmt.Errorf("the live server's data dir %s is not on this machine (%v): its keys could not be kept before the restore replaces them", dir["dir"], err)
	}
	return p, nil
}

type redisPrepared struct {
	live    *Client
	scratch *scratchRedis
	entry   string // backup location
	keys    int64
	checks  []action.Check
	detail  string
}

// PrepareRestore loads the backup into a scratch server and checks it as
// backup verify does; the live server is not touched.
func (c *Client) PrepareRestore(ctx context.Context, req action.StoreRestore, progress func(string)) (action.PreparedRestore, error) {
	rdb, err := snapshotFile(req.Entry.Location)
	if err != nil {
		return nil, err
	}
	s, err := startScratchRedis(ctx, rdb, "")
	if err != nil {
		return nil, err
	}
	var rep action.VerifyReport
	size, err := checkScratch(ctx, s, req.Entry, &rep)
	if err != nil {
		_ = s.remove()
		return nil, err
	}
	if progress != nil {
		progress(fmt.Sprintf("%d keys loaded into a scratch redis-server", size))
	}
	return &redisPrepared{live: c, scratch: s, entry: req.Entry.Location, keys: size, checks: rep.Checks,
		detail: fmt.Sprintf("%d keys loaded from the backup, checked", size)}, nil
}

func (p *redisPrepared) Checks() []action.Check { return p.checks }
func (p *redisPrepared) Detail() string         { return p.detail }
func (p *redisPrepared) Discard() error         { return p.scratch.remove() }

// SwapIn saves the live keys beside the backup, flushes the live server and
// copies every key of the scratch server into it with its TTL.
func (p *redisPrepared) SwapIn(ctx context.Context, progress func(string)) (action.SwapReport, error) {
	var rep action.SwapReport
	defer p.scratch.remove() //nolint:errcheck
	kept := filepath.Join(filepath.Dir(p.entry), "redis.before-restore-"+time.Now().UTC().Format("20060102T150405"))
	if err := os.MkdirAll(kept, 0o700); err != nil {
		return rep, err
	}
	info, err := p.live.TakeBackup(ctx, kept, progress)
	if err != nil {
		return rep, fmt.Errorf("saving the live keys before the restore (nothing replaced): %w", err)
	}
	if info.Location != kept {
		return rep, fmt.Errorf("the live snapshot could not be copied to %s (%s): nothing replaced", kept, info.Detail)
	}
	rep.OldDataDir = kept
	live := p.live.Redis
	if err := live.FlushAll(ctx).Err(); err != nil {
		return rep, fmt.Errorf("FLUSHALL: %w", err)
	}
	var copied int64
	iter := p.scratch.c.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if err := copyKey(ctx, p.scratch.c, live, k); err != nil {
			return rep, fmt.Errorf("key %q after %d of %d copied: %w", k, copied, p.keys, err)
		}
		copied++
		if progress != nil && copied%1000 == 0 {
			progress(fmt.Sprintf("%d of %d keys copied", copied, p.keys))
		}
	}
	if err := iter.Err(); err != nil {
		return rep, fmt.Errorf("SCAN of the restored copy after %d keys: %w", copied, err)
	}
	size, err := live.DBSize(ctx).Result()
	c := action.Check{Name: "redis keys restored"}
	switch {
	case err != nil:
		c.Status, c.Detail = action.CheckFail, "DBSIZE: "+err.Error()
	case size != p.keys:
		// Writers may add keys during the copy; fewer means a copy was lost.
		c.Status, c.Detail = action.CheckWarn, fmt.Sprintf("DBSIZE %d after copying %d keys (clients wrote during the restore)", size, p.keys)
		if size < p.keys {
			c.Status = action.CheckFail
		}
	default:
		c.Status, c.Detail = action.CheckPass, fmt.Sprintf("DBSIZE %d, the backup's key count", size)
	}
	rep.Checks = append(rep.Checks, c)
	rep.Detail = fmt.Sprintf("%d keys copied into %s", copied, p.live.Addr)
	return rep, nil
}

// copyKey moves one key with its remaining TTL; a key that expired in the
// scratch server meanwhile is skipped.
func copyKey(ctx context.Context, from, to *goredis.Client, key string) error {
	v, err := from.Dump(ctx, key).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	ttl, err := from.PTTL(ctx, key).Result()
	if err != nil {
		return err
	}
	if ttl < 0 {
		ttl = 0 // no expiry (-1)
	}
	return to.RestoreReplace(ctx, key, ttl, v).Err()
}
