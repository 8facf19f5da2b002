package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// ReadCHReplicas reads system.replicas from every replica concurrently. A
// replica that cannot be reached fails the read, naming its address.
func (c *Client) ReadCHReplicas(ctx context.Context) ([]state.CHReplica, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res := make([][]state.CHReplica, len(c.Replicas))
	errs := make([]error, len(c.Replicas))
	var wg sync.WaitGroup
	for i, r := range c.Replicas {
		wg.Add(1)
		go func(i int, r Replica) {
			defer wg.Done()
			res[i], errs[i] = readReplicas(ctx, r)
		}(i, r)
	}
	wg.Wait()
	var out []state.CHReplica
	var bad []string
	for i := range res {
		if errs[i] != nil {
			bad = append(bad, errs[i].Error())
			continue
		}
		out = append(out, res[i]...)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("clickhouse: %s", strings.Join(bad, "; "))
	}
	return out, nil
}

func readReplicas(ctx context.Context, r Replica) ([]state.CHReplica, error) {
	rows, err := r.Conn.Query(ctx, `SELECT database, table, replica_name, is_leader, is_readonly,
       is_session_expired, absolute_delay, queue_size, inserts_in_queue FROM system.replicas`)
	if err != nil {
		return nil, fmt.Errorf("%s: system.replicas: %w", r.Addr, err)
	}
	defer rows.Close()
	var out []state.CHReplica
	for rows.Next() {
		var x state.CHReplica
		var leader, ro, expired uint8
		var delay uint64
		var queue, inserts uint32
		if err := rows.Scan(&x.Database, &x.Table, &x.Replica, &leader, &ro, &expired, &delay, &queue, &inserts); err != nil {
			return nil, fmt.Errorf("%s: system.replicas: %w", r.Addr, err)
		}
		x.IsLeader, x.IsReadonly, x.SessionExpired = leader == 1, ro == 1, expired == 1
		x.AbsoluteDelay, x.QueueSize, x.InsertsInQueue = float64(delay), int(queue), int(inserts)
		x.Replica = x.Replica + " (" + r.Addr + ")"
		out = append(out, x)
	}
	return out, rows.Err()
}

// Version of the server at replica i, as "major.minor.patch...".
func (c *Client) Version(ctx context.Context, i int) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var v string
	if err := c.Replicas[i].Conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", fmt.Errorf("clickhouse %s: version: %w", c.Replicas[i].Addr, err)
	}
	return v, nil
}

// HasSystemBackups reports whether a server version has system.backups
// (BACKUP/RESTORE arrived in 22.8).
func HasSystemBackups(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 22 || (major == 22 && minor >= 8)
}

// ListBackups reads system.backups of the first replica whose server has it;
// older servers (such as 18.16) have no server-side backups and list nothing.
func (c *Client) ListBackups(ctx context.Context) ([]state.Backup, error) {
	v, err := c.Version(ctx, 0)
	if err != nil {
		return nil, err
	}
	if !HasSystemBackups(v) {
		return nil, nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := c.Replicas[0].Conn.Query(ctx, `SELECT id, name, toString(status), error, start_time, end_time FROM system.backups`)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: system.backups: %w", c.Replicas[0].Addr, err)
	}
	defer rows.Close()
	var out []state.Backup
	for rows.Next() {
		var b state.Backup
		var status string
		var start, end time.Time
		if err := rows.Scan(&b.ID, &b.Location, &status, &b.Error, &start, &end); err != nil {
			return nil, fmt.Errorf("clickhouse %s: system.backups: %w", c.Replicas[0].Addr, err)
		}
		b.Store, b.StartedAt, b.Finished = "clickhouse", start, end
		switch {
		case strings.HasSuffix(status, "_FAILED") || strings.Contains(status, "FAIL"):
			b.State = "failed"
		case strings.HasSuffix(status, "CREATED") || strings.HasSuffix(status, "RESTORED"):
			b.State = "done"
		default:
			b.State = "running"
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
