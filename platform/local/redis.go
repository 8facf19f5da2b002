package local

import (
	"context"
	"errors"
)

// RedisOptions configures the redis component. (placeholder: being implemented)
type RedisOptions struct{}

// RedisPair is the running redis component.
type RedisPair struct{}

func (p *Platform) startRedis(ctx context.Context) error {
	return errors.New("redis: not implemented yet")
}
