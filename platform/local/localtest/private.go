package localtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
)

// Private starts a platform of its own for one test or benchmark, stopped when
// it ends. For tests that change the platform for good (promote, failover), so
// the package's shared platform stays as the other tests expect it, and for
// benchmarks, which run without the shared platform. Skips (or fails when
// integration is required) when a component is missing.
func Private(t testing.TB, opts local.Options) *local.Platform {
	t.Helper()
	if testing.Short() || os.Getenv("WOTR_SKIP_INTEGRATION") == "1" {
		t.Skip("integration tests disabled (-short or WOTR_SKIP_INTEGRATION=1)")
	}
	if err := Unavailable(opts); err != nil {
		if Required() {
			t.Fatalf("integration required (WOTR_REQUIRE_INTEGRATION=1) but %v", err)
		}
		t.Skipf("local platform unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := local.Start(ctx, opts)
	if err != nil {
		t.Fatalf("private platform: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop private platform: %v", err)
		}
	})
	return p
}
