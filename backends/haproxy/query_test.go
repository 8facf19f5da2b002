package haproxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/runbook"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.HAProxy}}))
}

func healthy(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Servers reports attached instances UP, a drained one DRAIN, one in
// maintenance MAINT, and a dead one DOWN once its health checks fail.
func TestServersReportsStates(t *testing.T) {
	p := localtest.Platform(t, local.HAProxy)
	hp := p.HAProxy
	a, b, c := healthy(t), healthy(t), healthy(t)
	deadSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	dead := strings.TrimPrefix(deadSrv.URL, "http://")
	if err := hp.SetBackends([]local.Backend{{Name: "a", Addr: a}, {Name: "b", Addr: b}, {Name: "c", Addr: c}, {Name: "dead", Addr: dead}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.SetBackends(nil) })
	if err := hp.Drain("b"); err != nil {
		t.Fatal(err)
	}
	if err := hp.Maint("c"); err != nil {
		t.Fatal(err)
	}
	deadSrv.Close()

	client, err := New(config.HAProxyEndpoint{Socket: hp.Socket, Backend: hp.Backend})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{a: "UP", b: "DRAIN", c: "MAINT", dead: "DOWN"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		servers, err := client.Servers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range servers {
			if s.Name == "" || !strings.HasPrefix(s.Name, local.HAProxySlotPrefix) {
				t.Fatalf("server %+v: want a slot name %s<n>", s, local.HAProxySlotPrefix)
			}
			if _, ok := want[s.Addr]; ok {
				got[s.Addr] = s.State
			}
		}
		match := len(got) == len(want)
		for addr, st := range want {
			match = match && got[addr] == st
		}
		if match {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %v, want %v (all servers: %+v)", got, want, servers)
		}
		time.Sleep(200 * time.Millisecond) // poll interval: health checks take a few rounds
	}
}

func TestLBServerOfMapsAdminAndOpStates(t *testing.T) {
	cases := []struct {
		in   ServerState
		want runbook.LBServer
	}{
		{ServerState{Server: "api1", Addr: "127.0.0.1", Port: 8000, OpState: 2}, runbook.LBServer{Name: "api1", Addr: "127.0.0.1:8000", State: "UP"}},
		{ServerState{Server: "api2", Addr: "127.0.0.1", Port: 8001, OpState: 0}, runbook.LBServer{Name: "api2", Addr: "127.0.0.1:8001", State: "DOWN"}},
		{ServerState{Server: "api3", Addr: "127.0.0.1", Port: 8002, OpState: 2, AdminState: 0x08}, runbook.LBServer{Name: "api3", Addr: "127.0.0.1:8002", State: "DRAIN"}},
		{ServerState{Server: "api4", Addr: "127.0.0.1", Port: 1, OpState: 0, AdminState: 0x01}, runbook.LBServer{Name: "api4", Addr: "127.0.0.1:1", State: "MAINT"}},
		{ServerState{Server: "api5", Addr: "0.0.0.0", Port: 0, OpState: 0, AdminState: 0x20}, runbook.LBServer{Name: "api5", State: "MAINT"}},
	}
	for _, c := range cases {
		if got := LBServerOf(c.in); got != c.want {
			t.Errorf("LBServerOf(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
