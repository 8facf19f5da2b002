package state

import (
	"context"
)

// Sample is one value of a PromQL vector with its labels.
type Sample struct {
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

// PromQuerier runs an instant PromQL query.
type PromQuerier interface {
	QueryVector(ctx context.Context, query string) ([]Sample, error)
}
