package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	promrules "github.com/wotr/wotr-tui/platform/deploy/prometheus"
)

// PrometheusJob is the job label of the file_sd targets.
const PrometheusJob = "wotr"

// PrometheusOptions configures the Prometheus server.
type PrometheusOptions struct {
	// ScrapeInterval of every job; default 1s, at least 100ms.
	ScrapeInterval time.Duration
	// Rules is the rules file it loads; nil loads the shipped one
	// (platform/deploy/prometheus/rules.yml).
	Rules []byte
}

func (o PrometheusOptions) withDefaults() (PrometheusOptions, error) {
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = time.Second
	}
	if o.Rules == nil {
		o.Rules = promrules.RulesFile
	}
	if o.ScrapeInterval < 100*time.Millisecond {
		return o, fmt.Errorf("scrape interval %s: must be at least 100ms", o.ScrapeInterval)
	}
	return o, nil
}

// PrometheusServer is Debian's prometheus scraping itself and the targets of
// a file_sd file that SetTargets rewrites.
type PrometheusServer struct {
	URL            string // http://127.0.0.1:port
	Dir            string
	TargetsFile    string
	ScrapeInterval time.Duration
	Proc           *Process

	mu      sync.Mutex
	targets []Target
}

// Target is one scrape target with the labels the dashboards group by
// (pod, deployment, node, region, ...). A __metrics_path__ label overrides /metrics.
type Target struct {
	Addr   string
	Labels map[string]string
}

var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func (p *Platform) startPrometheus(ctx context.Context) error {
	o, err := p.opts.Prometheus.withDefaults()
	if err != nil {
		return err
	}
	bin, err := findBinary("prometheus")
	if err != nil {
		return err
	}
	dir := filepath.Join(p.Dir, "prometheus")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	s := &PrometheusServer{Dir: dir, TargetsFile: filepath.Join(dir, "targets.json"), ScrapeInterval: o.ScrapeInterval}
	if err := s.SetTargets(nil); err != nil {
		return err
	}
	interval := fmt.Sprintf("%dms", o.ScrapeInterval.Milliseconds())
	// Scrapes time out before the next one is due.
	timeout := fmt.Sprintf("%dms", o.ScrapeInterval.Milliseconds()*9/10)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	rulesPath := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesPath, o.Rules, 0o644); err != nil {
		return err
	}
	proc, _, err := p.startOnFreshPorts(ctx, Prometheus, "prometheus /-/ready", 1, func(_ int, ports []int) (*Process, error) {
		port := ports[0]
		s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
		cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[2]s
  evaluation_interval: %[1]s
rule_files: ['%[6]s']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:%[3]d']
  - job_name: %[4]s
    file_sd_configs:
      - files: ['%[5]s']
        refresh_interval: %[1]s
`, interval, timeout, port, PrometheusJob, s.TargetsFile, rulesPath)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		proc, err := p.startProcess(ProcSpec{Name: "prometheus", Path: bin, Dir: dir, Args: []string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--storage.tsdb.retention.time=1d",
			"--web.listen-address=" + net.JoinHostPort("127.0.0.1", fmt.Sprint(port)),
			"--log.level=warn",
		}})
		if err != nil {
			return nil, err
		}
		p.onStop(Prometheus, func() error { return proc.Stop(15 * time.Second) })
		return proc, nil
	}, func(ctx context.Context) error { return httpOK(s.URL + "/-/ready")(ctx) })
	s.Proc = proc
	if err != nil {
		return err
	}
	p.Prometheus = s
	return nil
}

// SetTargets replaces the scraped targets. The file is replaced atomically
// (write, then rename) so Prometheus never reads half of it. Prometheus 2.x
// batches discovery updates every 5s, so a new target is scraped, or a removed
// one dropped, after about 5s.
func (s *PrometheusServer) SetTargets(targets []Target) error {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
	groups := []group{}
	seen := map[string]bool{}
	for _, t := range targets {
		if _, _, err := net.SplitHostPort(t.Addr); err != nil {
			return fmt.Errorf("target address %q: must be host:port", t.Addr)
		}
		// A multi-target exporter is one address with a target per
		// __param_target (and path): those make a target, not the address alone.
		key := t.Addr + " " + t.Labels["__metrics_path__"] + " " + t.Labels["__param_target"]
		if seen[key] {
			return fmt.Errorf("target address %q: listed twice", strings.TrimSpace(key))
		}
		seen[key] = true
		for k := range t.Labels {
			if !promLabelName.MatchString(k) {
				return fmt.Errorf("target %s label %q: must match %s", t.Addr, k, promLabelName)
			}
		}
		groups = append(groups, group{Targets: []string{t.Addr}, Labels: t.Labels})
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Targets[0] < groups[j].Targets[0] })
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeFileAtomic(s.TargetsFile, b); err != nil {
		return err
	}
	s.targets = append([]Target(nil), targets...)
	return nil
}

// Targets returns the targets last set.
func (s *PrometheusServer) Targets() []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Target(nil), s.targets...)
}

// AddTarget adds or replaces (by address) one target.
func (s *PrometheusServer) AddTarget(t Target) error {
	ts := s.Targets()
	out := ts[:0]
	for _, old := range ts {
		if old.Addr != t.Addr {
			out = append(out, old)
		}
	}
	return s.SetTargets(append(out, t))
}

// RemoveTarget drops the target with this address, if present.
func (s *PrometheusServer) RemoveTarget(addr string) error {
	ts := s.Targets()
	out := ts[:0]
	for _, old := range ts {
		if old.Addr != addr {
			out = append(out, old)
		}
	}
	return s.SetTargets(out)
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// httpOK succeeds once url answers 200.
func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b := make([]byte, 200)
			n, _ := resp.Body.Read(b)
			return fmt.Errorf("%s: %s %s", url, resp.Status, strings.TrimSpace(string(b[:n])))
		}
		return nil
	}
}
