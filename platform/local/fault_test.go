package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func newProxy(t *testing.T) *local.Proxy {
	t.Helper()
	p, err := local.NewProxy("echo", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends msg and reads it back within timeout, returning the time taken.
func roundTrip(c net.Conn, msg []byte, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	_ = c.SetDeadline(t0.Add(timeout))
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	if !bytes.Equal(got, msg) {
		return 0, errors.New("echo differs")
	}
	return time.Since(t0), nil
}

func dial(t *testing.T, p *local.Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func set(t *testing.T, p *local.Proxy, f local.Fault) {
	t.Helper()
	if err := p.Set(f); err != nil {
		t.Fatal(err)
	}
}

func TestProxyForwardsAndAddsLatencyEachWay(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	base, err := roundTrip(c, []byte("ping"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	set(t, p, local.Fault{Mode: local.FaultLatency, Latency: 150 * time.Millisecond})
	// On the open connection and on a new one: 150 ms each way.
	for _, conn := range []net.Conn{c, dial(t, p)} {
		d, err := roundTrip(conn, []byte("ping"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if d < 300*time.Millisecond || d > 300*time.Millisecond+base+time.Second {
			t.Fatalf("round trip with 150ms latency each way took %s", d)
		}
	}
	set(t, p, local.Fault{})
	if d, err := roundTrip(c, []byte("ping"), 2*time.Second); err != nil || d > 200*time.Millisecond {
		t.Fatalf("after clearing: %s %v", d, err)
	}
}

func TestProxyBlackholeTimesOutThenResetsHeldConnections(t *testing.T) {
	p := newProxy(t)
	open := dial(t, p)
	if _, err := roundTrip(open, []byte("a"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	set(t, p, local.Fault{Mode: local.FaultBlackhole})
	fresh := dial(t, p) // accepted: a partition, not a refusal
	for name, c := range map[string]net.Conn{"open": open, "new": fresh} {
		_, err := roundTrip(c, []byte("b"), 300*time.Millisecond)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%s connection under blackhole: want a timeout, got %v", name, err)
		}
	}
	set(t, p, local.Fault{})
	_ = open.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection held by the blackhole still reads after the fault cleared")
	}
	if _, err := roundTrip(dial(t, p), []byte("c"), 2*time.Second); err != nil {
		t.Fatalf("new connection after clearing: %v", err)
	}
}

func TestProxyResetErrorsOpenAndNewConnections(t *testing.T) {
	p := newProxy(t)
	open := dial(t, p)
	if _, err := roundTrip(open, []byte("a"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	set(t, p, local.Fault{Mode: local.FaultReset})
	_ = open.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := open.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("open connection: want connection reset, got %v", err)
	}
	_, err := roundTrip(dial(t, p), []byte("b"), 2*time.Second)
	if err == nil {
		t.Fatal("a new connection got an answer through a resetting proxy")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("want an error at once, got a timeout: %v", err)
	}
	if p.Conns() != 0 {
		// Reset connections are gone from the proxy.
		localtest.Eventually(t, 2*time.Second, "reset connections released", func() error {
			if n := p.Conns(); n != 0 {
				return errors.New("connections still tracked")
			}
			return nil
		})
	}
}

func TestProxyBandwidthIsBounded(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	const bps = 100 << 10
	set(t, p, local.Fault{Mode: local.FaultBandwidth, BytesPerSec: bps})
	msg := bytes.Repeat([]byte("x"), 100<<10) // 1 s each way at 100 KiB/s
	d, err := roundTrip(c, msg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Each direction is paced; the echo overlaps them, so at least ~1 s.
	if d < 900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("100 KiB through a 100 KiB/s proxy took %s", d)
	}
	set(t, p, local.Fault{})
	if d, err := roundTrip(c, msg, 5*time.Second); err != nil || d > 500*time.Millisecond {
		t.Fatalf("after clearing: %s %v", d, err)
	}
}

func TestFaultValidateNamesTheRule(t *testing.T) {
	for _, f := range []local.Fault{{Mode: "slow"}, {Mode: local.FaultLatency}, {Mode: local.FaultBandwidth, BytesPerSec: 0}} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}

// With Options.Faults every broker is reached through its proxy (kfake
// advertises the proxies), so a blackholed broker really stops a client,
// and Redis behind its proxy answers and then times out.
func TestPlatformFaultsProxyKafkaAndRedis(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.Kafka, local.Redis}, Faults: true, Kafka: local.KafkaOptions{Brokers: 1}})
	kafka, err := p.Faults.Proxy("kafka-0")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kafka.Brokers[0] != kafka.Addr() {
		t.Fatalf("broker address %s is not its proxy %s", p.Kafka.Brokers[0], kafka.Addr())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Kafka.Brokers...), kgo.DefaultProduceTopic(local.TopicIngestEvents))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	}
	if err := produce(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if kafka.Conns() == 0 {
		t.Fatal("the client is connected to the broker but not through its proxy")
	}
	set(t, kafka, local.Fault{Mode: local.FaultBlackhole})
	// A request honours its context (an in-flight produce would not).
	mctx, mcancel := context.WithTimeout(context.Background(), time.Second)
	_, err = kadm.NewClient(cl).ListTopics(mctx)
	mcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("metadata through a blackholed broker: want a timeout, got %v", err)
	}
	set(t, kafka, local.Fault{})
	if err := produce(15 * time.Second); err != nil {
		t.Fatalf("produce after clearing: %v", err)
	}
	// A restarted cluster stays behind the same proxies.
	if err := p.Kafka.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Kafka.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Kafka.Brokers[0] != kafka.Addr() {
		t.Fatalf("after restart the broker is at %s, not its proxy %s", p.Kafka.Brokers[0], kafka.Addr())
	}
	if err := produce(20 * time.Second); err != nil {
		t.Fatalf("produce after restart: %v", err)
	}

	addr, err := p.ProxyAddr("redis-primary")
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer rc.Close()
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Faults.Set("redis-primary", local.Fault{Mode: local.FaultLatency, Latency: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if err := rc.Ping(context.Background()).Err(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ping through 400ms latency with a 300ms read timeout: %v", err)
	}
	// Process faults: a paused Redis holds its socket and answers nothing.
	p.Faults.ClearAll()
	proc := p.Processes()["redis-primary"]
	if proc == nil {
		t.Fatalf("no redis-primary process among %v", p.Processes())
	}
	if err := proc.Pause(); err != nil {
		t.Fatal(err)
	}
	direct := redis.NewClient(&redis.Options{Addr: p.Redis.Primary.Addr, ReadTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer direct.Close()
	if err := direct.Ping(context.Background()).Err(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ping of a SIGSTOPped redis: %v", err)
	}
	if err := proc.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := direct.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping after SIGCONT: %v", err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	if proc.Alive() {
		t.Fatal("alive after Kill")
	}
}
