package local_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func apiInstance(t *testing.T, name string) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			fmt.Fprintln(w, "ok")
			return
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "http://")
}

// Requests through the frontend reach the attached instances in turn; a drained
// instance gets none until it is made ready again.
func TestHAProxyRoutesAndDrains(t *testing.T) {
	p := localtest.Platform(t, local.HAProxy)
	hp := p.HAProxy
	_, addrA := apiInstance(t, "api-a")
	_, addrB := apiInstance(t, "api-b")
	if err := hp.SetBackends([]local.Backend{{Name: "api-a", Addr: addrA}, {Name: "api-b", Addr: addrB}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.SetBackends(nil) })

	state, err := hp.RuntimeCommand("show servers state " + local.HAProxyBackend)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(state, local.HAProxyBackend+" 1 api1 127.0.0.1") {
		t.Fatalf("show servers state does not list api1 on 127.0.0.1:\n%s", state)
	}

	client := &http.Client{Timeout: 2 * time.Second}
	get := func() string {
		resp, err := client.Get("http://" + hp.FrontendAddr + "/events")
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return string(b)
	}
	// seenAll polls until the last n answers include exactly the wanted names.
	seenAll := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := map[string]bool{}
			for i := 0; i < 6; i++ {
				got[get()] = true
			}
			ok := len(got) == len(want)
			for _, w := range want {
				ok = ok && got[w]
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				servers, _ := hp.Servers()
				t.Fatalf("frontend answers %v, want exactly %v; servers: %+v", got, want, servers)
			}
			time.Sleep(50 * time.Millisecond) // poll interval; the deadline bounds it
		}
	}
	seenAll("api-a", "api-b")

	if err := hp.Drain("api-a"); err != nil {
		t.Fatal(err)
	}
	seenAll("api-b")
	servers, err := hp.Servers()
	if err != nil {
		t.Fatal(err)
	}
	var drained bool
	for _, s := range servers {
		if s.Name == "api-a" {
			drained = s.Draining() && s.Addr == addrA
		}
	}
	if !drained {
		t.Fatalf("api-a not shown draining at %s: %+v", addrA, servers)
	}
	if err := hp.Ready("api-a"); err != nil {
		t.Fatal(err)
	}
	seenAll("api-a", "api-b")

	// The exporter counts the requests that reached the backend.
	resp, err := client.Get("http://" + hp.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `haproxy_backend_http_responses_total{proxy="wotr_api_backend",code="2xx"}`) {
		t.Errorf("metrics lack the backend's 2xx responses:\n%.2000s", metrics)
	}

	// Detaching api-b leaves only api-a.
	if err := hp.SetBackends([]local.Backend{{Name: "api-a", Addr: addrA}}); err != nil {
		t.Fatal(err)
	}
	seenAll("api-a")
}

func TestHAProxyRejectsBadInput(t *testing.T) {
	p := localtest.Platform(t, local.HAProxy)
	hp := p.HAProxy
	for _, tc := range []struct {
		backends []local.Backend
		want     string
	}{
		{[]local.Backend{{Name: "x", Addr: "localhost:80"}}, `address "localhost:80": must be ip:port`},
		{[]local.Backend{{Name: "x", Addr: "127.0.0.1:80"}, {Name: "x", Addr: "127.0.0.1:81"}}, `"x": listed twice`},
		{[]local.Backend{{Addr: "127.0.0.1:80"}}, "name must not be empty"},
	} {
		if err := hp.SetBackends(tc.backends); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetBackends(%v) = %v, want error containing %s", tc.backends, err, tc.want)
		}
	}
	if err := hp.Drain("no-such-instance"); err == nil || !strings.Contains(err.Error(), "not attached") {
		t.Errorf("Drain of an unknown backend: %v", err)
	}
	if _, err := hp.RuntimeCommand("show info; shutdown sessions"); err == nil {
		t.Error("RuntimeCommand accepted a chained command")
	}
}
