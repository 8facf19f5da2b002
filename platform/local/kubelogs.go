package local

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
)

// The pod log endpoint of a kwok node serves the file that a kwok Logs object
// names for the pod. The demo's supervisor creates one per pod (its process's
// log); the definition is installed before kwok starts watching them.
const (
	KwokLogsGroup   = "kwok.x-k8s.io"
	KwokLogsVersion = "v1alpha1"
	KwokLogsKind    = "Logs"
)

// kwokLogsCRD is the Logs resource kwok watches with --enable-crds=Logs; the
// schema keeps every field, kwok's own client checks the shape.
func kwokLogsCRD() map[string]any {
	return map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "logs." + KwokLogsGroup},
		"spec": map[string]any{
			"group": KwokLogsGroup,
			"names": map[string]any{"kind": KwokLogsKind, "listKind": "LogsList", "plural": "logs", "singular": "logs"},
			"scope": "Namespaced",
			"versions": []any{map[string]any{
				"name": KwokLogsVersion, "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}
}

// installKwokLogsCRD creates the Logs definition and waits until the
// resource is served.
func installKwokLogsCRD(ctx context.Context, cs kubernetes.Interface) error {
	body, err := json.Marshal(kwokLogsCRD())
	if err != nil {
		return err
	}
	rc := cs.Discovery().RESTClient()
	err = rc.Post().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create the kwok Logs definition: %w", err)
	}
	return nil
}

// kwokLogsServed succeeds once the Logs resource can be listed.
func kwokLogsServed(cs kubernetes.Interface) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return cs.Discovery().RESTClient().Get().AbsPath("/apis/" + KwokLogsGroup + "/" + KwokLogsVersion + "/logs").Do(ctx).Error()
	}
}

// PodLogs is the kwok Logs object that makes the pod log endpoint serve
// file (and previous, the log of the container before its last restart) for
// every container of a pod; it is owned by the pod, so it goes with it.
func PodLogs(namespace, pod, podUID, file, previous string) map[string]any {
	return map[string]any{
		"apiVersion": KwokLogsGroup + "/" + KwokLogsVersion,
		"kind":       KwokLogsKind,
		"metadata": map[string]any{
			"name": pod, "namespace": namespace,
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": pod, "uid": podUID}},
		},
		"spec": map[string]any{"logs": []any{map[string]any{
			"logsFile": file, "previousLogsFile": previous, "follow": true,
		}}},
	}
}

// CreatePodLogs creates (or replaces) the Logs object of a pod.
func CreatePodLogs(ctx context.Context, cs kubernetes.Interface, obj map[string]any) error {
	meta := obj["metadata"].(map[string]any)
	ns, name := meta["namespace"].(string), meta["name"].(string)
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	rc := cs.Discovery().RESTClient()
	base := fmt.Sprintf("/apis/%s/%s/namespaces/%s/logs", KwokLogsGroup, KwokLogsVersion, ns)
	err = rc.Post().AbsPath(base).SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	if apierrors.IsAlreadyExists(err) {
		// A pod of the same name from before (a StatefulSet's, a recreated one).
		if err = rc.Delete().AbsPath(base, name).Do(ctx).Error(); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		err = rc.Post().AbsPath(base).SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	}
	if err != nil {
		return fmt.Errorf("create kwok Logs %s/%s: %w", ns, name, err)
	}
	return nil
}
