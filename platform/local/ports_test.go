package local_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// holdPort listens on a free loopback port until the test ends; serve, if
// set, answers each connection (a squatter speaking the component's protocol).
func holdPort(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if serve == nil {
				c.Close()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// pickHeld hands component the held port in slot index of its first pick;
// other components and later picks get free ports. It returns how many picks
// component made.
func pickHeld(t *testing.T, component string, index, held int) (picks func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	restore := local.SetPortPicker(func(c string, count int) ([]int, error) {
		ports, err := local.FreePorts(count)
		if err != nil || c != component {
			return ports, err
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			ports[index] = held
		}
		return ports, nil
	})
	t.Cleanup(restore)
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// A Redis primary whose port was taken by something that answers PING like
// Redis does: the readiness check alone would pass through the squatter, so
// the start must see that its own process does not hold the port, start
// again on a new one, and end up talking to the real server.
func TestRedisRetriesWhenAnImpostorHoldsItsPort(t *testing.T) {
	localtest.Platform(t, local.Redis)
	var impostorPings atomic.Int32
	held := holdPort(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			args, err := readRESPCommand(r)
			if err != nil {
				return
			}
			// What go-redis sends on connect and then PING, answered as Redis 2 would.
			reply := "-ERR unknown command\r\n"
			switch strings.ToUpper(args[0]) {
			case "PING":
				impostorPings.Add(1)
				reply = "+PONG\r\n"
			case "CLIENT", "SELECT":
				reply = "+OK\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
	picks := pickHeld(t, local.Redis, 0, held)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := local.Start(ctx, local.Options{Only: []string{local.Redis}})
	if err != nil {
		t.Fatalf("Start with the primary's port held: %v", err)
	}
	defer p.Stop()
	if impostorPings.Load() == 0 {
		t.Error("the impostor answered no PING: the test did not exercise the ownership check")
	}
	// One retry for the impostor; another platform may cause more.
	if retries := p.PortRetries[local.Redis]; retries < 1 || picks() != retries+2 {
		t.Errorf("PortRetries %v after %d picks, want at least 1 retry and one pick per start (primary and replica)", p.PortRetries, picks())
	}
	if strings.HasSuffix(p.Redis.Primary.Addr, ":"+itoa(held)) {
		t.Fatalf("primary at the held port %s", p.Redis.Primary.Addr)
	}
	c := redis.NewClient(&redis.Options{Addr: p.Redis.Primary.Addr})
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil || !strings.Contains(info, "redis_version") {
		t.Fatalf("INFO server from the primary: %q, %v", info, err)
	}
	if link, err := local.RedisMasterLinkStatus(ctx, p.Redis.Replica.Addr); err != nil || link != "up" {
		t.Errorf("replica link %q, %v; want up", link, err)
	}
}

// ClickHouse and its ZooKeeper pick 1+3n ports at once: zookeeper's first,
// then native, HTTP and interserver per server. A held port anywhere makes
// the whole boot start again on fresh ports in a fresh dir.
func TestClickHouseRetriesOnPortClash(t *testing.T) {
	localtest.Platform(t, local.ClickHouse)
	for _, tc := range []struct {
		name  string
		index int
	}{
		{"zookeeper client port", 0},
		{"second server's native port", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held := holdPort(t, nil)
			picks := pickHeld(t, local.ClickHouse, tc.index, held)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			p, err := local.Start(ctx, local.Options{Only: []string{local.ClickHouse}})
			if err != nil {
				t.Fatalf("Start with port %d held: %v", held, err)
			}
			defer func() {
				if err := p.Stop(); err != nil {
					t.Errorf("Stop: %v", err)
				}
			}()
			t.Logf("started after one clash in %s", p.StartTimes[local.ClickHouse].Round(time.Millisecond))
			// One retry for the held port; another platform may cause more.
			retries := p.PortRetries[local.ClickHouse]
			if retries < 1 || picks() != retries+1 {
				t.Errorf("PortRetries %v after %d picks, want at least 1 retry and one pick per boot", p.PortRetries, picks())
			}
			ch := p.ClickHouse
			addrs := []string{ch.ZooKeeperAddr}
			for _, r := range ch.Replicas {
				addrs = append(addrs, r.NativeAddr, r.HTTPAddr, r.InterserverAddr)
				if boot := "/clickhouse-" + itoa(retries+1) + "/"; !strings.Contains(r.Dir, boot) {
					t.Errorf("%s dir %s, want the last boot's %s", r.Name, r.Dir, boot)
				}
			}
			for _, a := range addrs {
				if strings.HasSuffix(a, ":"+itoa(held)) {
					t.Errorf("%s is the held port", a)
				}
			}
			// The first boot's processes are gone: zookeeper and the servers only.
			if want := len(ch.Replicas) + 1; len(p.PIDs()) != want {
				t.Errorf("tracking %d processes, want %d", len(p.PIDs()), want)
			}
			insertEvents(ctx, t, ch, 0, "port-clash", "a", "b")
			localtest.Eventually(t, 30*time.Second, "rows replicated after the retry", expectIDs(ctx, ch, 1, "port-clash", []string{"a", "b"}))
		})
	}
}

// listensOn tells this process's listener from another's.
func TestListensOn(t *testing.T) {
	port := holdPort(t, nil)
	if err := local.ListensOn(os.Getpid(), []int{port}); err != nil {
		t.Errorf("own listener: %v", err)
	}
	err := local.ListensOn(os.Getppid(), []int{port})
	if err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("parent's view of our listener: %v, want 'another process'", err)
	}
	free, err := local.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.ListensOn(os.Getpid(), free); err == nil || !strings.Contains(err.Error(), "not listening") {
		t.Errorf("unbound port %d: %v, want 'not listening'", free[0], err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// readRESPCommand reads one RESP array of bulk strings.
func readRESPCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a RESP array: %q", line)
	}
	args := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return nil, err
		}
		arg, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		args = append(args, strings.TrimRight(arg, "\r\n"))
	}
	return args, nil
}
