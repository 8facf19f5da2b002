// Package runbooks_test runs the shipped diagnoses through the built
// wotr-tui binary against the demo platform (real API and consumer processes
// per pod on platform/local), with each fault made for real.
package runbooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{
		local.Kafka, local.Kube, local.Postgres, local.Redis, local.ClickHouse, local.Prometheus, local.HAProxy,
	}}))
}

// runOutput mirrors the -o json document of `wotr-tui runbook run`.
type runOutput struct {
	Runbook string            `json:"runbook"`
	Run     *runbook.RunState `json:"run"`
	Report  string            `json:"report"`
	Error   string            `json:"error"`
	Exit    int               `json:"exitCode"`
}

// harness is the demo plus the built console pointed at it.
type harness struct {
	t      *testing.T
	p      *local.Platform
	d      *demo.Demo
	bin    string
	config string
	home   string
}

func build(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dir+"/", "../../../cmd/wotr-tui", "../../../cmd/wotr-api", "../../../cmd/wotr-consumer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

func startDemo(t *testing.T) *harness {
	p := localtest.Platform(t, local.Kafka, local.Kube, local.Postgres, local.Redis, local.ClickHouse, local.Prometheus, local.HAProxy)
	tmp := t.TempDir()
	h := &harness{t: t, p: p, bin: filepath.Join(tmp, "bin"), home: tmp}
	build(t, h.bin)
	h.config = filepath.Join(tmp, "config", "wotr", "config.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	load := demo.DefaultLoadSettings()
	load.Rate, load.Batch = 60, 3
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: h.bin, ConfigPath: h.config, Load: &load,
		Progress: func(step string, took time.Duration) { t.Logf("demo: %s (%s)", step, took.Round(time.Millisecond)) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("demo stop: %v", err)
		}
	})
	h.d = d
	localtest.Eventually(t, 3*time.Minute, "3 API and 5 consumer instances ready", func() error {
		ready := map[string]int{}
		for _, in := range d.Supervisor.Instances() {
			if in.Ready {
				ready[in.Deployment]++
			}
		}
		if ready[demo.APIDeployment] < demo.APIReplicas || ready[demo.ConsumerDeployment] < demo.ConsumerReplicas {
			return fmt.Errorf("ready: %v", ready)
		}
		return nil
	})
	return h
}

// run runs `wotr-tui runbook run NAME -o json --yes --restart` against the demo context.
func (h *harness) run(name string) (runOutput, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(h.bin, "wotr-tui"), "--config", h.config, "--context", demo.ContextName,
		"runbook", "run", name, "-o", "json", "--yes", "--restart")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(h.home, "state"), "XDG_CONFIG_HOME="+filepath.Join(h.home, "config"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var doc runOutput
	if jerr := json.Unmarshal(out, &doc); jerr != nil || doc.Run == nil {
		h.t.Fatalf("runbook run %s: %v; stdout is not the JSON document (%v):\n%s\nstderr:\n%s", name, err, jerr, out, stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != doc.Exit {
		h.t.Fatalf("runbook run %s: process exit %d, document says %d", name, code, doc.Exit)
	}
	return doc, describe(doc)
}

// describe lists every step's status and summary, for failure messages.
func describe(doc runOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: exit %d, worst %s, diagnosis %q\n", doc.Runbook, doc.Exit, doc.Run.Worst, doc.Run.Diagnosis)
	for _, s := range doc.Run.Steps {
		fmt.Fprintf(&b, "  %-8s %s: %s\n", s.Status, s.ID, s.Summary)
		if s.Status != runbook.StepPass {
			for _, e := range s.Evidence {
				fmt.Fprintf(&b, "           %s\n", e)
			}
		}
	}
	return b.String()
}

// diagnosed runs the runbook until its diagnosis names cause (and every
// extra string), or fails at the deadline with the last run's steps.
func (h *harness) diagnosed(name string, timeout time.Duration, cause string, extra ...string) runOutput {
	h.t.Helper()
	var doc runOutput
	localtest.Eventually(h.t, timeout, name+" names "+cause, func() error {
		var text string
		doc, text = h.run(name)
		for _, d := range doc.Run.Diagnosis {
			if !strings.HasPrefix(d, cause) {
				continue
			}
			ok := true
			for _, e := range extra {
				ok = ok && strings.Contains(d, e)
			}
			if ok {
				if doc.Exit != 1 {
					return fmt.Errorf("diagnosis found but exit %d, want 1:\n%s", doc.Exit, text)
				}
				return nil
			}
		}
		return fmt.Errorf("not diagnosed yet:\n%s", text)
	})
	h.t.Logf("%s", describe(doc))
	return doc
}

// The four troubleshooting diagnoses stay quiet on the healthy demo and each
// names its cause when that fault is made for real.
func TestDiagnosesOnTheDemo(t *testing.T) {
	h := startDemo(t)
	diagnoses := []string{"uneven-load", "pool-exhaustion", "high-latency", "consumer-rebalancing"}

	t.Run("quiet when healthy", func(t *testing.T) {
		h.t = t
		for _, name := range diagnoses {
			var text string
			// Rates need a full scrape window of traffic on every instance first.
			localtest.Eventually(t, 3*time.Minute, name+" quiet", func() error {
				var doc runOutput
				doc, text = h.run(name)
				if doc.Exit != 0 || len(doc.Run.Diagnosis) != 0 || !doc.Run.Done(mustRunbook(t, name)) {
					return fmt.Errorf("not quiet:\n%s", text)
				}
				// Quiet must come from judging real traffic, not from seeing none.
				for _, s := range doc.Run.Steps {
					if strings.Contains(s.Summary, "no traffic") || strings.Contains(s.Summary, "too little traffic") {
						return fmt.Errorf("no traffic measured yet:\n%s", text)
					}
				}
				return nil
			})
			t.Logf("%s", text)
		}
	})

	// The checklists are automated where the data exists: on the demo every
	// step is judged (no step errors for want of a source).
	t.Run("checklists judge every step", func(t *testing.T) {
		h.t = t
		for _, name := range []string{"before-scaling", "after-scaling"} {
			doc, text := h.run(name)
			if !doc.Run.Done(mustRunbook(t, name)) {
				t.Fatalf("%s did not finish:\n%s", name, text)
			}
			for _, s := range doc.Run.Steps {
				if s.Status == runbook.StepError || s.Status == runbook.StepRefused || s.Status == runbook.StepPending {
					t.Errorf("%s step %s: %s", name, s.ID, s.Status)
				}
			}
			t.Logf("%s", text)
		}
	})

	t.Run("pool exhaustion: connections held idle in transaction", func(t *testing.T) {
		h.t = t
		ctx := context.Background()
		var held []*pgx.Conn
		t.Cleanup(func() {
			for _, c := range held {
				_ = c.Close(context.Background())
			}
		})
		for i := 0; i < 6; i++ {
			c, err := pgx.Connect(ctx, h.p.Postgres.Primary.DSN)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			if _, err := c.Exec(ctx, "begin; select count(*) from pg_class"); err != nil {
				t.Fatal(err)
			}
		}
		h.diagnosed("pool-exhaustion", 60*time.Second, "connections held idle in transaction", "not == 0: 6")
	})

	t.Run("high latency: a slowed dependency", func(t *testing.T) {
		h.t = t
		fake := h.p.Kafka.Fake()
		if fake == nil {
			t.Fatal("kafka: no kfake cluster to slow down")
		}
		// Every produce request waits 700ms before the broker answers.
		var slow atomic.Bool
		slow.Store(true)
		t.Cleanup(func() { slow.Store(false) })
		fake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			if !slow.Load() {
				fake.DropControl()
				return nil, nil, false
			}
			fake.KeepControl()
			fake.SleepControl(func() { time.Sleep(700 * time.Millisecond) })
			return nil, nil, false
		})
		doc := h.diagnosed("high-latency", 2*time.Minute, "a dependency is slow", `dependency="kafka"`)
		if d := pickDiagnosis(doc, "a dependency is slow"); strings.Contains(d, `dependency="redis"`) || strings.Contains(d, `dependency="postgres"`) {
			t.Fatalf("diagnosis blames a dependency that was not slowed: %q", d)
		}
	})

	t.Run("uneven load: traffic skewed to one instance", func(t *testing.T) {
		h.t = t
		var target demo.Instance
		for _, in := range h.d.Supervisor.Instances() {
			if in.Deployment == demo.APIDeployment && in.Ready {
				target = in
				break
			}
		}
		skew := demo.DefaultLoadSettings()
		skew.Rate, skew.Batch = 240, 3
		lg, err := demo.NewLoadGenerator(demo.LoadOptions{URL: "http://" + target.Addr, Sources: demo.DemoSources(), Settings: &skew})
		if err != nil {
			t.Fatal(err)
		}
		lg.Start()
		t.Cleanup(lg.Stop)
		h.diagnosed("uneven-load", 2*time.Minute, "traffic is skewed", target.Pod)
	})

	t.Run("rebalancing: a flapping member", func(t *testing.T) {
		h.t = t
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		t.Cleanup(func() { cancel(); wg.Wait() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			flap(ctx, h.p.Kafka.Brokers)
		}()
		h.diagnosed("consumer-rebalancing", 90*time.Second, "a member is flapping")
	})

	t.Run("rebalancing: more consumers than partitions", func(t *testing.T) {
		h.t = t
		ctx := context.Background()
		parts := h.p.Kafka.Topics[local.TopicIngestEvents]
		if err := demo.ScaleDeployment(ctx, h.p, demo.ConsumerDeployment, parts+1); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = demo.ScaleDeployment(context.Background(), h.p, demo.ConsumerDeployment, demo.ConsumerReplicas)
		})
		h.diagnosed("consumer-rebalancing", 2*time.Minute, "more consumers than partitions", fmt.Sprintf("%d consumers for %d partitions", parts+1, parts))
	})
}

// flap joins the consumer group, takes part in a rebalance, and leaves,
// over and over: a member whose session keeps ending.
func flap(ctx context.Context, brokers []string) {
	for ctx.Err() == nil {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("wotr-consumer-group"),
			kgo.ConsumeTopics(local.TopicIngestEvents), kgo.DisableAutoCommit(), kgo.ClientID("flapping-member"))
		if err != nil {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		for pctx.Err() == nil {
			cl.PollFetches(pctx)
		}
		cancel()
		cl.Close() // leaves the group: another rebalance
	}
}

func pickDiagnosis(doc runOutput, cause string) string {
	for _, d := range doc.Run.Diagnosis {
		if strings.HasPrefix(d, cause) {
			return d
		}
	}
	return ""
}

func mustRunbook(t *testing.T, name string) *runbook.Runbook {
	t.Helper()
	all, err := runbook.LoadAll("")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Find(all, name)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}
