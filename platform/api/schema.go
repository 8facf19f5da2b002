package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Demo credentials seeded by the local platform and the demo. Never use them
// outside a throwaway environment.
const (
	DemoSource = "demo"
	DemoAPIKey = "wotr-demo-key-0123456789"
)

// HashKey is how API keys are stored: only their SHA-256, never the key.
func HashKey(apiKey string) string {
	sum := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(sum[:])
}

const sourcesDDL = `
CREATE TABLE IF NOT EXISTS sources (
	name           text PRIMARY KEY,
	api_key_sha256 text NOT NULL UNIQUE,
	active         boolean NOT NULL DEFAULT true,
	created_at     timestamptz NOT NULL DEFAULT now()
)`

// Source is one API client allowed to ingest events under its name.
type Source struct {
	Name   string
	APIKey string
}

// Bootstrap creates the sources table and upserts the given sources. It is
// idempotent and safe to run from several processes at once.
func Bootstrap(ctx context.Context, dsn string, sources ...Source) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("bootstrap: connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Concurrent CREATE TABLE IF NOT EXISTS can still collide in pg_type.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7470657)`); err != nil {
			return fmt.Errorf("bootstrap: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, sourcesDDL); err != nil {
			return fmt.Errorf("bootstrap: create sources: %w", err)
		}
		for _, s := range sources {
			if s.Name == "" || s.APIKey == "" {
				return fmt.Errorf("bootstrap: source %q: name and API key must both be set", s.Name)
			}
			if _, err := checkName("source", &s.Name, MaxSourceLen, isIDChar); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO sources (name, api_key_sha256) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET api_key_sha256 = EXCLUDED.api_key_sha256, active = true`,
				s.Name, HashKey(s.APIKey))
			if err != nil {
				return fmt.Errorf("bootstrap: upsert source %q: %w", s.Name, err)
			}
		}
		return nil
	})
}
