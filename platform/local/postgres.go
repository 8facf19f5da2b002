package local

import (
	"context"
	"errors"
)

// PostgresOptions configures the postgres component. (placeholder: being implemented)
type PostgresOptions struct{}

// PostgresPair is the running postgres component.
type PostgresPair struct{}

func (p *Platform) startPostgres(ctx context.Context) error {
	return errors.New("postgres: not implemented yet")
}
