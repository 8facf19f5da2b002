package prom

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

func TestMain(m *testing.M) {
	os.Exit(localtest.Main(m, local.Options{Only: []string{local.Prometheus}}))
}

// QueryVector over the real Prometheus: labels and values of a vector, a
// scalar as one sample, a bad query as an error naming the query.
func TestQueryVectorOnPrometheus(t *testing.T) {
	p := localtest.Platform(t, local.Prometheus)
	c, err := New(config.PromEndpoint{URL: p.Prometheus.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Prometheus scrapes itself; poll until the first scrape is stored.
	deadline := time.Now().Add(30 * time.Second)
	var got []state.Sample
	for {
		got, err = c.QueryVector(ctx, `up{job="prometheus"}`)
		if err == nil && len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("up never returned a sample: %v %v", got, err)
		}
		time.Sleep(200 * time.Millisecond) // poll interval
	}
	if got[0].Labels["__name__"] != "up" || got[0].Labels["job"] != "prometheus" || got[0].Value != 1 {
		t.Fatalf("up sample = %+v, want __name__=up job=prometheus value 1", got[0])
	}

	sc, err := c.QueryVector(ctx, `scalar(vector(0.25))`)
	if err != nil || len(sc) != 1 || sc[0].Value != 0.25 || len(sc[0].Labels) != 0 {
		t.Fatalf("scalar: %+v %v, want one unlabelled sample 0.25", sc, err)
	}

	// histogram_quantile over nothing yields no samples: no data, not NaN.
	none, err := c.QueryVector(ctx, `histogram_quantile(0.99, rate(no_such_metric_bucket[1m]))`)
	if err != nil || len(none) != 0 {
		t.Fatalf("empty quantile: %+v %v, want no samples", none, err)
	}

	_, err = c.QueryVector(ctx, `sum by (`)
	if err == nil || !strings.Contains(err.Error(), "sum by (") {
		t.Fatalf("bad query error = %v, want one naming the query", err)
	}
}

// A deadline shorter than the answer fails the query instead of blocking.
func TestQueryVectorHonoursTheDeadline(t *testing.T) {
	c, err := New(config.PromEndpoint{URL: "http://10.255.255.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.QueryVector(ctx, "up"); err == nil {
		t.Fatal("query against an unroutable address succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("query took %s, want it bounded by the 300ms deadline", took)
	}
}
