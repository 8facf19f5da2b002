package wire

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

// silentListener accepts connections and never answers, the way a broker
// behind a partition looks.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func metaOf(s state.Snapshot, prefix string) (state.Meta, bool) {
	for _, m := range s.Sources {
		if strings.HasPrefix(m.Source, prefix) {
			return m, true
		}
	}
	return state.Meta{}, false
}

// A context whose Kafka accepts and never answers opens at once: within a
// second of opening, the console's collector has published a snapshot with
// the fast source in it (the backup catalog) and Kafka still loading; Kafka
// (and Redis, refused) are marked with their errors once their reads fail,
// and never hold the others back.
func TestUnreachableKafkaDoesNotHoldTheFirstScreen(t *testing.T) {
	cc := config.ContextConfig{Name: "startup", BackupDir: t.TempDir(), Regions: []config.RegionConfig{{
		Name: "primary", Role: state.RolePrimary,
		Kafka: &config.KafkaEndpoint{Brokers: []string{silentListener(t)}},
		Redis: &config.RedisEndpoint{Addr: "127.0.0.1:1"},
	}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	p := Open(ctx, cc)
	col, err := p.Collector(collect.Options{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	snaps, unsubscribe := col.Subscribe()
	defer unsubscribe()
	ran := make(chan struct{})
	go func() { defer close(ran); _ = col.Run(ctx) }()
	defer func() { cancel(); <-ran; p.Close() }()

	firstScreen := func(s state.Snapshot) error {
		k, ok := metaOf(s, "kafka")
		if !ok || !k.FetchedAt.IsZero() || k.Error != "" {
			return fmt.Errorf("kafka not loading: %+v", k)
		}
		if b, ok := metaOf(s, "backups"); !ok || b.FetchedAt.IsZero() {
			return fmt.Errorf("backups not answered: %+v", b)
		}
		return nil
	}
	deadline := time.After(time.Second)
	var last error
	for shown := false; !shown; {
		select {
		case s := <-snaps:
			if last = firstScreen(s); last == nil {
				shown = true
				t.Logf("first screen's snapshot after %s", time.Since(t0).Round(time.Millisecond))
			}
		case <-deadline:
			t.Fatalf("no snapshot with the fast sources within 1s of opening: %v", last)
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s := <-snaps:
			k, _ := metaOf(s, "kafka")
			r, _ := metaOf(s, "redis/replication")
			if k.Stale && k.Error != "" && r.Error != "" {
				if b, _ := metaOf(s, "backups"); b.FetchedAt.IsZero() {
					t.Fatalf("backups lost while kafka failed: %+v", b)
				}
				return
			}
		case <-timeout:
			t.Fatal("kafka and redis never marked with their errors")
		}
	}
}
