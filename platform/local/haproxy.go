package local

import (
	"context"
	"errors"
)

// HAProxyOptions configures the haproxy component. (placeholder: being implemented)
type HAProxyOptions struct{}

// HAProxyServer is the running haproxy component.
type HAProxyServer struct{}

func (p *Platform) startHAProxy(ctx context.Context) error {
	return errors.New("haproxy: not implemented yet")
}
