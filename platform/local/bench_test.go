package local_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// coldStart is the first whole-platform start of this test binary: binaries
// and libraries not yet mapped by it, the JVM's class data not yet read.
var coldStart time.Duration

// benchLayout is the demo's two-region layout: a control plane per region
// and a HAProxy backend per region behind the global frontend.
var benchLayout = local.Options{
	Kube:    local.KubeOptions{PerRegion: true},
	HAProxy: local.HAProxyOptions{Regions: []string{"primary", "secondary"}},
}

// BenchmarkStartAll starts and stops the whole platform (all seven
// components, in the demo's per-region layout) b.N times. Metrics: start-s
// and stop-s per op, warm-start-s (the starts after the first), each
// component's own start (<component>-s, they start in parallel), each
// region's control plane (kube-<region>-s, booted side by side, with its
// steps in the log), and cold-start-s, the first start in this process. Run
// it with -benchtime 3x (make bench does) to get warm restarts after the
// cold one.
func BenchmarkStartAll(b *testing.B) {
	if err := localtest.Unavailable(local.Options{}); err != nil {
		if localtest.Required() {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	var start, stop, warm time.Duration
	warmRuns := 0
	perComponent := map[string]time.Duration{}
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		t0 := time.Now()
		p, err := local.Start(ctx, benchLayout)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		if coldStart == 0 {
			coldStart = took
		} else {
			warm += took
			warmRuns++
		}
		start += took
		for c, d := range p.StartTimes {
			perComponent[c] += d
		}
		if len(p.Kubes) != 2 {
			b.Fatalf("%d control planes, want one per region", len(p.Kubes))
		}
		for _, k := range p.Kubes {
			var steps []string
			for _, ph := range k.BootPhases {
				steps = append(steps, fmt.Sprintf("%s@%.2fs", ph.Name, ph.At.Seconds()))
			}
			if n := len(k.BootPhases); n > 0 {
				perComponent["kube-"+k.Region] += k.BootPhases[n-1].At
			}
			b.Logf("start %d: control plane %s: %s", i+1, k.Region, strings.Join(steps, " "))
		}
		if n := len(p.PortRetries); n > 0 {
			b.Logf("port clashes retried: %v", p.PortRetries)
		}
		t1 := time.Now()
		if err := p.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t1)
		b.Logf("start %d: %.2fs (%s), stop %.2fs", i+1, took.Seconds(),
			strings.Join(strings.Fields(p.StartReport()), " "), time.Since(t1).Seconds())
	}
	n := float64(b.N)
	b.ReportMetric(start.Seconds()/n, "start-s")
	b.ReportMetric(stop.Seconds()/n, "stop-s")
	b.ReportMetric(coldStart.Seconds(), "cold-start-s")
	if warmRuns > 0 {
		b.ReportMetric(warm.Seconds()/float64(warmRuns), "warm-start-s")
	}
	names := make([]string, 0, len(perComponent))
	for c := range perComponent {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		b.ReportMetric(perComponent[c].Seconds()/n, c+"-s")
	}
}
