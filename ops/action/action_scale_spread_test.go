package action

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/collect"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

func rpsSamples(kv ...any) []state.Sample {
	var out []state.Sample
	for i := 0; i < len(kv); i += 2 {
		out = append(out, state.Sample{Labels: map[string]string{"pod": kv[i].(string)}, Value: kv[i+1].(float64)})
	}
	return out
}

func TestLoadSpreadJudgesShares(t *testing.T) {
	cases := []struct {
		name    string
		samples []state.Sample
		want    int32
		ok      bool
		mention string
	}{
		{"even", rpsSamples("wotr-api-a", 100.0, "wotr-api-b", 90.0, "wotr-api-c", 110.0, "wotr-consumer-x", 500.0), 3, true, "3 instances within 50%"},
		{"new pod idle", rpsSamples("wotr-api-a", 100.0, "wotr-api-b", 100.0, "wotr-api-c", 0.0), 3, false, "2 of 3 instances take traffic"},
		{"skewed", rpsSamples("wotr-api-a", 500.0, "wotr-api-b", 50.0, "wotr-api-c", 50.0), 3, false, "uneven: wotr-api-a takes 83%"},
		{"no traffic", rpsSamples("wotr-api-a", 0.0), 1, false, "no requests measured"},
		{"pods not reported yet", rpsSamples("wotr-api-a", 10.0), 2, false, "1 of 2 instances"},
	}
	for _, c := range cases {
		ok, detail := loadSpread(c.samples, "wotr-api", c.want)
		if ok != c.ok || !strings.Contains(detail, c.mention) {
			t.Errorf("%s: ok=%v %q, want ok=%v mentioning %q", c.name, ok, detail, c.ok, c.mention)
		}
	}
}

type fakeRates struct {
	calls atomic.Int32
	// evenAfter is the call from which the new instance takes its share.
	evenAfter int32
}

func (f *fakeRates) QueryVector(_ context.Context, q string) ([]state.Sample, error) {
	if q != collect.LoadQueries["rps"] {
		return nil, nil
	}
	if f.calls.Add(1) < f.evenAfter {
		return rpsSamples("wotr-api-a", 100.0, "wotr-api-b", 100.0, "wotr-api-c", 0.0), nil
	}
	return rpsSamples("wotr-api-a", 100.0, "wotr-api-b", 100.0, "wotr-api-c", 95.0), nil
}

func spreadActions(rates *fakeRates, withProm bool) *Service {
	region := config.RegionConfig{Name: "primary", Role: "primary"}
	if withProm {
		region.Prometheus = &config.PromEndpoint{URL: "http://prom.invalid"}
	}
	a := NewService(config.ContextConfig{Name: "t", Regions: []config.RegionConfig{region}},
		BackendsFunc(func(state.System, config.RegionConfig) (any, error) { return rates, nil }))
	a.Options.VerifyTimeout = 2 * time.Second
	a.Options.PollInterval = time.Millisecond
	return a
}

func TestVerifyLoadSpreadWaitsForTheNewInstance(t *testing.T) {
	rates := &fakeRates{evenAfter: 3}
	c := verifyLoadSpread(context.Background(), spreadActions(rates, true), "wotr-api", 3)
	if c.Status != CheckPass || rates.calls.Load() < 3 {
		t.Fatalf("check %+v after %d polls, want pass once the third instance takes traffic", c, rates.calls.Load())
	}

	never := &fakeRates{evenAfter: 1 << 30}
	c = verifyLoadSpread(context.Background(), spreadActions(never, true), "wotr-api", 3)
	if c.Status != CheckWarn || !strings.Contains(c.Detail, "2 of 3 instances take traffic") {
		t.Fatalf("idle instance: %+v, want a warning naming it", c)
	}

	c = verifyLoadSpread(context.Background(), spreadActions(rates, false), "wotr-api", 3)
	if c.Status != CheckWarn || !strings.Contains(c.Detail, "not checked") {
		t.Fatalf("no Prometheus: %+v, want not checked", c)
	}
}
