package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestFaultRequest(t *testing.T) {
	for _, c := range []struct {
		body    demo.FaultRequest
		want    local.Fault
		wantErr string
	}{
		{body: demo.FaultRequest{Latency: "200ms"}, want: local.Fault{Mode: local.FaultLatency, Latency: 200 * time.Millisecond}},
		{body: demo.FaultRequest{Blackhole: true}, want: local.Fault{Mode: local.FaultBlackhole}},
		{body: demo.FaultRequest{Reset: true}, want: local.Fault{Mode: local.FaultReset}},
		{body: demo.FaultRequest{Bandwidth: "100KiB"}, want: local.Fault{Mode: local.FaultBandwidth, BytesPerSec: 100 << 10}},
		{body: demo.FaultRequest{Bandwidth: "512"}, want: local.Fault{Mode: local.FaultBandwidth, BytesPerSec: 512}},
		{body: demo.FaultRequest{Latency: "fast"}, wantErr: `latency "fast": must be a duration`},
		{body: demo.FaultRequest{Latency: "-1s"}, wantErr: "latency -1s: must be above 0"},
		{body: demo.FaultRequest{Bandwidth: "lots"}, wantErr: `bandwidth "lots": must be a positive byte rate`},
		{body: demo.FaultRequest{Bandwidth: "0KiB"}, wantErr: `bandwidth "0KiB"`},
		{body: demo.FaultRequest{Blackhole: true, Reset: true}, wantErr: "set exactly one of"},
		{body: demo.FaultRequest{}, wantErr: "set exactly one of"},
	} {
		got, err := c.body.Fault()
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%+v: error %v, want one containing %q", c.body, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v: %+v, %v; want %+v", c.body, got, err, c.want)
		}
	}
}

func controlDo(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// redisPing sends PING to addr and waits up to d for +PONG.
func redisPing(addr string, d time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "+PONG\r\n" {
		return fmt.Errorf("answer %q", buf[:n])
	}
	return nil
}

// TestDemoFaultAPI drives the fault layer through the demo's control API:
// a blackholed Redis stops answering through its proxy and answers again once
// cleared; a killed consumer pod process is restarted by the supervisor.
func TestDemoFaultAPI(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Prometheus, local.ClickHouse, local.Postgres, local.Redis, local.HAProxy)
	buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	noDemoPods(ctx, t, p)
	rate := demo.DefaultLoadSettings()
	rate.Rate = 50
	d, err := demo.Start(ctx, demo.Options{Platform: p, BinDir: binDir, NoConfig: true, Load: &rate})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = d.Stop()
		// The shared cluster is left without the demo's workloads for other tests.
		_ = p.Kube.Clientset.AppsV1().Deployments(p.Kube.Namespace).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	}()
	ctl := d.Endpoints.Control

	st, body := controlDo(t, http.MethodGet, ctl+"/faults", "")
	var fs demo.FaultsState
	if err := json.Unmarshal(body, &fs); st != 200 || err != nil {
		t.Fatalf("GET /faults: %d %v %s", st, err, body)
	}
	var redis demo.ProxyState
	for _, pr := range fs.Proxies {
		if pr.Name == "redis-primary" {
			redis = pr
		}
	}
	if redis.Addr == "" || redis.Target != p.Redis.Primary.Addr || redis.Fault.Mode != local.FaultNone {
		t.Fatalf("redis-primary proxy: %+v (all: %+v)", redis, fs.Proxies)
	}
	if err := redisPing(redis.Addr, 2*time.Second); err != nil {
		t.Fatalf("PING through the proxy before the fault: %v", err)
	}

	for _, c := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/faults/redis-primary", `{"latency":"soon"}`, `latency \"soon\": must be a duration`},
		{http.MethodPost, "/faults/redis-primary", `{"blackhole":true,"reset":true}`, "set exactly one of"},
		{http.MethodPost, "/faults/redis-primary", `{"blackhole":"yes"}`, "body: "},
		{http.MethodPost, "/processes/redis-primary/explode", "", `action \"explode\": must be kill, pause or resume`},
	} {
		if st, body := controlDo(t, c.method, ctl+c.path, c.body); st != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
			t.Errorf("%s %s %s: %d %s, want 400 naming %q", c.method, c.path, c.body, st, body, c.want)
		}
	}
	if st, body := controlDo(t, http.MethodPost, ctl+"/faults/nosuch", `{"reset":true}`); st != http.StatusNotFound || !strings.Contains(string(body), "redis-primary") {
		t.Errorf("unknown proxy: %d %s, want 404 listing the known ones", st, body)
	}

	if st, body := controlDo(t, http.MethodPost, ctl+"/faults/redis-primary", `{"blackhole":true}`); st != 200 || !strings.Contains(string(body), `"mode": "blackhole"`) {
		t.Fatalf("blackhole: %d %s", st, body)
	}
	if err := redisPing(redis.Addr, time.Second); err == nil {
		t.Fatal("PING through a blackholed proxy answered")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("PING through a blackholed proxy: %v, want a timeout", err)
	}
	_, body = controlDo(t, http.MethodGet, ctl+"/faults", "")
	if !strings.Contains(string(body), `"mode": "blackhole"`) {
		t.Errorf("GET /faults does not report the blackhole: %s", body)
	}
	if st, body := controlDo(t, http.MethodDelete, ctl+"/faults/redis-primary", ""); st != 200 || !strings.Contains(string(body), `"mode": "none"`) {
		t.Fatalf("clear: %d %s", st, body)
	}
	if err := redisPing(redis.Addr, 2*time.Second); err != nil {
		t.Fatalf("PING through the proxy after clearing: %v", err)
	}

	// Each API instance sits behind its own proxy, the address HAProxy uses.
	var api demo.ProxyState
	localtest.Eventually(t, 60*time.Second, "an API instance proxy", func() error {
		_, body := controlDo(t, http.MethodGet, ctl+"/faults", "")
		var fs demo.FaultsState
		if err := json.Unmarshal(body, &fs); err != nil {
			return err
		}
		for _, pr := range fs.Proxies {
			if strings.HasPrefix(pr.Name, "api-instance-") {
				api = pr
				return nil
			}
		}
		return fmt.Errorf("no api-instance-* proxy in %+v", fs.Proxies)
	})
	health := func() error {
		cl := http.Client{Timeout: 2 * time.Second}
		resp, err := cl.Get("http://" + api.Addr + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := health(); err != nil {
		t.Fatalf("%s before the fault: %v", api.Name, err)
	}
	if st, body := controlDo(t, http.MethodPost, ctl+"/faults/"+api.Name, `{"reset":true}`); st != 200 {
		t.Fatalf("reset %s: %d %s", api.Name, st, body)
	}
	if err := health(); err == nil {
		t.Fatalf("%s answered through a resetting proxy", api.Name)
	}
	if st, body := controlDo(t, http.MethodDelete, ctl+"/faults/"+api.Name, ""); st != 200 {
		t.Fatalf("clear %s: %d %s", api.Name, st, body)
	}
	if err := health(); err != nil {
		t.Fatalf("%s after clearing: %v", api.Name, err)
	}

	var victim demo.Instance
	localtest.Eventually(t, 60*time.Second, "a ready consumer pod", func() error {
		for _, in := range d.Supervisor.Instances() {
			if in.Deployment == demo.ConsumerDeployment && in.Ready {
				victim = in
				return nil
			}
		}
		return fmt.Errorf("instances %+v", d.Supervisor.Instances())
	})
	if st, body := controlDo(t, http.MethodPost, ctl+"/processes/"+victim.Pod+"/kill", ""); st != 200 {
		t.Fatalf("kill %s: %d %s", victim.Pod, st, body)
	}
	localtest.Eventually(t, 60*time.Second, "the killed pod's process restarted", func() error {
		for _, in := range d.Supervisor.Instances() {
			if in.Pod == victim.Pod {
				if in.PID != victim.PID && in.Restarts > victim.Restarts && in.Ready {
					return nil
				}
				return fmt.Errorf("pid %d restarts %d ready %v", in.PID, in.Restarts, in.Ready)
			}
		}
		return fmt.Errorf("pod %s gone", victim.Pod)
	})
	if st, body := controlDo(t, http.MethodPost, ctl+"/processes/nosuch-pod/pause", ""); st != http.StatusNotFound || !strings.Contains(string(body), victim.Pod) {
		t.Errorf("unknown process: %d %s, want 404 listing the known ones", st, body)
	}
}
