package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chschema "github.com/wotr/wotr-tui/platform/deploy/clickhouse"
)

// ClickHouseOptions configures the clickhouse component: Debian's
// clickhouse-server 18.16 processes coordinated by one Debian zookeeper.
type ClickHouseOptions struct {
	// Replicas per shard; default 2 (the scaling guide's replication factor).
	Replicas int
	// Shards; default 1. The scaling guide's production layout is 2 shards x 2 replicas
	// (4 servers); ask for Shards: 2 only where the machine has the cores and
	// memory for four servers, the default keeps one shard so a 2-core
	// machine runs the component alongside everything else.
	Shards int
	// ZooKeeperHeap is the JVM -Xmx for zookeeper; default "256m".
	ZooKeeperHeap string
}

// Database and table names of the events schema (the scaling guide's ClickHouse layout).
const (
	ClickHouseDatabase    = "wotr"
	ClickHouseEventsTable = "events"
	// ClickHouseEventsAllTable is a Distributed table over every shard's events,
	// sharded by cityHash64(id) as in the scaling guide.
	ClickHouseEventsAllTable = "events_all"
	// ClickHouseClusterName names the cluster in remote_servers.
	ClickHouseClusterName = "wotr_cluster"
)

// ClickHouseReplica is one clickhouse-server process.
type ClickHouseReplica struct {
	Name            string // the {replica} macro: replica1, replica2, ...
	Shard           string // the {shard} macro: 01, 02, ...
	NativeAddr      string // host:port of the native protocol (clickhouse-go)
	HTTPAddr        string // host:port of the HTTP interface
	InterserverAddr string // host:port replicas fetch parts from
	Dir             string // config, data and logs
}

// ClickHouseCluster is the running clickhouse component.
type ClickHouseCluster struct {
	Replicas      []ClickHouseReplica
	ZooKeeperAddr string
	Database      string
	Cluster       string

	mu    sync.Mutex
	conns map[int]driver.Conn
}

const zookeeperJar = "/usr/share/java/zookeeper.jar"

func (o ClickHouseOptions) withDefaults() (ClickHouseOptions, error) {
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.Shards == 0 {
		o.Shards = 1
	}
	if o.ZooKeeperHeap == "" {
		o.ZooKeeperHeap = "256m"
	}
	if o.Replicas < 1 || o.Replicas > 9 {
		return o, fmt.Errorf("ClickHouse.Replicas = %d: must be between 1 and 9", o.Replicas)
	}
	if o.Shards < 1 || o.Shards > 9 {
		return o, fmt.Errorf("ClickHouse.Shards = %d: must be between 1 and 9", o.Shards)
	}
	return o, nil
}

func (p *Platform) startClickHouse(ctx context.Context) error {
	opts, err := p.opts.ClickHouse.withDefaults()
	if err != nil {
		return err
	}
	bin, err := findBinary("clickhouse-server")
	if err != nil {
		return err
	}
	c := &ClickHouseCluster{
		Database: ClickHouseDatabase,
		Cluster:  ClickHouseClusterName,
		conns:    map[int]driver.Conn{},
	}

	// One stopper for the whole component, registered before anything starts,
	// so a failed start is cleaned up too: servers first (in parallel), then
	// zookeeper, which the servers talk to while shutting down.
	var (
		procMu  sync.Mutex
		zk      *Process
		servers []*Process
	)
	stopProcs := func() error {
		c.closeConns()
		procMu.Lock()
		defer procMu.Unlock()
		errs := make([]error, len(servers))
		var wg sync.WaitGroup
		for i, s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Stop(15 * time.Second)
			}()
		}
		wg.Wait()
		if zk != nil {
			errs = append(errs, zk.Stop(10*time.Second))
		}
		servers, zk = nil, nil
		return errors.Join(errs...)
	}
	p.onStop(ClickHouse, stopProcs)

	// A boot that loses a port (zookeeper's or any server's) to another
	// process is stopped and run again on fresh ports in fresh dirs.
	if err := p.retryOnPortClash(ctx, ClickHouse, func(attempt int) error {
		base := filepath.Join(p.Dir, "clickhouse")
		if attempt > 1 {
			base += "-" + strconv.Itoa(attempt)
		}
		return p.bootClickHouse(ctx, c, opts, base, bin, func(proc *Process, isZK bool) {
			procMu.Lock()
			defer procMu.Unlock()
			if isZK {
				zk = proc
			} else {
				servers = append(servers, proc)
			}
		})
	}, stopProcs); err != nil {
		return err
	}
	if err := c.createSchema(ctx); err != nil {
		return err
	}
	p.ClickHouse = c
	return nil
}

// bootClickHouse starts zookeeper and the servers in base on freshly picked
// ports and waits until each serves on its own ports. track records each
// started process for the stopper.
func (p *Platform) bootClickHouse(ctx context.Context, c *ClickHouseCluster, opts ClickHouseOptions, base, bin string,
	track func(proc *Process, isZK bool)) error {
	n := opts.Shards * opts.Replicas
	ports, err := portPicker(ClickHouse, 1+3*n)
	if err != nil {
		return err
	}
	c.ZooKeeperAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	c.Replicas = nil
	for s := 1; s <= opts.Shards; s++ {
		for r := 1; r <= opts.Replicas; r++ {
			i := len(c.Replicas)
			name := fmt.Sprintf("replica%d", r)
			c.Replicas = append(c.Replicas, ClickHouseReplica{
				Name:            name,
				Shard:           fmt.Sprintf("%02d", s),
				NativeAddr:      fmt.Sprintf("127.0.0.1:%d", ports[1+3*i]),
				HTTPAddr:        fmt.Sprintf("127.0.0.1:%d", ports[2+3*i]),
				InterserverAddr: fmt.Sprintf("127.0.0.1:%d", ports[3+3*i]),
				Dir:             filepath.Join(base, fmt.Sprintf("s%02d-%s", s, name)),
			})
		}
	}

	// The JVM start is the slow part: launch zookeeper first and write the
	// server configs while it boots.
	zk, err := p.startZooKeeper(filepath.Join(base, "zookeeper"), ports[0], opts.ZooKeeperHeap)
	if err != nil {
		return err
	}
	track(zk, true)
	for _, r := range c.Replicas {
		if err := writeClickHouseConfig(r, c); err != nil {
			return err
		}
	}
	// The servers open their zookeeper session lazily, so they can start
	// before zookeeper answers; only the schema needs it. clickhouse-server
	// 18.16 runs as root without complaint, so no AsUser and no chown.
	servers := make([]*Process, len(c.Replicas))
	for i, r := range c.Replicas {
		proc, err := p.startProcess(ProcSpec{
			Name:    "clickhouse-" + filepath.Base(r.Dir),
			Path:    bin,
			Args:    []string{"--config-file=" + filepath.Join(r.Dir, "config.xml")},
			Dir:     r.Dir,
			LogPath: filepath.Join(r.Dir, "stdout.log"),
		})
		if err != nil {
			return err
		}
		track(proc, false)
		servers[i] = proc
	}

	// Every wait runs to its end, so that a clash anywhere is seen as one
	// (and retried) rather than hidden behind another server's error.
	errs := make([]error, 1+len(c.Replicas))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = WaitFor(ctx, "zookeeper serving", zk, listening(zk, ports[:1], zooKeeperServing(c.ZooKeeperAddr)))
	}()
	for i := range c.Replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[1+i] = c.waitServer(ctx, i, servers[i], ports[1+3*i:4+3*i])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startZooKeeper runs a standalone zookeeper straight from the Debian jars
// (the manifest of zookeeper.jar carries the rest of the classpath).
func (p *Platform) startZooKeeper(dir string, port int, heap string) (*Process, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`tickTime=1000
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,mntr,srvr,stat
preAllocSize=4096
autopurge.purgeInterval=0
`, data, port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	java, err := findBinary("java")
	if err != nil {
		return nil, err
	}
	classpath := zookeeperJar
	// slf4j-simple sends zookeeper's log to stderr, i.e. into zookeeper.log.
	if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
		classpath += ":/usr/share/java/slf4j-simple.jar"
	}
	return p.startProcess(ProcSpec{
		Name: "zookeeper",
		Path: java,
		Args: []string{
			"-Xmx" + heap, "-Xms32m", "-XX:+UseSerialGC",
			// C1 only: the JVM starts faster and zookeeper's load here is tiny.
			"-XX:TieredStopAtLevel=1",
			"-Djava.net.preferIPv4Stack=true",
			"-Dzookeeper.admin.enableServer=false",
			// Test data: skip fsync on every transaction.
			"-Dzookeeper.forceSync=no",
			"-cp", classpath,
			"org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath,
		},
		Dir:     dir,
		LogPath: filepath.Join(dir, "zookeeper.log"),
	})
}

// zooKeeperServing succeeds once zookeeper serves sessions. ruok is not
// enough: it answers imok as soon as the client port is bound, before the
// server accepts sessions; srvr reports a Mode only once it does.
func zooKeeperServing(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		out, err := fourLetterWord(ctx, addr, "srvr")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Mode: standalone") {
			return fmt.Errorf("srvr answered %q", out)
		}
		return nil
	}
}

func writeClickHouseConfig(r ClickHouseReplica, c *ClickHouseCluster) error {
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			return err
		}
	}
	zkHost, zkPort, _ := strings.Cut(c.ZooKeeperAddr, ":")
	var shards strings.Builder
	for i := 0; i < len(c.Replicas); {
		shard := c.Replicas[i].Shard
		shards.WriteString("      <shard>\n        <internal_replication>true</internal_replication>\n")
		for ; i < len(c.Replicas) && c.Replicas[i].Shard == shard; i++ {
			h, port, _ := strings.Cut(c.Replicas[i].NativeAddr, ":")
			fmt.Fprintf(&shards, "        <replica><host>%s</host><port>%s</port></replica>\n", h, port)
		}
		shards.WriteString("      </shard>\n")
	}
	_, tcp, _ := strings.Cut(r.NativeAddr, ":")
	_, http, _ := strings.Cut(r.HTTPAddr, ":")
	_, inter, _ := strings.Cut(r.InterserverAddr, ":")
	// ClickHouse 18.16's format: root <yandex>, paths with trailing slashes.
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>%[1]s/server.log</log>
    <errorlog>%[1]s/server.err.log</errorlog>
    <size>50M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]s</tcp_port>
  <http_port>%[3]s</http_port>
  <interserver_http_port>%[4]s</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <merge_tree>
    <!-- Parts merged away are kept 8 minutes by default; a throwaway
         platform need not, and deleting them all at stop is slow. -->
    <old_parts_lifetime>30</old_parts_lifetime>
  </merge_tree>
  <zookeeper>
    <node><host>%[5]s</host><port>%[6]s</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <macros>
    <shard>%[7]s</shard>
    <replica>%[8]s</replica>
  </macros>
  <remote_servers>
    <%[9]s>
%[10]s    </%[9]s>
  </remote_servers>
</yandex>
`, r.Dir, tcp, http, inter, zkHost, zkPort, r.Shard, r.Name, c.Cluster, shards.String())
	if err := os.WriteFile(filepath.Join(r.Dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.Dir, "users.xml"), []byte(clickHouseUsers), 0o644)
}

// A passwordless default user reachable from loopback only.
const clickHouseUsers = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`

// waitServer polls SELECT 1 over the native protocol; on failure the error
// carries the server's own error log, which says more than its stdout.
func (c *ClickHouseCluster) waitServer(ctx context.Context, i int, proc *Process, ports []int) error {
	r := c.Replicas[i]
	err := WaitFor(ctx, "clickhouse "+r.NativeAddr+" SELECT 1", proc, listening(proc, ports, func(ctx context.Context) error {
		conn, err := c.Conn(i)
		if err != nil {
			return err
		}
		var one uint8
		return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	}))
	if err != nil {
		return fmt.Errorf("%s/%s: %w\n--- %s/server.err.log ---\n%s", r.Shard, r.Name, err, r.Dir, logTail(filepath.Join(r.Dir, "server.err.log"), 20))
	}
	return nil
}

// createSchema creates the database and the replicated events table on every
// server, then checks each one lists the table. The first replica of a shard
// creates the zookeeper nodes; the others join after it.
func (c *ClickHouseCluster) createSchema(ctx context.Context) error {
	create := func(i int) error {
		// The manifests' schema, each statement run on every server here.
		for _, q := range chschema.Statements(false) {
			if err := c.Exec(ctx, i, q); err != nil {
				r := c.Replicas[i]
				return fmt.Errorf("schema on %s/%s: %w\n--- %s/server.err.log ---\n%s", r.Shard, r.Name, err, r.Dir, logTail(filepath.Join(r.Dir, "server.err.log"), 20))
			}
		}
		return nil
	}
	run := func(idx []int) error {
		errs := make([]error, len(idx))
		var wg sync.WaitGroup
		for k, i := range idx {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[k] = create(i)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	var firsts, rest []int
	for i, r := range c.Replicas {
		if i == 0 || c.Replicas[i-1].Shard != r.Shard {
			firsts = append(firsts, i)
		} else {
			rest = append(rest, i)
		}
	}
	if err := run(firsts); err != nil {
		return err
	}
	if err := run(rest); err != nil {
		return err
	}
	for i := range c.Replicas {
		conn, err := c.Conn(i)
		if err != nil {
			return err
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = 'wotr' AND name = 'events'").Scan(&n); err != nil {
			return fmt.Errorf("check schema on %s: %w", c.Replicas[i].Name, err)
		}
		if n != 1 {
			return fmt.Errorf("wotr.events missing on %s after CREATE", c.Replicas[i].Name)
		}
	}
	return nil
}

func (c *ClickHouseCluster) replica(i int) (ClickHouseReplica, error) {
	if i < 0 || i >= len(c.Replicas) {
		return ClickHouseReplica{}, fmt.Errorf("clickhouse replica index %d: must be between 0 and %d", i, len(c.Replicas)-1)
	}
	return c.Replicas[i], nil
}

// Conn returns a clickhouse-go connection (native protocol) to replica i,
// shared across calls and closed by Stop. ClickHouse 18.16 needs INSERTs that
// name their columns.
func (c *ClickHouseCluster) Conn(i int) (driver.Conn, error) {
	r, err := c.replica(i)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[i]; ok {
		return conn, nil
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{r.NativeAddr},
		Auth:         clickhouse.Auth{Database: "default", Username: "default"},
		DialTimeout:  2 * time.Second,
		MaxOpenConns: 4,
		MaxIdleConns: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", r.NativeAddr, err)
	}
	c.conns[i] = conn
	return conn, nil
}

func (c *ClickHouseCluster) closeConns() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, conn := range c.conns {
		_ = conn.Close()
		delete(c.conns, i)
	}
}

// Exec runs one statement on replica i (index into Replicas).
func (c *ClickHouseCluster) Exec(ctx context.Context, i int, sql string, args ...any) error {
	conn, err := c.Conn(i)
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("clickhouse %s: %w", c.Replicas[i].Name, err)
	}
	return nil
}

// StopFetches stops replica i from fetching parts from the other replicas of
// its shard, so it falls behind and system.replicas reports queue_size and
// absolute_delay: real replication lag on demand.
func (c *ClickHouseCluster) StopFetches(ctx context.Context, i int) error {
	return c.Exec(ctx, i, "SYSTEM STOP FETCHES wotr.events")
}

// StartFetches lets replica i catch up again.
func (c *ClickHouseCluster) StartFetches(ctx context.Context, i int) error {
	return c.Exec(ctx, i, "SYSTEM START FETCHES wotr.events")
}

// SyncReplica blocks until replica i has executed its replication queue
// (SYSTEM SYNC REPLICA), e.g. to wait for catch-up after StartFetches. On
// 18.16 a replica picks its queue up again on the background pool's next
// round, so catching up after START FETCHES takes up to about ten seconds
// however it is waited for.
func (c *ClickHouseCluster) SyncReplica(ctx context.Context, i int) error {
	return c.Exec(ctx, i, "SYSTEM SYNC REPLICA wotr.events")
}

// ReplicaLag is one row of system.replicas for wotr.events.
type ReplicaLag struct {
	QueueSize      uint32
	InsertsInQueue uint32
	AbsoluteDelay  uint64 // seconds
	ActiveReplicas uint8
	TotalReplicas  uint8
}

// Lag reads replica i's replication state of wotr.events.
func (c *ClickHouseCluster) Lag(ctx context.Context, i int) (ReplicaLag, error) {
	var l ReplicaLag
	conn, err := c.Conn(i)
	if err != nil {
		return l, err
	}
	err = conn.QueryRow(ctx, `SELECT queue_size, inserts_in_queue, absolute_delay, active_replicas, total_replicas
FROM system.replicas WHERE database = 'wotr' AND table = 'events'`).Scan(
		&l.QueueSize, &l.InsertsInQueue, &l.AbsoluteDelay, &l.ActiveReplicas, &l.TotalReplicas)
	if err != nil {
		return l, fmt.Errorf("system.replicas on %s: %w", c.Replicas[i].Name, err)
	}
	return l, nil
}

// fourLetterWord sends a zookeeper four-letter command and returns the answer.
func fourLetterWord(ctx context.Context, addr, cmd string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
