package api

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// StatsRow is one (source, type) count.
type StatsRow struct {
	Source string `json:"source"`
	Type   string `json:"type"`
	Count  uint64 `json:"count"`
}

// StatsResponse is the /v1/stats body.
type StatsResponse struct {
	Window string     `json:"window"`
	Since  time.Time  `json:"since"`
	Rows   []StatsRow `json:"rows"`
}

// MaxStatsWindow bounds how far back /v1/stats may scan.
const MaxStatsWindow = 31 * 24 * time.Hour

// handleStats counts the caller's events per type whose created_at lies
// within ?window= (default 1h). An API key reads only its own source: a
// ?source= naming another is refused.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	own, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > MaxStatsWindow {
			s.fail(w, http.StatusBadRequest, fmt.Sprintf("window=%q: must be a duration (like 15m or 24h) greater than 0 and at most %s", v, MaxStatsWindow))
			return
		}
		window = d
	}
	source := own
	if v := r.URL.Query().Get("source"); v != "" && v != own {
		s.fail(w, http.StatusForbidden, fmt.Sprintf("source=%q: an API key reads only its own source's stats (%q)", v, own))
		return
	}
	since := s.now().Add(-window).UTC().Truncate(time.Second)
	rows, err := s.Stats(r.Context(), since, source)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	writeJSON(w, http.StatusOK, StatsResponse{Window: window.String(), Since: since, Rows: rows})
}

// Stats queries ClickHouse. Values are inlined as integers or checked names
// because ClickHouse 18.16 predates server-side query parameters.
func (s *Server) Stats(ctx context.Context, since time.Time, source string) ([]StatsRow, error) {
	q := fmt.Sprintf("SELECT source, type, uniqExact(id) AS n FROM %s.%s WHERE created_at >= toDateTime(%d)",
		s.cfg.ClickHouse.DB, s.cfg.ClickHouse.Table, since.Unix())
	if source != "" {
		q += fmt.Sprintf(" AND source = '%s'", source) // checkName allows no quotes
	}
	q += " GROUP BY source, type ORDER BY source, type"
	var out []StatsRow
	err := s.chGuard.Do(ctx, func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.ch.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var row StatsRow
			if err := rows.Scan(&row.Source, &row.Type, &row.Count); err != nil {
				return err
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	if out == nil {
		out = []StatsRow{}
	}
	return out, err
}
