// Package deploy carries the platform's deployment files: Kubernetes manifests,
// nginx and HAProxy configs, docker-compose.yml and Dockerfiles, embedded so
// the demo and the console can apply them without a checkout.
package deploy

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// Files holds every deployment file, paths relative to this directory:
// k8s/base/*.yaml (and the kustomize overlays), grafana/, nginx/, haproxy/, clickhouse/, docker-compose.yml, Dockerfile.*.
//
//go:embed k8s/base/*.yaml k8s/overlays/*/kustomization.yaml k8s/components/*/*.yaml k8s/crds/*.yaml grafana/*.json nginx/*.conf haproxy/*.cfg clickhouse/*.sql clickhouse/*.xml docker-compose.yml Dockerfile.api Dockerfile.consumer
var Files embed.FS

// Namespace is where the manifests put the platform.
const Namespace = "wotr"

// Manifest is one Kubernetes object and the file it came from.
type Manifest struct {
	File   string
	Object *unstructured.Unstructured
}

// Name is "Kind/namespace/name" (namespace omitted when cluster-scoped).
func (m Manifest) Name() string {
	if ns := m.Object.GetNamespace(); ns != "" {
		return m.Object.GetKind() + "/" + ns + "/" + m.Object.GetName()
	}
	return m.Object.GetKind() + "/" + m.Object.GetName()
}

// KubeFiles lists the manifest files in apply order (their names sort so);
// the base's kustomization.yaml is not one.
func KubeFiles() []string {
	names, _ := fs.Glob(Files, "k8s/base/*.yaml")
	names = slices.DeleteFunc(names, func(n string) bool { return path.Base(n) == "kustomization.yaml" })
	sort.Strings(names)
	return names
}

// Manifests parses the given manifest files (all when none are named), in
// file order and document order.
func Manifests(files ...string) ([]Manifest, error) {
	if len(files) == 0 {
		files = KubeFiles()
	}
	var out []Manifest
	for _, f := range files {
		data, err := Files.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", f, err)
		}
		ms, err := parseManifests(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// parseManifests reads the YAML documents of data, which came from file f.
func parseManifests(f string, data []byte) ([]Manifest, error) {
	var out []Manifest
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 0; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("manifest %s document %d: %w", f, i, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		// UnmarshalJSON keeps integers as int64, as the API machinery expects.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("manifest %s document %d: %w", f, i, err)
		}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("manifest %s document %d: kind and metadata.name are required", f, i)
		}
		out = append(out, Manifest{File: f, Object: u})
	}
	return out, nil
}

// ApplyOptions controls Apply.
type ApplyOptions struct {
	// Files limits the manifest files (paths as in KubeFiles); empty means all.
	Files []string
	// Manifests, when set, are applied instead of Files (a kustomization's
	// output, say).
	Manifests []Manifest
	// DryRun asks the API server to validate and admit without persisting.
	DryRun bool
	// FieldManager names the server-side apply owner; default "wotr-tui".
	FieldManager string
}

// Applied is the outcome of one object.
type Applied struct {
	Manifest
	Err error
}

// Apply server-side-applies the manifests in order and reports each object;
// the error joins every failure.
func Apply(ctx context.Context, cfg *rest.Config, opts ApplyOptions) ([]Applied, error) {
	ms := opts.Manifests
	if ms == nil {
		var err error
		if ms, err = Manifests(opts.Files...); err != nil {
			return nil, err
		}
	}
	if opts.FieldManager == "" {
		opts.FieldManager = "wotr-tui"
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	force := true
	// Strict, as kubectl apply: a field the schema does not know is an error,
	// not a warning.
	po := metav1.PatchOptions{FieldManager: opts.FieldManager, Force: &force, FieldValidation: "Strict"}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	var out []Applied
	var errs []error
	for _, m := range ms {
		gvk := m.Object.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			err = fmt.Errorf("%s (%s): %w", m.Name(), m.File, err)
			out, errs = append(out, Applied{m, err}), append(errs, err)
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if ns := m.Object.GetNamespace(); ns != "" {
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		body, err := yaml.Marshal(m.Object.Object)
		if err == nil {
			_, err = ri.Patch(ctx, m.Object.GetName(), types.ApplyPatchType, body, po)
		}
		if err != nil {
			err = fmt.Errorf("%s (%s): %w", m.Name(), m.File, err)
			errs = append(errs, err)
		}
		out = append(out, Applied{m, err})
	}
	return out, errors.Join(errs...)
}
