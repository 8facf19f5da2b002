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

func init() {
	requiredBinaries[Redis] = [][2]string{{"redis-server", "apt-get install redis-server"}}
}

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
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	pair := &RedisPair{}
	start := func(name string, port int, extra ...string) (RedisNode, error) {
		dir := filepath.Join(p.Dir, "redis", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return RedisNode{}, err
		}
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
			"--logfile", "", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		}
		if m := p.opts.Redis.MaxMemory; m != "" {
			args = append(args, "--maxmemory", m)
		}
		proc, err := p.startProcess(ProcSpec{Name: "redis-" + name, Path: bin, Args: append(args, extra...), Dir: dir})
		if err != nil {
			return RedisNode{}, err
		}
		p.onStop("redis-"+name, func() error { return proc.Stop(10 * time.Second) })
		return RedisNode{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, Proc: proc}, nil
	}
	if pair.Primary, err = start("primary", ports[0]); err != nil {
		return err
	}
	if pair.Replica, err = start("replica", ports[1], "--replicaof", "127.0.0.1", strconv.Itoa(ports[0])); err != nil {
		return err
	}
	if err := WaitFor(ctx, "redis primary", pair.Primary.Proc, redisPing(pair.Primary.Addr)); err != nil {
		return err
	}
	if err := WaitFor(ctx, "redis replica link up", pair.Replica.Proc, func(ctx context.Context) error {
		link, err := RedisMasterLinkStatus(ctx, pair.Replica.Addr)
		if err != nil {
			return err
		}
		if link != "up" {
			return fmt.Errorf("master_link_status:%s", link)
		}
		return nil
	}); err != nil {
		return err
	}
	p.Redis = pair
	return nil
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
