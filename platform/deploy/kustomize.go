package deploy

import (
	"fmt"
	"io/fs"
	"path"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomizations: the base (k8s/base) and its overlays, as `kubectl apply -k` takes them.
const (
	KustomizeBase                = "k8s/base"
	KustomizeLocal               = "k8s/overlays/local"
	KustomizeProduction          = "k8s/overlays/production"
	KustomizeProductionSecondary = "k8s/overlays/production-secondary"
)

// PrometheusRuleCRD is the optional minimal CRD of the monitoring
// component's kind, for apiservers without the Prometheus Operator (tests).
const PrometheusRuleCRD = "k8s/crds/prometheusrule-crd.yaml"

// Kustomizations lists every kustomization directory of Files.
func Kustomizations() []string {
	return []string{KustomizeBase, KustomizeLocal, KustomizeProduction, KustomizeProductionSecondary}
}

// Kustomize builds the kustomization in dir (a path in Files) in-process, as
// `kubectl kustomize` would, and parses the result like Manifests.
func Kustomize(dir string) ([]Manifest, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(Files, "k8s", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := Files.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", p), b)
	})
	if err != nil {
		return nil, err
	}
	if !mem.Exists(path.Join("/", dir, "kustomization.yaml")) {
		return nil, fmt.Errorf("kustomize %q: no kustomization.yaml there (known: %v)", dir, Kustomizations())
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, path.Join("/", dir))
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return parseManifests(dir, out)
}
