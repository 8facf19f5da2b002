package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// ReadPGReplication reports replication as this server sees it. A primary
// reports one row per standby from pg_stat_replication (byte lags against
// pg_current_wal_lsn, time lags from the walsender); a standby reports itself:
// receive-vs-replay bytes, seconds since the last replayed transaction while
// replay is behind, and whether replay is paused.
func (c *Client) ReadPGReplication(ctx context.Context) ([]state.PGStandby, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var inRecovery bool
	if err := c.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil {
		return nil, fmt.Errorf("postgres %s: %w", c.Name, err)
	}
	if inRecovery {
		s, err := c.standbySelf(ctx)
		if err != nil {
			return nil, err
		}
		return []state.PGStandby{s}, nil
	}
	rows, err := c.Pool.Query(ctx, `
SELECT coalesce(application_name, ''), coalesce(state, ''),
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), 0)::bigint,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0)::bigint,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0)::bigint,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
       coalesce(extract(epoch FROM write_lag), 0)::float8,
       coalesce(extract(epoch FROM flush_lag), 0)::float8,
       coalesce(extract(epoch FROM replay_lag), 0)::float8
FROM pg_stat_replication ORDER BY application_name`)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: pg_stat_replication: %w", c.Name, err)
	}
	defer rows.Close()
	var out []state.PGStandby
	for rows.Next() {
		var s state.PGStandby
		if err := rows.Scan(&s.Name, &s.State, &s.SentLagBytes, &s.WriteLagBytes, &s.FlushLagBytes,
			&s.ReplayLagBytes, &s.WriteLagSeconds, &s.FlushLagSeconds, &s.ReplayLagSeconds); err != nil {
			return nil, fmt.Errorf("postgres %s: pg_stat_replication: %w", c.Name, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (c *Client) standbySelf(ctx context.Context) (state.PGStandby, error) {
	s := state.PGStandby{Name: c.Name, Self: true}
	var lastReplay *time.Time
	var status *string
	err := c.Pool.QueryRow(ctx, `
SELECT pg_last_xact_replay_timestamp(),
       pg_is_wal_replay_paused(),
       coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
       (SELECT status FROM pg_stat_wal_receiver LIMIT 1)`).Scan(
		&lastReplay, &s.ReplayPaused, &s.ReplayLagBytes, &s.ReplayLagSeconds, &status)
	if err != nil {
		return s, fmt.Errorf("postgres %s: standby status: %w", c.Name, err)
	}
	if lastReplay != nil {
		s.LastReplay = *lastReplay
	}
	switch {
	case s.ReplayPaused:
		s.State = "paused"
	case status != nil:
		s.State = *status
	default:
		s.State = "disconnected"
	}
	return s, nil
}

// ReadStorePool reads client connections by application against
// max_connections and superuser_reserved_connections.
func (c *Client) ReadStorePool(ctx context.Context) (state.StorePool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	p := state.StorePool{Store: state.SystemPostgres, ByApplication: map[string]int{}}
	if err := c.Pool.QueryRow(ctx, `SELECT current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int`).Scan(&p.Limit, &p.Reserved); err != nil {
		return p, fmt.Errorf("postgres %s: settings: %w", c.Name, err)
	}
	rows, err := c.Pool.Query(ctx, `SELECT coalesce(nullif(application_name, ''), '(none)'), count(*)::int
FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1`)
	if err != nil {
		return p, fmt.Errorf("postgres %s: pg_stat_activity: %w", c.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var app string
		var n int
		if err := rows.Scan(&app, &n); err != nil {
			return p, fmt.Errorf("postgres %s: pg_stat_activity: %w", c.Name, err)
		}
		p.ByApplication[app] = n
		p.Connections += n
	}
	return p, rows.Err()
}
