package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures the Redis primary and replica.
type RedisOptions struct {
	// MaxMemory is passed as maxmemory (e.g. "256mb"); empty means no limit.
	MaxMemory string
}

// RedisPair is a Redis primary with one replica following it.
type RedisPair struct {
	Primary RedisNode
	Replica RedisNode
}

// RedisNode is one redis-server process.
type RedisNode struct {
	Addr string // host:port
	Dir  string
	Proc *Process
}

func (p *Platform) startRedis(ctx context.Context) error {
	bin, err := findBinary("redis-server")
	if err != nil {
		return err
	}
	if m := p.opts.Redis.MaxMemory; m != "" && strings.ContainsAny(m, " \t\n") {
		return fmt.Errorf("maxmemory %q: must be one token such as 256mb", m)
	}
	pair := &RedisPair{}
	start := func(name string, ready func(addr string) func(context.Context) error, extra ...string) (RedisNode, error) {
		dir := filepath.Join(p.Dir, "redis", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return RedisNode{}, err
		}
		var addr string
		proc, _, err := p.startOnFreshPorts(ctx, Redis, "redis "+name, 1, func(_ int, ports []int) (*Process, error) {
			addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
			args := []string{
				"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1", "--dir", dir,
				"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
				"--logfile", "", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
			}
			if m := p.opts.Redis.MaxMemory; m != "" {
				args = append(args, "--maxmemory", m)
			}
			proc, err := p.startProcess(ProcSpec{Name: "redis-" + name, Path: bin, Args: append(args, extra...), Dir: dir})
			if err != nil {
				return nil, err
			}
			p.onStop("redis-"+name, func() error { return proc.Stop(10 * time.Second) })
			return proc, nil
		}, func(ctx context.Context) error { return ready(addr)(ctx) })
		return RedisNode{Addr: addr, Dir: dir, Proc: proc}, err
	}
	if pair.Primary, err = start("primary", redisPing); err != nil {
		return err
	}
	primaryPort := strings.TrimPrefix(pair.Primary.Addr, "127.0.0.1:")
	if pair.Replica, err = start("replica", redisLinkUp, "--replicaof", "127.0.0.1", primaryPort); err != nil {
		return err
	}
	p.Redis = pair
	return nil
}

func redisLinkUp(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		link, err := RedisMasterLinkStatus(ctx, addr)
		if err != nil {
			return err
		}
		if link != "up" {
			return fmt.Errorf("master_link_status:%s", link)
		}
		return nil
	}
}

func redisPing(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		return c.Ping(ctx).Err()
	}
}

// RedisMasterLinkStatus returns master_link_status from INFO replication of a
// replica ("up" or "down").
func RedisMasterLinkStatus(ctx context.Context, addr string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_link_status:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: INFO replication has no master_link_status (not a replica?)", addr)
}
