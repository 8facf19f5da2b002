package inspect

import (
	"context"
	"fmt"
	"time"
)

// Deployment is what the deployment drill-in shows: the rollout's replica
// counts and conditions, its HPA, its pods and the events about it.
type Deployment struct {
	Name      string `json:"name"`
	Region    string `json:"region,omitempty"`
	Replicas  int32  `json:"replicas"` // spec
	Current   int32  `json:"current"`
	Ready     int32  `json:"ready"`
	Updated   int32  `json:"updated"`
	Available int32  `json:"available"`
	// Generation the controller has acted on, against the spec's.
	Generation         int64        `json:"generation"`
	ObservedGeneration int64        `json:"observedGeneration"`
	Strategy           string       `json:"strategy"` // "RollingUpdate (surge 25%, unavailable 25%)"
	Selector           string       `json:"selector"`
	Revision           string       `json:"revision,omitempty"`
	HPA                *HPA         `json:"hpa,omitempty"`
	Conditions         []Condition  `json:"conditions"`
	ReplicaSets        []ReplicaSet `json:"replicaSets"`
	Pods               []Pod        `json:"pods"`
	// Events about the Deployment, and the warnings about its ReplicaSets
	// and pods, newest first.
	Events []Event `json:"events"`
}

// HPA of a Deployment: bounds, counts and each metric against its target.
type HPA struct {
	Name    string      `json:"name"`
	Min     int32       `json:"min"`
	Max     int32       `json:"max"`
	Current int32       `json:"current"`
	Desired int32       `json:"desired"`
	Metrics []HPAMetric `json:"metrics"`
}

// HPAMetric is one target of an HPA; Current is empty when unknown.
type HPAMetric struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	Current string `json:"current"`
}

// Condition of a rollout (Available, Progressing, ReplicaFailure).
type Condition struct {
	Type    string    `json:"type"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Updated time.Time `json:"lastUpdate"`
}

// ReplicaSet of a Deployment, with its revision.
type ReplicaSet struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
	Desired  int32  `json:"desired"`
	Ready    int32  `json:"ready"`
}

// Pod of a Deployment.
type Pod struct {
	Name       string    `json:"name"`
	Status     string    `json:"status"` // Running, Pending, CrashLoopBackOff, Terminating, ...
	Ready      bool      `json:"ready"`
	Containers string    `json:"containers"` // ready/total, "1/1"
	Node       string    `json:"node"`
	Restarts   int32     `json:"restarts"`
	Created    time.Time `json:"created"`
	ReplicaSet string    `json:"replicaSet"`
}

// DeploymentReader reads one Deployment of the namespace with its pods.
type DeploymentReader interface {
	Deployment(ctx context.Context, name string) (Deployment, error)
}

// Deployment reads the named Deployment of region (empty: the first).
func (s *Service) Deployment(ctx context.Context, region, name string) (Deployment, error) {
	if name == "" {
		return Deployment{}, fmt.Errorf("deployment: a name is required")
	}
	r, err := s.region(region)
	if err != nil {
		return Deployment{}, err
	}
	if r.Deployments == nil {
		return Deployment{}, fmt.Errorf("deployment: region %s has no cluster configured", r.Name)
	}
	d, err := r.Deployments.Deployment(ctx, name)
	if err != nil {
		return Deployment{}, err
	}
	d.Region = r.Name
	for i := range d.Events {
		d.Events[i].Region = r.Name
	}
	SortNewestFirst(d.Events)
	return d, nil
}
