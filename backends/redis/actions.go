package redis

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wotr/wotr-tui/ops/action"
)

// The capabilities the actions use, implemented by *Client.
var (
	_ action.RedisPromoter     = (*Client)(nil)
	_ action.BackupTaker       = (*Client)(nil)
	_ action.ConnectionLimiter = (*Client)(nil)
)

// ConnectionLimit is maxclients and connected_clients.
func (c *Client) ConnectionLimit(ctx context.Context) (limit, open int, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cfg, err := c.Redis.ConfigGet(ctx, "maxclients").Result()
	if err != nil {
		return 0, 0, err
	}
	if limit, err = strconv.Atoi(cfg["maxclients"]); err != nil {
		return 0, 0, fmt.Errorf("maxclients %q: %w", cfg["maxclients"], err)
	}
	info, err := c.Redis.Info(ctx, "clients").Result()
	if err != nil {
		return 0, 0, err
	}
	open, _ = strconv.Atoi(infoField(info, "connected_clients"))
	return limit, open, nil
}

func infoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

// RedisRole is "master" or "slave" (INFO replication's role).
func (c *Client) RedisRole(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	info, err := c.Redis.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	return infoField(info, "role"), nil
}

// PromoteReplica turns the replica into a primary (REPLICAOF NO ONE).
func (c *Client) PromoteReplica(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return c.Redis.Do(ctx, "REPLICAOF", "NO", "ONE").Err()
}

// BackupMethod says how the backup is taken.
func (c *Client) BackupMethod(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	info, err := c.Redis.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	return "BGSAVE, verified by LASTSAVE (redis " + infoField(info, "redis_version") + ")", nil
}

// TakeBackup runs BGSAVE, waits until LASTSAVE moves past its value before the
// save, and copies the RDB file into dir when the server's dir is local.
func (c *Client) TakeBackup(ctx context.Context, dir string, progress func(string)) (action.BackupInfo, error) {
	info := action.BackupInfo{Method: "bgsave", Location: dir}
	before, err := c.Redis.LastSave(ctx).Result()
	if err != nil {
		return info, fmt.Errorf("LASTSAVE: %w", err)
	}
	// LASTSAVE has one-second resolution: a save in the same second as the
	// last one would be indistinguishable from it.
	if wait := time.Until(time.Unix(before+1, 0)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return info, ctx.Err()
		case <-t.C:
		}
	}
	if err := c.Redis.BgSave(ctx).Err(); err != nil {
		return info, fmt.Errorf("BGSAVE: %w", err)
	}
	if progress != nil {
		progress(fmt.Sprintf("BGSAVE started; LASTSAVE was %s", time.Unix(before, 0).UTC().Format(time.RFC3339)))
	}
	var after int64
	for {
		after, err = c.Redis.LastSave(ctx).Result()
		if err != nil {
			return info, fmt.Errorf("LASTSAVE: %w", err)
		}
		if after > before {
			break
		}
		pinfo, err := c.Redis.Info(ctx, "persistence").Result()
		if err == nil && infoField(pinfo, "rdb_bgsave_in_progress") == "0" && infoField(pinfo, "rdb_last_bgsave_status") == "err" {
			return info, fmt.Errorf("BGSAVE failed (rdb_last_bgsave_status:err)")
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return info, fmt.Errorf("BGSAVE did not finish: LASTSAVE still %d: %w", after, ctx.Err())
		case <-t.C:
		}
	}
	info.Detail = fmt.Sprintf("LASTSAVE %s", time.Unix(after, 0).UTC().Format(time.RFC3339))
	cfg, err := c.Redis.ConfigGet(ctx, "dir").Result()
	if err != nil {
		return info, err
	}
	fcfg, err := c.Redis.ConfigGet(ctx, "dbfilename").Result()
	if err != nil {
		return info, err
	}
	src := filepath.Join(cfg["dir"], fcfg["dbfilename"])
	n, err := copyFile(src, filepath.Join(dir, fcfg["dbfilename"]))
	if err != nil {
		// A remote server: the snapshot is on its disk.
		info.Location = c.Addr + ":" + src
		info.Detail += "; snapshot left on the server: " + err.Error()
		if st, serr := os.Stat(src); serr == nil {
			info.SizeBytes = st.Size()
		}
		return info, nil
	}
	info.SizeBytes = n
	info.Detail += ", copied from " + src
	if info.RowCounts, err = rdbKeyCounts(filepath.Join(dir, fcfg["dbfilename"])); err != nil {
		return info, fmt.Errorf("key count of the snapshot: %w", err)
	}
	if progress != nil {
		progress(fmt.Sprintf("copied %s (%d bytes)", src, n))
	}
	return info, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err != nil {
		out.Close()
		return n, err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return n, err
	}
	return n, out.Close()
}

var _ action.RedisReplicator = (*Client)(nil)

// ReplicaOf makes the server a replica of addr. A password-protected primary
// needs masterauth first.
func (c *Client) ReplicaOf(ctx context.Context, addr, password string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("primary address %q: %w", addr, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if password != "" {
		if err := c.Redis.ConfigSet(ctx, "masterauth", password).Err(); err != nil {
			return fmt.Errorf("CONFIG SET masterauth: %w", err)
		}
	}
	return c.Redis.Do(ctx, "REPLICAOF", host, port).Err()
}

// ReplicationLink is true once the server is a replica whose link to its
// primary is up and whose initial sync has finished.
func (c *Client) ReplicationLink(ctx context.Context) (bool, string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	info, err := c.Redis.Info(ctx, "replication").Result()
	if err != nil {
		return false, "", err
	}
	role, link, syncing := infoField(info, "role"), infoField(info, "master_link_status"), infoField(info, "master_sync_in_progress")
	detail := fmt.Sprintf("role %s, link %s, offset %s", role, link, infoField(info, "slave_repl_offset"))
	return role == "slave" && link == "up" && syncing == "0", detail, nil
}
