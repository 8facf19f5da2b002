package present

import (
	"fmt"
	"strings"

	"github.com/wotr/wotr-tui/ops/state"
)

// RegionWorkload is what runs in one region: its instances (ready of all)
// and its Deployments as "name ready/desired", so both regions read side by
// side when each has a cluster of its own.
type RegionWorkload struct {
	Ready, Pods int
	Deployments string
}

// WorkloadOf sums the instances and Deployments read from region's sources.
func WorkloadOf(s state.Snapshot, region string) RegionWorkload {
	var w RegionWorkload
	for _, in := range s.Instances {
		if in.Region != region {
			continue
		}
		w.Pods++
		if in.Ready {
			w.Ready++
		}
	}
	var deps []string
	for _, d := range s.Deployments {
		if d.Region == region {
			deps = append(deps, fmt.Sprintf("%s %d/%d", d.Name, d.Ready, d.Desired))
		}
	}
	w.Deployments = strings.Join(deps, ", ")
	return w
}

// PodsCell is "ready/all", or "-" for a region whose cluster is not read.
func (w RegionWorkload) PodsCell() string {
	if w.Pods == 0 && w.Deployments == "" {
		return "-"
	}
	return fmt.Sprintf("%d/%d", w.Ready, w.Pods)
}

// multiRegion reports whether Deployments come from more than one region.
func multiRegion(ds []state.Deployment) bool {
	for _, d := range ds {
		if d.Region != ds[0].Region {
			return true
		}
	}
	return false
}
