package prom

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

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

var _ state.PromQuerier = (*Client)(nil)
