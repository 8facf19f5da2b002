package local

import (
	"context"
	"errors"
)

// KafkaOptions configures the kafka component. (placeholder: being implemented)
type KafkaOptions struct{}

// KafkaCluster is the running kafka component.
type KafkaCluster struct{}

func (p *Platform) startKafka(ctx context.Context) error {
	return errors.New("kafka: not implemented yet")
}
