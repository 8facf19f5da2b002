package inspect

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type regionReader struct {
	name   string
	events []Event
	err    error
	pods   []string
}

func (r *regionReader) PodLogs(_ context.Context, pod string, _ LogOptions) (io.ReadCloser, error) {
	r.pods = append(r.pods, pod)
	return io.NopCloser(strings.NewReader(r.name + ":" + pod)), nil
}

func (r *regionReader) Events(context.Context, string, string) ([]Event, error) {
	return r.events, r.err
}

func TestLogsPicksTheRegionAndRefusesBadInput(t *testing.T) {
	a, b := &regionReader{name: "a"}, &regionReader{name: "b"}
	s := NewService(Region{Name: "primary", Logs: a, Events: a}, Region{Name: "secondary", Logs: b, Events: b})
	ctx := context.Background()
	rc, err := s.Logs(ctx, "secondary", "p1", LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(rc); string(got) != "b:p1" || len(a.pods) != 0 {
		t.Fatalf("read %q from the wrong region", got)
	}
	if rc, err := s.Logs(ctx, "", "p2", LogOptions{}); err != nil {
		t.Fatal(err)
	} else if got, _ := io.ReadAll(rc); string(got) != "a:p2" {
		t.Fatalf("no region: read %q, want the first region's", got)
	}
	for _, c := range []struct {
		region, pod string
		o           LogOptions
		want        string
	}{
		{"", "", LogOptions{}, "a pod name is required"},
		{"", "p", LogOptions{TailLines: -1}, "tail -1: must be 0 (all) or more"},
		{"mars", "p", LogOptions{}, `region "mars" is not in the context (have primary, secondary)`},
	} {
		if _, err := s.Logs(ctx, c.region, c.pod, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Logs(%q, %q, %+v) = %v, want %q", c.region, c.pod, c.o, err, c.want)
		}
	}
	if _, err := NewService(Region{Name: "primary"}).Logs(ctx, "", "p", LogOptions{}); err == nil || !strings.Contains(err.Error(), "no cluster") {
		t.Errorf("region without a cluster: %v", err)
	}
}

// Events merges the regions newest first, labels each with its region, and
// keeps what one region read when another fails.
func TestEventsMergesRegions(t *testing.T) {
	now := time.Now()
	a := &regionReader{events: []Event{{Reason: "old", Last: now.Add(-time.Hour)}}}
	b := &regionReader{events: []Event{{Reason: "new", Last: now}}}
	broken := &regionReader{err: errors.New("forbidden")}
	s := NewService(Region{Name: "primary", Events: a}, Region{Name: "secondary", Events: b}, Region{Name: "dr", Events: broken})
	evs, err := s.Events(context.Background(), "", "", "")
	if err == nil || !strings.Contains(err.Error(), "dr: forbidden") {
		t.Errorf("err = %v, want the failing region named", err)
	}
	if len(evs) != 2 || evs[0].Reason != "new" || evs[0].Region != "secondary" || evs[1].Region != "primary" {
		t.Fatalf("events %+v", evs)
	}
	if _, err := s.Events(context.Background(), "mars", "", ""); err == nil || !strings.Contains(err.Error(), `"mars"`) {
		t.Errorf("unknown region: %v", err)
	}
}
