package local

import (
	"context"
	"errors"
)

// KubeOptions configures the kube component. (placeholder: being implemented)
type KubeOptions struct{}

// KubeCluster is the running kube component.
type KubeCluster struct{}

func (p *Platform) startKube(ctx context.Context) error {
	return errors.New("kube: not implemented yet")
}
