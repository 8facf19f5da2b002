package readtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Kafka, local.Postgres, local.Redis, local.ClickHouse, local.Kube}}))
}

// pollUntil retries check until it returns nil or the deadline passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not a wait for state
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }
