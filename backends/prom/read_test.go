package prom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestScrapeFlattensARealRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fastapi_requests_total"}, []string{"status"})
	dur := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fastapi_request_duration_seconds", Buckets: []float64{0.1, 0.5}})
	pool := prometheus.NewGauge(prometheus.GaugeOpts{Name: "postgres_pool_size"})
	reg.MustRegister(reqs, dur, pool)
	reqs.WithLabelValues("200").Add(7)
	reqs.WithLabelValues("500").Add(2)
	dur.Observe(0.05)
	dur.Observe(0.3)
	pool.Set(10)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	got, err := NewScraper(time.Second).Scrape(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string, kv ...string) (float64, bool) {
		for _, s := range got {
			if s.Labels["__name__"] != name {
				continue
			}
			ok := true
			for i := 0; i+1 < len(kv); i += 2 {
				ok = ok && s.Labels[kv[i]] == kv[i+1]
			}
			if ok {
				return s.Value, true
			}
		}
		return 0, false
	}
	checks := []struct {
		name string
		kv   []string
		want float64
	}{
		{"fastapi_requests_total", []string{"status", "500"}, 2},
		{"fastapi_request_duration_seconds_bucket", []string{"le", "0.1"}, 1},
		{"fastapi_request_duration_seconds_bucket", []string{"le", "+Inf"}, 2},
		{"fastapi_request_duration_seconds_count", nil, 2},
		{"postgres_pool_size", nil, 10},
	}
	for _, c := range checks {
		v, ok := find(c.name, c.kv...)
		if !ok || v != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.kv, v, ok, c.want)
		}
	}
}

func TestScrapeErrorNamesTheAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, err := NewScraper(time.Second).Scrape(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
}
