package local_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// The global frontend sends every request to the active region's backend
// only, and SetActive moves all traffic to the other region without a reload.
func TestHAProxyGlobalFrontendSwitchesRegions(t *testing.T) {
	p := localtest.Private(t, local.Options{Only: []string{local.HAProxy},
		HAProxy: local.HAProxyOptions{Regions: []string{"primary", "secondary"}}})
	prim, sec := p.HAProxy.ForRegion("primary"), p.HAProxy.ForRegion("secondary")
	if prim == nil || sec == nil || prim.Backend == sec.Backend || prim.Backend != local.HAProxyBackend {
		t.Fatalf("ForRegion: primary %+v secondary %+v: want two backends, the primary's %s", prim, sec, local.HAProxyBackend)
	}
	if p.HAProxy.ForRegion("tertiary") != nil {
		t.Fatal("ForRegion of an unknown region returned a backend")
	}
	_, addrP := apiInstance(t, "api-primary")
	_, addrS := apiInstance(t, "api-secondary")
	if err := prim.SetBackends([]local.Backend{{Name: "p0", Addr: addrP}}); err != nil {
		t.Fatal(err)
	}
	if err := sec.SetBackends([]local.Backend{{Name: "s0", Addr: addrS}}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	get := func() string {
		resp, err := client.Get("http://" + p.HAProxy.FrontendAddr + "/events")
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		// The answer names the backend of the region that served it.
		if be := resp.Header.Get(local.HAProxyBackendHeader); be != "" && be != prim.Backend && be != sec.Backend {
			return "backend header " + be
		}
		return string(b)
	}
	// Until the health checks pass the backend answers 503; then only the
	// active region answers.
	onlyFrom := func(want string) func() error {
		return func() error {
			for i := 0; i < 10; i++ {
				if got := get(); got != want {
					return fmt.Errorf("request %d answered %q, want %q", i, got, want)
				}
			}
			return nil
		}
	}
	localtest.Eventually(t, 30*time.Second, "primary serves", onlyFrom("api-primary"))
	if got, err := p.HAProxy.Active(); err != nil || got != "primary" {
		t.Fatalf("Active = %q, %v; want primary", got, err)
	}

	if err := p.HAProxy.SetActive("secondary"); err != nil {
		t.Fatal(err)
	}
	// The switch is immediate: the very next requests go to the secondary.
	if err := onlyFrom("api-secondary")(); err != nil {
		t.Fatalf("after SetActive(secondary): %v", err)
	}
	if got, err := p.HAProxy.Active(); err != nil || got != "secondary" {
		t.Fatalf("Active = %q, %v; want secondary", got, err)
	}

	// An unknown region is refused and traffic stays where it was.
	if err := p.HAProxy.SetActive("tertiary"); err == nil || !strings.Contains(err.Error(), `"tertiary"`) {
		t.Fatalf("SetActive(tertiary): %v, want an error naming it", err)
	}
	if err := onlyFrom("api-secondary")(); err != nil {
		t.Fatalf("after the refused switch: %v", err)
	}
}

func TestHAProxyRejectsBadRegions(t *testing.T) {
	for _, regions := range [][]string{{"primary", "primary"}, {"primary", "bad name"}, {"primary", ""}} {
		_, err := local.Start(t.Context(), local.Options{Only: []string{local.HAProxy}, HAProxy: local.HAProxyOptions{Regions: regions}})
		if err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("Regions %q: err %v, want it refused naming the region", regions, err)
		}
	}
}
