package local

import (
	"context"
	"errors"
)

// ClickHouseOptions configures the clickhouse component. (placeholder: being implemented)
type ClickHouseOptions struct{}

// ClickHouseCluster is the running clickhouse component.
type ClickHouseCluster struct{}

func (p *Platform) startClickHouse(ctx context.Context) error {
	return errors.New("clickhouse: not implemented yet")
}
