package prom

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/state"
)

// QueryVector runs an instant query and returns its samples with their labels
// (the metric name under "__name__"): the ops.PromQuerier of runbooks and the
// collector. A scalar answer becomes one sample without labels; NaN samples
// (histogram_quantile over no traffic) are dropped, since they compare with nothing.
func (c *Client) QueryVector(ctx context.Context, q string) ([]state.Sample, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	v, _, _, err := c.API.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("prom: query %q: %w", q, err)
	}
	switch t := v.(type) {
	case model.Vector:
		return samplesOf(t), nil
	case *model.Scalar:
		if math.IsNaN(float64(t.Value)) {
			return nil, nil
		}
		return []state.Sample{{Labels: map[string]string{}, Value: float64(t.Value)}}, nil
	}
	return nil, fmt.Errorf("prom: query %q: want a vector or scalar, got %s", q, v.Type())
}

func samplesOf(vec model.Vector) []state.Sample {
	out := make([]state.Sample, 0, len(vec))
	for _, s := range vec {
		v := float64(s.Value)
		if math.IsNaN(v) {
			continue
		}
		labels := make(map[string]string, len(s.Metric))
		for k, lv := range s.Metric {
			labels[string(k)] = string(lv)
		}
		out = append(out, state.Sample{Labels: labels, Value: v})
	}
	return out
}

var (
	_ state.PromQuerier      = (*Client)(nil)
	_ collect.HistoryQuerier = (*Client)(nil)
)

// QueryRangeSeries runs a range query and returns each series with its
// labels: the collect.HistoryQuerier that backfills the console's history.
// NaN points (a ratio over no traffic) are dropped.
func (c *Client) QueryRangeSeries(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]state.RangeSeries, error) {
	m, err := c.QueryRange(ctx, q, start, end, step)
	if err != nil {
		return nil, err
	}
	out := make([]state.RangeSeries, 0, len(m))
	for _, ss := range m {
		labels := make(map[string]string, len(ss.Metric))
		for k, v := range ss.Metric {
			labels[string(k)] = string(v)
		}
		pts := make([]state.Point, 0, len(ss.Values))
		for _, p := range ss.Values {
			if v := float64(p.Value); !math.IsNaN(v) {
				pts = append(pts, state.Point{At: p.Timestamp.Time(), Value: v})
			}
		}
		out = append(out, state.RangeSeries{Labels: labels, Points: pts})
	}
	return out, nil
}
