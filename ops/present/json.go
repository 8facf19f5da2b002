package present

import (
	"fmt"
	"sort"
	"time"

	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/state"
)

// APIVersion of the JSON documents; bumped only on incompatible changes.
const APIVersion = "wotr.io/v1"

// Document is what `-o json|yaml` prints (see JSON.md).
type Document struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Context    string       `json:"context"`
	TakenAt    time.Time    `json:"takenAt"`
	Sources    []state.Meta `json:"sources"`
	Data       any          `json:"data"`
	// History with --since: the series the console draws for the kind.
	History *History `json:"history,omitempty"`
}

// History of a document: series name (see state.Series*) to points, oldest first.
type History struct {
	Window string                   `json:"window"`
	Source string                   `json:"source"` // "prometheus", or "polls" (this run's own)
	Series map[string][]state.Point `json:"series"`
}

// Kinds accepted by get, and status.
var Kinds = []string{"instances", "lag", "replication", "pools", "nodes", "regions", "backups"}

// NewDocument selects kind's part of the snapshot; "status" is the whole one.
func NewDocument(kind string, s state.Snapshot) (Document, error) {
	d := Document{APIVersion: APIVersion, Kind: kind, Context: s.Context, TakenAt: s.TakenAt, Sources: s.Sources}
	switch kind {
	case "status":
		d.Data = s
	case "instances":
		d.Data = struct {
			Instances   []state.Instance   `json:"instances"`
			Deployments []state.Deployment `json:"deployments"`
		}{nonNil(s.Instances), nonNil(s.Deployments)}
	case "lag":
		d.Data = s.Kafka
	case "replication":
		d.Data = s.Replication
	case "pools":
		d.Data = s.Pools
	case "nodes":
		d.Data = nonNil(s.Nodes)
	case "regions":
		d.Data = nonNil(s.Regions)
	case "backups":
		d.Data = nonNil(s.Backups)
	default:
		k := append([]string(nil), Kinds...)
		sort.Strings(k)
		return d, fmt.Errorf("unknown kind %q: must be one of %v", kind, k)
	}
	if d.Sources == nil {
		d.Sources = []state.Meta{}
	}
	return d, nil
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// Tables renders kind for -o table (wide=false) or -o wide.
func Tables(kind string, s state.Snapshot, wide bool, th health.Thresholds) ([]Table, error) {
	switch kind {
	case "status":
		ts := []Table{Overview(s, th)}
		if wide {
			ts = append(ts, Sources(s), Thresholds(th))
		}
		return ts, nil
	case "instances":
		return []Table{Instances(s, wide), Deployments(s, wide)}, nil
	case "lag":
		return []Table{Lag(s, wide), Topics(s)}, nil
	case "replication":
		return []Table{Replication(s, wide)}, nil
	case "pools":
		return []Table{Pools(s, wide)}, nil
	case "nodes":
		return []Table{Nodes(s, wide)}, nil
	case "regions":
		return []Table{Regions(s, wide)}, nil
	case "backups":
		return []Table{Backups(s, wide)}, nil
	}
	_, err := NewDocument(kind, s)
	return nil, err
}
