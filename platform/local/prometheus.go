package local

import (
	"context"
	"errors"
)

// PrometheusOptions configures the prometheus component. (placeholder: being implemented)
type PrometheusOptions struct{}

// PrometheusServer is the running prometheus component.
type PrometheusServer struct{}

func (p *Platform) startPrometheus(ctx context.Context) error {
	return errors.New("prometheus: not implemented yet")
}
