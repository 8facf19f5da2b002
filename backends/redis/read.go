package redis

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/wotr/wotr-tui/ops/state"
)

// parseInfo turns an INFO answer into key -> value.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// parseFields parses "ip=1.2.3.4,port=6380,state=online,offset=42,lag=0".
func parseFields(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// ReadRedisReplication reads INFO replication. On a primary: one row per
// replica with its offset lag against master_repl_offset and seconds since
// its last ack. On a replica: itself, with link status and seconds since the
// last I/O with its primary.
func (c *Client) ReadRedisReplication(ctx context.Context) ([]state.RedisReplica, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	s, err := c.Redis.Info(ctx, "replication").Result()
	if err != nil {
		return nil, fmt.Errorf("redis %s: INFO replication: %w", c.Addr, err)
	}
	info := parseInfo(s)
	if info["role"] == "slave" {
		r := state.RedisReplica{Name: c.Addr, LinkStatus: info["master_link_status"], Self: true}
		r.LagSeconds, _ = strconv.ParseFloat(info["master_last_io_seconds_ago"], 64)
		return []state.RedisReplica{r}, nil
	}
	master, _ := strconv.ParseInt(info["master_repl_offset"], 10, 64)
	n, _ := strconv.Atoi(info["connected_slaves"])
	var out []state.RedisReplica
	for i := 0; i < n; i++ {
		f := parseFields(info["slave"+strconv.Itoa(i)])
		r := state.RedisReplica{Name: f["ip"] + ":" + f["port"], LinkStatus: "down"}
		if f["state"] == "online" {
			r.LinkStatus = "up"
		}
		off, _ := strconv.ParseInt(f["offset"], 10, 64)
		if lag := master - off; lag > 0 {
			r.OffsetLag = lag
		}
		r.LagSeconds, _ = strconv.ParseFloat(f["lag"], 64)
		out = append(out, r)
	}
	return out, nil
}

// ReadStorePool reads connected clients by name against maxclients.
func (c *Client) ReadStorePool(ctx context.Context) (state.StorePool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	p := state.StorePool{Store: state.SystemRedis, ByApplication: map[string]int{}}
	cfg, err := c.Redis.ConfigGet(ctx, "maxclients").Result()
	if err != nil {
		return p, fmt.Errorf("redis %s: CONFIG GET maxclients: %w", c.Addr, err)
	}
	p.Limit, _ = strconv.Atoi(cfg["maxclients"])
	s, err := c.Redis.Info(ctx, "clients").Result()
	if err != nil {
		return p, fmt.Errorf("redis %s: INFO clients: %w", c.Addr, err)
	}
	p.Connections, _ = strconv.Atoi(parseInfo(s)["connected_clients"])
	list, err := c.Redis.ClientList(ctx).Result()
	if err != nil {
		return p, fmt.Errorf("redis %s: CLIENT LIST: %w", c.Addr, err)
	}
	for _, line := range strings.Split(list, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name := "(none)"
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "name="); ok && v != "" {
				name = v
			}
		}
		p.ByApplication[name]++
	}
	return p, nil
}
