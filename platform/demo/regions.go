package demo

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/wotr/wotr-tui/platform/local"
)

// StandbyReplicasAnnotation on a Deployment is its size in the secondary
// region while that region is standby.
const StandbyReplicasAnnotation = "wotr.io/standby-replicas"

// Regions in the order the demo starts them.
var Regions = []string{RegionPrimary, RegionSecondary}

// StandbyOverrides sizes the platform objects for the standby region: each
// Deployment at its standby size, and the API's HPA floor at the API's
// standby size, so the autoscaler does not undo it. A standby size that is
// not a count is an error naming the Deployment.
func StandbyOverrides(in Objects) (Objects, error) {
	standby := map[string]int32{}
	for _, o := range in {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		v, ok := d.Annotations[StandbyReplicasAnnotation]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("deployment %s: %s %q: must be a count of replicas (0 or more)", d.Name, StandbyReplicasAnnotation, v)
		}
		d.Spec.Replicas = ptr(int32(n))
		standby[d.Name] = int32(n)
	}
	for _, o := range in {
		h, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			continue
		}
		// The autoscaler leaves a Deployment at 0 alone; its floor must be 1.
		if n, ok := standby[h.Spec.ScaleTargetRef.Name]; ok {
			h.Spec.MinReplicas = ptr(max(n, 1))
		}
	}
	return in, nil
}

// regional reports whether each region runs in its own control plane.
func regional(p *local.Platform) bool { return len(p.Kubes) > 1 }

// regionServices maps the cluster service names of one region's pods to
// that region's stores: the secondary's API and consumers write to the
// standby PostgreSQL and the Redis replica (read-only until a promote), so
// a promote needs no repointing there.
func regionServices(p *local.Platform, region string) ServiceMap {
	m := servicesOf(p)
	if region == RegionSecondary {
		m[SvcPostgres], m[SvcRedis] = m[SvcPostgresStandby], m[SvcRedisReplica]
	}
	return m
}

// regionLogDir keeps each region's pod logs apart.
func regionLogDir(logDir, region string) string {
	if region == RegionPrimary {
		return logDir
	}
	return filepath.Join(logDir, region)
}

// setRegionInstances records one region's ready instances and resyncs the
// load balancer and Prometheus from every region's.
func (d *Demo) setRegionInstances(region string, in []Instance) {
	d.instMu.Lock()
	defer d.instMu.Unlock()
	if d.instances == nil {
		d.instances = map[string][]Instance{}
	}
	d.instances[region] = in
	d.syncTargets(d.instances)
}

// sortedRegions are the keys of m, primary first.
func sortedRegions[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == RegionPrimary) != (out[j] == RegionPrimary) {
			return out[i] == RegionPrimary
		}
		return out[i] < out[j]
	})
	return out
}

// deepCopyObjects copies objects so one region's overrides leave the
// other's untouched.
func deepCopyObjects(in Objects) Objects {
	out := make(Objects, len(in))
	for i, o := range in {
		out[i] = o.DeepCopyObject()
	}
	return out
}

// allInstances lists every region's supervised processes, primary first.
func (d *Demo) allInstances() []Instance {
	var out []Instance
	for _, r := range sortedRegions(d.Supervisors) {
		out = append(out, d.Supervisors[r].Instances()...)
	}
	return out
}
