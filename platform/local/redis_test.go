package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestRedisReplicaInSync(t *testing.T) {
	p := localtest.Platform(t, local.Redis)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	primary := redis.NewClient(&redis.Options{Addr: p.Redis.Primary.Addr})
	defer primary.Close()
	replica := redis.NewClient(&redis.Options{Addr: p.Redis.Replica.Addr})
	defer replica.Close()

	info, err := replica.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_link_status:up") {
		t.Fatalf("replica INFO replication:\n%s", info)
	}
	want := time.Now().Format(time.RFC3339Nano)
	if err := primary.Set(ctx, "wotr:replication-probe", want, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := replica.Get(ctx, "wotr:replication-probe").Result()
		if err == nil && got == want {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("replica never returned the value written on the primary (last: %q, %v)", got, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := replica.Set(ctx, "wotr:x", "1", 0).Err(); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("write on replica: err = %v, want READONLY", err)
	}
}
