package inspect

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// LogOptions select what part of a pod's log to read.
type LogOptions struct {
	// Container of the pod; empty: the pod's only (or first) container.
	Container string
	// Previous reads the container's log from before its last restart.
	Previous bool
	// Timestamps prefixes every line with the time it was written.
	Timestamps bool
	// Follow keeps the stream open for new lines until ctx ends.
	Follow bool
	// TailLines is how many of the last lines to start from; 0: all.
	TailLines int64
}

// LogReader streams a pod's container log.
type LogReader interface {
	PodLogs(ctx context.Context, pod string, o LogOptions) (io.ReadCloser, error)
}

// Event is one Kubernetes event about an object.
type Event struct {
	Type    string    `json:"type"` // Normal or Warning
	Reason  string    `json:"reason"`
	Kind    string    `json:"kind"` // of the object it is about
	Name    string    `json:"name"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	First   time.Time `json:"firstSeen"`
	Last    time.Time `json:"lastSeen"`
	Source  string    `json:"source,omitempty"` // the component that reported it
	Region  string    `json:"region,omitempty"`
}

// EventLister lists events about one object (kind and name; both empty:
// every event of the namespace).
type EventLister interface {
	Events(ctx context.Context, kind, name string) ([]Event, error)
}

// Region is one region's readers; nil when the region has no cluster.
type Region struct {
	Name        string
	Logs        LogReader
	Events      EventLister
	Deployments DeploymentReader
}

// Service reads logs and events of a context's regions.
type Service struct {
	regions []Region
}

// NewService over the regions (the primary first).
func NewService(regions ...Region) *Service { return &Service{regions: regions} }

// Regions names the regions with a cluster.
func (s *Service) Regions() []string {
	var out []string
	for _, r := range s.regions {
		if r.Logs != nil || r.Events != nil || r.Deployments != nil {
			out = append(out, r.Name)
		}
	}
	return out
}

// region is the named region, or the first when name is empty.
func (s *Service) region(name string) (Region, error) {
	for _, r := range s.regions {
		if name == "" || r.Name == name {
			return r, nil
		}
	}
	if name == "" {
		return Region{}, fmt.Errorf("no region has a cluster configured")
	}
	return Region{}, fmt.Errorf("region %q is not in the context (have %s)", name, strings.Join(s.Regions(), ", "))
}

// Logs opens the log of pod in region (empty: the first region).
func (s *Service) Logs(ctx context.Context, region, pod string, o LogOptions) (io.ReadCloser, error) {
	if pod == "" {
		return nil, fmt.Errorf("logs: a pod name is required")
	}
	if o.TailLines < 0 {
		return nil, fmt.Errorf("logs: tail %d: must be 0 (all) or more", o.TailLines)
	}
	r, err := s.region(region)
	if err != nil {
		return nil, err
	}
	if r.Logs == nil {
		return nil, fmt.Errorf("logs: region %s has no cluster configured", r.Name)
	}
	return r.Logs.PodLogs(ctx, pod, o)
}

// Events lists the events about kind/name in region (empty region: every
// region's), newest first.
func (s *Service) Events(ctx context.Context, region, kind, name string) ([]Event, error) {
	var out []Event
	var errs []string
	for _, r := range s.regions {
		if (region != "" && r.Name != region) || r.Events == nil {
			continue
		}
		evs, err := r.Events.Events(ctx, kind, name)
		if err != nil {
			errs = append(errs, r.Name+": "+err.Error())
			continue
		}
		for i := range evs {
			evs[i].Region = r.Name
		}
		out = append(out, evs...)
	}
	if region != "" {
		if _, err := s.region(region); err != nil {
			return nil, err
		}
	}
	SortNewestFirst(out)
	if len(errs) > 0 {
		return out, fmt.Errorf("events: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// SortNewestFirst orders events by last seen, newest first.
func SortNewestFirst(evs []Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Last.After(evs[j].Last) })
}
