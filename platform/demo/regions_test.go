package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/demo"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// processEnv reads a running process's environment.
func processEnv(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			out[k] = v
		}
	}
	return out
}

// The demo, as `wotr-tui demo` starts it, runs each region in its own
// control plane: the secondary's Deployments at their standby sizes, its
// API on the secondary's stores, behind its own backend of the global
// frontend, which serves the primary; the context names each region's own
// kubeconfig and context.
func TestDemoTwoRegionsEachInItsOwnCluster(t *testing.T) {
	if err := localtest.Unavailable(local.Options{}); err != nil {
		if localtest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	t0 := time.Now()
	d, err := demo.Start(ctx, demo.Options{BinDir: binDir, ConfigPath: cfgPath, NoLoad: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	t.Logf("two-region demo up in %s", time.Since(t0).Round(time.Millisecond))
	p := d.Platform
	prim, sec := p.KubeFor(demo.RegionPrimary), p.KubeFor(demo.RegionSecondary)
	if len(p.Kubes) != 2 || prim == sec {
		t.Fatalf("%d control planes, want one per region", len(p.Kubes))
	}

	// Sizes per region: the primary's as the demo runs them, the secondary's
	// from the manifests' standby annotation, its HPA floor following.
	want := map[*local.KubeCluster]map[string]int32{
		prim: {demo.APIDeployment: demo.APIReplicas, demo.ConsumerDeployment: demo.ConsumerReplicas},
		sec:  {demo.APIDeployment: 1, demo.ConsumerDeployment: 0},
	}
	for k, deps := range want {
		for name, n := range deps {
			dep, err := k.Clientset.AppsV1().Deployments(k.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: %v", k.Context, err)
			}
			if *dep.Spec.Replicas != n {
				t.Errorf("%s %s: replicas %d, want %d", k.Context, name, *dep.Spec.Replicas, n)
			}
		}
	}
	hpa, err := sec.Clientset.AutoscalingV2().HorizontalPodAutoscalers(sec.Namespace).Get(ctx, "wotr-api-hpa", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *hpa.Spec.MinReplicas != 1 {
		t.Errorf("secondary HPA minReplicas %d, want the standby size 1", *hpa.Spec.MinReplicas)
	}

	// Each region's supervisor runs its own cluster's pods; the secondary's
	// API talks to the standby PostgreSQL and the Redis replica.
	var secAPI []demo.Instance
	localtest.Eventually(t, 60*time.Second, "secondary API instance ready", func() error {
		secAPI = nil
		for _, in := range d.Supervisors[demo.RegionSecondary].Instances() {
			if in.Deployment == demo.APIDeployment && in.Ready {
				secAPI = append(secAPI, in)
			}
		}
		if len(secAPI) != 1 {
			return fmt.Errorf("%d ready secondary API instances, want 1", len(secAPI))
		}
		return nil
	})
	pgStandby, _ := p.ProxyAddr("postgres-standby")
	redisReplica, _ := p.ProxyAddr("redis-replica")
	env := processEnv(t, secAPI[0].PID)
	if got := env["POSTGRES_HOST"] + ":" + env["POSTGRES_PORT"]; got != pgStandby {
		t.Errorf("secondary API POSTGRES_HOST:PORT %s, want the standby's %s", got, pgStandby)
	}
	if !strings.Contains(env["REDIS_HOST"]+":"+env["REDIS_PORT"], redisReplica) && !strings.Contains(env["REDIS_URL"], redisReplica) {
		t.Errorf("secondary API Redis env %q/%q/%q, want the replica %s", env["REDIS_HOST"], env["REDIS_PORT"], env["REDIS_URL"], redisReplica)
	}
	for _, in := range d.Supervisors[demo.RegionPrimary].Instances() {
		if in.Deployment == demo.APIDeployment {
			if pe := processEnv(t, in.PID); pe["POSTGRES_PORT"] == env["POSTGRES_PORT"] {
				t.Errorf("primary API %s uses the secondary's PostgreSQL port %s", in.Pod, pe["POSTGRES_PORT"])
			}
			break
		}
	}

	// The secondary's API is attached to its own backend, and the global
	// frontend serves the primary: an event posted there gets a 202.
	lbSec := p.HAProxy.ForRegion(demo.RegionSecondary)
	localtest.Eventually(t, 30*time.Second, "secondary backend has its API", func() error {
		sv, err := lbSec.Servers()
		if err != nil {
			return err
		}
		for _, s := range sv {
			if s.Name == secAPI[0].Pod {
				return nil
			}
		}
		return fmt.Errorf("%s not in %s: %+v", secAPI[0].Pod, lbSec.Backend, sv)
	})
	if got, err := p.HAProxy.Active(); err != nil || got != demo.RegionPrimary {
		t.Fatalf("global frontend active %q, %v; want primary", got, err)
	}
	localtest.Eventually(t, 30*time.Second, "202 through the global frontend", func() error {
		body := fmt.Sprintf(`[{"id":"two-regions-1","source":%q,"type":"page_view","created_at":%q,"payload":{}}]`,
			api.DemoSource, time.Now().UTC().Format(time.RFC3339Nano))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.HAProxy.FrontendAddr+"/v1/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", api.DemoAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST /v1/events: %s", resp.Status)
		}
		return nil
	})

	// The written context names each region's own cluster.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context(demo.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cc.Regions {
		k := p.KubeFor(r.Name)
		if r.Kube == nil || r.Kube.Kubeconfig != k.Kubeconfig || r.Kube.Context != k.Context {
			t.Errorf("region %s kube %+v, want %s context %s", r.Name, r.Kube, k.Kubeconfig, k.Context)
		}
		if r.HAProxy == nil || r.HAProxy.Backend != p.HAProxy.ForRegion(r.Name).Backend {
			t.Errorf("region %s haproxy %+v, want backend %s", r.Name, r.HAProxy, p.HAProxy.ForRegion(r.Name).Backend)
		}
	}
	if eps := d.Endpoints.Regions[demo.RegionSecondary]; eps.KubeContext != sec.Context {
		t.Errorf("endpoints secondary kube context %q, want %q", eps.KubeContext, sec.Context)
	}
}
