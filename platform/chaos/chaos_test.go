// Package chaos applies real faults (platform/local's proxies and process
// signals) to a running platform of real wotr-api and wotr-consumer
// processes under at-least-once load, and checks that no acknowledged event
// is lost. `make chaos` runs every fault (WOTR_CHAOS=full); plain go test
// runs a short set.
package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{
		Only:   []string{local.Kafka, local.Postgres, local.Redis, local.ClickHouse, local.HAProxy},
		Faults: true, Kafka: local.KafkaOptions{Brokers: 3},
	}))
}

const (
	depTimeout    = 400 * time.Millisecond // the API's dependency timeout
	clientTimeout = 1500 * time.Millisecond
	key           = "chaos-key"
	chProxy       = "clickhouse-01-replica1"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wotr-chaos-bin-")
		for _, n := range []string{"wotr-api", "wotr-consumer"} {
			if buildErr != nil {
				return
			}
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, n), "github.com/wotr/wotr-tui/cmd/"+n).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", n, err, out)
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rig is one fault's platform slice: its own topic, API and consumer
// processes reaching every store through the fault proxies.
type rig struct {
	t      *testing.T
	p      *local.Platform
	topic  string
	env    map[string]string
	apis   []*member
	cons   []*member
	front  string // HAProxy frontend
	prefix string
}

type member struct {
	proc *local.Process
	addr string
}

func proxy(t *testing.T, p *local.Platform, name string) (string, string) {
	t.Helper()
	addr, err := p.ProxyAddr(name)
	if err != nil {
		t.Fatal(err)
	}
	h, port, _ := net.SplitHostPort(addr)
	return h, port
}

var bootOnce sync.Once

func newRig(t *testing.T, name string) *rig {
	t.Helper()
	p := localtest.Platform(t, local.Kafka, local.Postgres, local.Redis, local.ClickHouse, local.HAProxy)
	var err error
	bootOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = api.Bootstrap(ctx, p.Postgres.Primary.DSN, api.Source{Name: "chaos", APIKey: key})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, p: p, topic: "chaos-" + name + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)}
	r.prefix = r.topic + "-"
	adm := r.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tp := range []string{r.topic, r.topic + "-dlq"} {
		if _, err := adm.CreateTopic(ctx, 4, int16(len(p.Kafka.Brokers)), nil, tp); err != nil {
			t.Fatal(err)
		}
	}
	rh, rp := proxy(t, p, "redis-primary")
	ph, pp := proxy(t, p, "postgres-primary")
	ch, cp := proxy(t, p, chProxy)
	r.env = map[string]string{
		"POSTGRES_HOST": ph, "POSTGRES_PORT": pp, "POSTGRES_USER": p.Postgres.Superuser, "POSTGRES_PASSWORD": p.Postgres.Password,
		"POSTGRES_DB": "wotr", "REDIS_HOST": rh, "REDIS_PORT": rp, "KAFKA_BOOTSTRAP": p.Kafka.Bootstrap(),
		"KAFKA_TOPIC": r.topic, "KAFKA_DLQ_TOPIC": r.topic + "-dlq", "KAFKA_GROUP_ID": "g-" + r.topic,
		"CLICKHOUSE_HOST": ch, "CLICKHOUSE_PORT": cp, "KAFKA_SESSION_TIMEOUT": "6s", "KAFKA_REBALANCE_TIMEOUT": "10s",
		"KAFKA_DELIVERY_TIMEOUT": "1s", "DEPENDENCY_TIMEOUT": depTimeout.String(), "BREAKER_OPEN_FOR": "500ms",
		"BATCH_TIMEOUT": "5s", "BATCH_WAIT": "200ms", "INSERT_TIMEOUT": "2s", "SHUTDOWN_TIMEOUT": "2s",
		"PATH": os.Getenv("PATH"),
	}
	t.Cleanup(p.Faults.ClearAll)
	for i := 0; i < 2; i++ {
		r.apis = append(r.apis, r.start("wotr-api", fmt.Sprintf("%s-api-%d", name, i)))
	}
	for i := 0; i < 2; i++ {
		r.cons = append(r.cons, r.start("wotr-consumer", fmt.Sprintf("%s-consumer-%d", name, i)))
	}
	var bs []local.Backend
	for i, a := range r.apis {
		bs = append(bs, local.Backend{Name: fmt.Sprintf("api%d", i), Addr: a.addr})
	}
	if err := p.HAProxy.SetBackends(bs); err != nil {
		t.Fatal(err)
	}
	r.front = "http://" + p.HAProxy.FrontendAddr
	for _, a := range r.apis {
		r.waitHTTP("http://"+a.addr+"/health", 200)
	}
	localtest.Eventually(t, 30*time.Second, "HAProxy serving", func() error {
		if st, _ := r.post(r.front, r.prefix+"probe"); st != http.StatusAccepted {
			return fmt.Errorf("status %d", st)
		}
		return nil
	})
	return r
}

func (r *rig) start(bin, name string) *member {
	r.t.Helper()
	addr := freeAddr(r.t)
	var env []string
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	env = append(env, "LISTEN_ADDR="+addr, "POD_NAME="+name)
	proc, err := r.p.StartProcess(local.ProcSpec{Name: name, Path: binary(r.t, bin), Env: env})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = proc.Stop(5 * time.Second) })
	return &member{proc: proc, addr: addr}
}

func (r *rig) waitHTTP(url string, want int) {
	r.t.Helper()
	localtest.Eventually(r.t, 30*time.Second, url, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

func (r *rig) admin() *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.p.Kafka.Brokers...))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

var client = &http.Client{Timeout: clientTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (r *rig) post(base, id string) (int, error) {
	body := fmt.Sprintf(`{"id":%q,"source":"chaos","type":"order.created","created_at":%q,"payload":{"n":1}}`,
		id, time.Now().UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", strings.NewReader(body))
	req.Header.Set(api.APIKeyHeader, key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ledger is the at-least-once client's record: every id acknowledged
// (202), and the answers seen.
type ledger struct {
	mu        sync.Mutex
	acked     map[string]bool
	total     atomic.Int64
	n503      atomic.Int64
	cleared   atomic.Int64 // unix nanos when the fault cleared
	first202  atomic.Int64 // unix nanos of the first 202 sent after it
	faultOn   atomic.Bool
	faultResp atomic.Int64
	fault503  atomic.Int64
}

// load sends unique ids from workers, half through HAProxy and half
// straight to an API instance, retrying each id on timeouts, errors and
// 5xx until acknowledged or stop.
func (r *rig) load(ctx context.Context, l *ledger, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := fmt.Sprintf("%s%d", r.prefix, seq.Add(1))
				for attempt := 0; ctx.Err() == nil; attempt++ {
					base := r.front
					if (w+attempt)%2 == 1 {
						base = "http://" + r.apis[(w+attempt)%len(r.apis)].addr
					}
					sent := time.Now()
					st, err := r.post(base, id)
					l.total.Add(1)
					if l.faultOn.Load() {
						l.faultResp.Add(1)
					}
					if st == http.StatusServiceUnavailable {
						l.n503.Add(1)
						if l.faultOn.Load() {
							l.fault503.Add(1)
						}
					}
					if err == nil && st == http.StatusAccepted {
						l.mu.Lock()
						l.acked[id] = true
						l.mu.Unlock()
						if c := l.cleared.Load(); c != 0 && sent.UnixNano() >= c {
							l.first202.CompareAndSwap(0, time.Now().UnixNano())
						}
						break
					}
					if err == nil && st < 500 {
						break // a 4xx is final; not acknowledged
					}
				}
			}
		}()
	}
	return &wg
}
