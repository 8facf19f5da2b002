package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
)

func sampleEndpoints() demo.Endpoints {
	return demo.Endpoints{
		Context: demo.ContextName, ConfigPath: "/home/u/.config/wotr/config.yaml",
		Kubeconfig: "/tmp/wotr-local-1/kube/admin.kubeconfig", KubeContext: "wotr-local", Namespace: "wotr",
		Kafka: []string{"127.0.0.1:9092"}, Prometheus: "http://127.0.0.1:9090",
		Regions: map[string]demo.RegionEndpoint{
			demo.RegionPrimary:   {Postgres: "127.0.0.1:5432", Redis: "127.0.0.1:6379"},
			demo.RegionSecondary: {Postgres: "127.0.0.1:5433", Redis: "127.0.0.1:6380"},
		},
		ClickHouse: []string{"127.0.0.1:9000", "127.0.0.1:9001"},
		HAProxy:    &demo.HAProxyEndpoints{Frontend: "127.0.0.1:8080", Socket: "/tmp/haproxy.sock", Backend: "wotr_api_backend"},
		Control:    "http://127.0.0.1:7000", LogDir: "/tmp/wotr-local-1/pods",
	}
}

// stubDemo makes d's demo.Start one that returns fixed endpoints.
func stubDemo(d *deps, started *demo.Options) {
	d.missingDeps = func(local.Options) []local.MissingDep { return nil }
	d.startDemo = func(ctx context.Context, o demo.Options) (*demo.Demo, error) {
		*started = o
		o.Progress("local platform", time.Second)
		return &demo.Demo{Endpoints: sampleEndpoints()}, nil
	}
}

func TestDemoHelpDocumentsControl(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--help"}, defaultDeps(strings.NewReader(""), &out, &errOut)); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"--no-tui", "POST /load?rate=", "consumer_slowdown", "skew", "mode=daily"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--no-tui", "-o", "yaml"},
		{"demo", "--no-tui", "--rate", "-5"},
		{"demo", "--no-tui", "--mode", "hourly"},
		{"demo", "--no-tui", "--skew", "1.5"},
		{"demo", "-o", "json"}, // json is for headless runs
	} {
		var out, errOut bytes.Buffer
		if code := run(args, defaultDeps(strings.NewReader(""), &out, &errOut)); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errOut.String())
		}
		if errOut.Len() == 0 {
			t.Errorf("%v: no error message", args)
		}
	}
}

func TestDemoNoTUIPrintsEndpointsAsJSON(t *testing.T) {
	var started demo.Options
	var out, errOut bytes.Buffer
	d := defaultDeps(strings.NewReader(""), &out, &errOut)
	d.flags.configPath = "/tmp/cfg.yaml"
	stubDemo(d, &started)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the demo log goes there
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted right away: prints, then stops
	f := &demoFlags{noTUI: true, output: "json", rate: 300, mode: demo.ModeDaily, skew: 0.25, controlAddr: "127.0.0.1:0"}
	if err := runDemo(ctx, d, f); err != nil {
		t.Fatal(err)
	}
	var got demo.Endpoints
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	if got.Context != "demo" || got.Regions["secondary"].Postgres != "127.0.0.1:5433" || got.HAProxy.Socket != "/tmp/haproxy.sock" {
		t.Errorf("endpoints = %+v", got)
	}
	if started.ConfigPath != "/tmp/cfg.yaml" || started.Load.Rate != 300 || started.Load.Mode != demo.ModeDaily || started.Load.Skew != 0.25 {
		t.Errorf("demo options = %+v, load %+v", started, started.Load)
	}
	if !strings.Contains(errOut.String(), "✓ local platform") || !strings.Contains(errOut.String(), "demo stopped") {
		t.Errorf("progress lines missing:\n%s", errOut.String())
	}
}

func TestDemoEndpointTable(t *testing.T) {
	var out bytes.Buffer
	if err := printEndpoints(&out, "table", sampleEndpoints()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubeconfig", "admin.kubeconfig", "kafka", "prometheus", "postgres primary", "postgres secondary",
		"redis secondary", "127.0.0.1:6380", "clickhouse", "haproxy", "/tmp/haproxy.sock", "load control"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoQuitOnQ(t *testing.T) {
	done := make(chan struct{})
	go func() {
		waitForQuit(context.Background(), strings.NewReader("x\nq\n"), true)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("q did not end the wait")
	}
}
