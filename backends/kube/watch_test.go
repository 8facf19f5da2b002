package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// requestCounter counts the requests a client sends, by verb and resource
// (LIST is a GET without watch=true).
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			verb := r.Method
			if verb == http.MethodGet {
				verb = "LIST"
				if r.URL.Query().Get("watch") == "true" {
					verb = "WATCH"
				}
			}
			parts := strings.Split(r.URL.Path, "/")
			c.mu.Lock()
			c.n[verb+" "+parts[len(parts)-1]]++
			c.mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
}

func (c *requestCounter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func deploymentNamed(ns, name string) *appsv1.Deployment {
	zero := int32(0)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}},
	}
}

// The informers list once and then only watch: many reads send no further
// LIST. Reset connections break the watches: the source reads stale through
// the collector with the error, keeps its last value, and once the faults
// clear it re-lists and shows what changed meanwhile.
func TestInformersListOnceAndGoStaleWhenTheWatchBreaks(t *testing.T) {
	p := localtest.Platform(t, local.Kube)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin := p.Kube.Clientset
	ns := tempNamespace(ctx, t, admin, "watch")
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, deploymentNamed(ns, "before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	server, err := url.Parse(p.Kube.Server)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := local.NewProxy("apiserver", server.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	cfg := p.Kube.RestConfig()
	cfg.Host = "https://" + proxy.Addr()
	counter := &requestCounter{n: map[string]int{}}
	counter.wrap(cfg)
	c, err := NewFromRest(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	col := collect.New(collect.Options{Timeout: 2 * time.Second}, collect.RegionSources{Region: "primary", Role: "primary", Deployments: c, Nodes: c, Instances: c})
	snap := col.CollectOnce(ctx)
	if len(snap.Deployments) != 1 || snap.Deployments[0].Name != "before" {
		t.Fatalf("first snapshot deployments %+v (sources %+v)", snap.Deployments, snap.Sources)
	}
	// One request per resource opens its cache: a LIST then a WATCH, or a
	// single WATCH that streams the initial list where the client and
	// server support it.
	opened := map[string]int{}
	for _, r := range []string{"pods", "nodes", "deployments", "horizontalpodautoscalers"} {
		opened[r] = counter.get("LIST "+r) + counter.get("WATCH "+r)
		if counter.get("LIST "+r) > 1 || opened[r] < 1 || opened[r] > 2 {
			t.Errorf("%s opened with %d LIST and %d WATCH, want one list and one watch at most", r, counter.get("LIST "+r), counter.get("WATCH "+r))
		}
	}
	for i := 0; i < 50; i++ {
		col.CollectOnce(ctx)
	}
	for r, n := range opened {
		if got := counter.get("LIST "+r) + counter.get("WATCH "+r); got != n {
			t.Errorf("50 more collections sent %d more requests for %s, want none", got-n, r)
		}
	}

	if err := proxy.Set(local.Fault{Mode: local.FaultReset}); err != nil {
		t.Fatal(err)
	}
	localtest.Eventually(t, 90*time.Second, "deployments source stale with the watch error", func() error {
		s := col.CollectOnce(ctx)
		for _, m := range s.Sources {
			if strings.HasPrefix(m.Source, "kube/deployments") && m.Stale && strings.Contains(m.Error, "deployments") {
				if len(s.Deployments) != 1 {
					return fmt.Errorf("stale source lost its last value: %+v", s.Deployments)
				}
				return nil
			}
		}
		return fmt.Errorf("sources %+v", s.Sources)
	})
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, deploymentNamed(ns, "during"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := proxy.Clear(); err != nil {
		t.Fatal(err)
	}
	// The reflector backs off up to 30 s between attempts.
	localtest.Eventually(t, 90*time.Second, "fresh again with the deployment made during the fault", func() error {
		s := col.CollectOnce(ctx)
		for _, m := range s.Sources {
			if m.Stale {
				return fmt.Errorf("%s still stale: %s", m.Source, m.Error)
			}
		}
		if len(s.Deployments) != 2 {
			return fmt.Errorf("deployments %+v", s.Deployments)
		}
		return nil
	})
}

// tempNamespace creates a namespace of its own for one test and deletes it
// when the test ends.
func tempNamespace(ctx context.Context, t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}
