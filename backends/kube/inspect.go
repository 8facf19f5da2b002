package kube

import (
	"context"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/wotr/wotr-tui/ops/inspect"
)

var (
	_ inspect.LogReader   = (*Client)(nil)
	_ inspect.EventLister = (*Client)(nil)
)

// PodLogs streams a pod's container log through the apiserver's pod log
// endpoint. A followed stream is not bounded by the client's request
// timeout, only by ctx.
func (c *Client) PodLogs(ctx context.Context, pod string, o inspect.LogOptions) (io.ReadCloser, error) {
	opts := &corev1.PodLogOptions{Container: o.Container, Previous: o.Previous, Timestamps: o.Timestamps, Follow: o.Follow}
	if o.TailLines > 0 {
		opts.TailLines = &o.TailLines
	}
	cs := c.Clientset
	if o.Follow {
		streaming, err := c.streamingClientset()
		if err != nil {
			return nil, err
		}
		cs = streaming
	}
	rc, err := cs.CoreV1().Pods(c.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube: logs of pod %s/%s: %w", c.Namespace, pod, err)
	}
	return rc, nil
}

// streamingClientset has no request timeout: a followed log lives as long
// as its viewer.
func (c *Client) streamingClientset() (kubernetes.Interface, error) {
	if c.RestConfig == nil {
		return c.Clientset, nil
	}
	cfg := rest.CopyConfig(c.RestConfig)
	cfg.Timeout = 0
	return kubernetes.NewForConfig(cfg)
}

// Events lists the namespace's events about kind/name (involvedObject), or
// all of the namespace's when both are empty.
func (c *Client) Events(ctx context.Context, kind, name string) ([]inspect.Event, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	sel := fields.Set{}
	if kind != "" {
		sel["involvedObject.kind"] = kind
	}
	if name != "" {
		sel["involvedObject.name"] = name
	}
	list, err := c.Clientset.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return nil, fmt.Errorf("kube: events in %s: %w", c.Namespace, err)
	}
	out := make([]inspect.Event, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, eventOf(&e))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	return out, nil
}

func eventOf(e *corev1.Event) inspect.Event {
	ev := inspect.Event{Type: e.Type, Reason: e.Reason, Kind: e.InvolvedObject.Kind, Name: e.InvolvedObject.Name,
		Message: e.Message, Count: e.Count, First: e.FirstTimestamp.Time, Last: e.LastTimestamp.Time,
		Source: e.Source.Component}
	if ev.Source == "" {
		ev.Source = e.ReportingController
	}
	// Events written through events.k8s.io carry eventTime and a series, not the timestamps.
	if ev.Last.IsZero() {
		ev.Last = e.EventTime.Time
		if e.Series != nil {
			ev.Last = e.Series.LastObservedTime.Time
			ev.Count = e.Series.Count
		}
	}
	if ev.First.IsZero() {
		ev.First = ev.Last
	}
	if ev.Count == 0 {
		ev.Count = 1
	}
	return ev
}
