package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// processComponents are the components checked by the stop tests below: all
// seven, Kafka (in process) included.
var processComponents = local.AllComponents

// enabledProcessComponents are those the shared platform runs (WOTR_LOCAL_ONLY).
func enabledProcessComponents(t *testing.T) []string {
	shared := localtest.Platform(t)
	var out []string
	for _, c := range processComponents {
		if shared.Enabled(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Skip("no component is enabled")
	}
	return out
}

type procInfo struct {
	pid, ppid, pgrp int
	state           string
	start           string // start time in ticks: tells a reused pid apart
	cmdline         string
}

// allProcesses reads /proc: the check must see what the platform does not track.
func allProcesses(t *testing.T) []procInfo {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// comm may contain spaces; fields after the closing paren are fixed.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, procInfo{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0], start: f[19],
			cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")})
	}
	return out
}

// waitNoProcesses polls until no live (non-zombie) process matches.
func waitNoProcesses(t *testing.T, what string, match func(procInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, pi := range allProcesses(t) {
			if pi.state != "Z" && match(pi) {
				left = append(left, strconv.Itoa(pi.pid)+" "+pi.cmdline)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes left behind:\n%s", what, strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond) // poll interval; the deadline bounds it
	}
}

func TestStopLeavesNoProcesses(t *testing.T) {
	only := enabledProcessComponents(t)
	// Overlaps the Prometheus test's discovery waits; the port-clash tests,
	// which swap the port picker, are sequential and so done by then.
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Non-default options, the demo's durable PostgreSQL among them.
	p, err := local.Start(ctx, local.Options{Only: only,
		Kafka:      local.KafkaOptions{Brokers: 1, Topics: map[string]int32{"only-topic": 2}},
		Postgres:   local.PostgresOptions{Durable: true, MaxConnections: 20},
		HAProxy:    local.HAProxyOptions{Slots: 2},
		Kube:       local.KubeOptions{Nodes: 1},
		ClickHouse: local.ClickHouseOptions{Replicas: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	t.Logf("start times of %v:\n%s", only, p.StartReport())
	checkNonDefaultOptions(ctx, t, p)
	pids := p.PIDs()
	groups := map[int]bool{}
	for _, pid := range pids {
		pgid, err := syscall.Getpgid(pid)
		if err != nil {
			t.Fatalf("tracked pid %d: %v", pid, err)
		}
		groups[pgid] = true
	}
	// Descendants too: PostgreSQL's children leave the postmaster's process
	// group (setsid), so only the parent links find them.
	type procKey struct {
		pid   int
		start string
	}
	owned := map[procKey]bool{}
	tracked := map[int]bool{}
	for _, pid := range pids {
		tracked[pid] = true
	}
	procs := allProcesses(t)
	for changed := true; changed; {
		changed = false
		for _, pi := range procs {
			if !tracked[pi.pid] && (tracked[pi.ppid] || groups[pi.pgrp]) {
				tracked[pi.pid], changed = true, true
			}
		}
	}
	for _, pi := range procs {
		if tracked[pi.pid] {
			owned[procKey{pi.pid, pi.start}] = true
		}
	}
	t.Logf("%d tracked processes, %d with their descendants and group members", len(pids), len(owned))
	if want := expectedProcesses(only, 1); len(pids) != want {
		t.Fatalf("tracking %d processes, want at least %d for %v", len(pids), want, only)
	}
	dir := p.Dir

	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after Stop (kill -0: %v)", pid, err)
		}
	}
	waitNoProcesses(t, "after Stop", func(pi procInfo) bool {
		return owned[procKey{pi.pid, pi.start}] || groups[pi.pgrp] || strings.Contains(pi.cmdline, dir)
	})
	if left := p.PIDs(); len(left) != 0 {
		t.Errorf("PIDs() after Stop = %v", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("platform dir %s not removed: %v", dir, err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// expectedProcesses counts the long-running processes of these components.
func expectedProcesses(only []string, clickHouseServers int) int {
	n := 0
	for _, c := range only {
		switch c {
		case local.Postgres, local.Redis:
			n += 2
		case local.Prometheus, local.HAProxy:
			n++
		case local.Kube:
			n += 5 // etcd, apiserver, controller-manager, scheduler, kwok
		case local.ClickHouse:
			n += 1 + clickHouseServers // and zookeeper
		}
	}
	return n
}

// A start that fails, by an impossible option or by a deadline hit while
// processes are starting, stops everything it had started.
func TestFailedStartStopsEverything(t *testing.T) {
	only := enabledProcessComponents(t)
	for _, tc := range []struct {
		name string
		opts local.Options
		want string
	}{
		{"impossible option", local.Options{HAProxy: local.HAProxyOptions{Slots: -1}, Redis: local.RedisOptions{MaxMemory: "1 gb"},
			Kafka: local.KafkaOptions{Brokers: -3}, Postgres: local.PostgresOptions{MaxConnections: 2},
			Prometheus: local.PrometheusOptions{ScrapeInterval: time.Millisecond},
			Kube:       local.KubeOptions{Nodes: -1}, ClickHouse: local.ClickHouseOptions{Replicas: -1}}, "must be"},
		{"deadline while starting", local.Options{StartTimeout: time.Nanosecond}, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, err := os.MkdirTemp("", "wotr-failed-start-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(parent)
			if err := os.Chmod(parent, 0o755); err != nil { // the postgres account must traverse it
				t.Fatal(err)
			}
			opts := tc.opts
			opts.Only, opts.Dir, opts.KeepDir = only, parent, true
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p, err := local.Start(ctx, opts)
			if err == nil {
				_ = p.Stop()
				t.Fatal("Start succeeded")
			}
			t.Logf("Start: %v", err)
			for _, c := range only {
				if !strings.Contains(err.Error(), "local: "+c+": ") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error does not say %s failed with %q: %v", c, tc.want, err)
				}
			}
			waitNoProcesses(t, "after failed Start", func(pi procInfo) bool { return strings.Contains(pi.cmdline, parent) })
			// Logs stay for the post-mortem (KeepDir) and show what had been started.
			logs, _ := filepath.Glob(filepath.Join(parent, "*", "*.log"))
			t.Logf("logs of started processes: %d", len(logs))
			if tc.opts.StartTimeout != 0 && len(logs) == 0 && expectedProcesses(only, 2) > 0 {
				t.Error("no process was started before the deadline; the test proves nothing")
			}
		})
	}
}

func checkNonDefaultOptions(ctx context.Context, t *testing.T, p *local.Platform) {
	t.Helper()
	if p.Kafka != nil && len(p.Kafka.Brokers) != 1 {
		t.Errorf("Kafka brokers %v, want 1", p.Kafka.Brokers)
	}
	if p.Kube != nil && len(p.Kube.Nodes) != 1 {
		t.Errorf("kube nodes %v, want 1", p.Kube.Nodes)
	}
	if p.ClickHouse != nil && len(p.ClickHouse.Replicas) != 1 {
		t.Errorf("ClickHouse servers %+v, want 1", p.ClickHouse.Replicas)
	}
	if p.HAProxy != nil {
		servers, err := p.HAProxy.Servers()
		if err != nil || len(servers) != 2 {
			t.Errorf("HAProxy servers %+v (%v), want 2 slots", servers, err)
		}
	}
	if p.Postgres != nil {
		for _, s := range []local.PostgresServer{p.Postgres.Primary, p.Postgres.Standby} {
			c, err := pgx.Connect(ctx, s.DSN)
			if err != nil {
				t.Fatal(err)
			}
			var maxConn, fsync string
			if err := c.QueryRow(ctx, "SELECT current_setting('max_connections'), current_setting('fsync')").Scan(&maxConn, &fsync); err != nil {
				t.Fatal(err)
			}
			c.Close(ctx)
			if maxConn != "20" || fsync != "on" {
				t.Errorf("%s: max_connections=%s fsync=%s, want 20 and on", s.Name, maxConn, fsync)
			}
		}
	}
}
