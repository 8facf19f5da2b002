package localtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// The skip message names what installs each missing binary: the Debian
// package and make deps, or make controlplane for the control plane, in the
// BinDir the options name.
func TestUnavailableNamesTheFix(t *testing.T) {
	binDir := filepath.Join(t.TempDir(), "bin")
	t.Setenv("PATH", t.TempDir()) // redis-server lives in /usr/bin, off this PATH
	err := localtest.Unavailable(local.Options{Only: []string{local.Redis, local.Kube}, Kube: local.KubeOptions{BinDir: binDir}})
	if err == nil {
		t.Fatal("nothing missing with an empty PATH and an empty control plane dir")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		"redis: redis-server (Debian package redis-server: make deps, or apt-get install redis-server)",
		"kube: " + filepath.Join(binDir, "etcd"),
		"kube: " + filepath.Join(filepath.Dir(binDir), "stages", "pod-ready.yaml"),
		"(make controlplane)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "make controlplane") != 1 {
		t.Errorf("the control plane's binaries should share one fix:\n%s", msg)
	}
}

func TestUnavailableNilWhenComplete(t *testing.T) {
	if err := localtest.Unavailable(local.Options{Only: []string{local.Kafka}}); err != nil {
		t.Errorf("kafka runs in process, needs nothing: %v", err)
	}
}

// Missing looks in KubeOptions.BinDir: a complete build there counts even
// when the default dir is empty, and an empty BinDir is missing even when
// the default dir is complete.
func TestMissingLooksInKubeBinDir(t *testing.T) {
	root := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "empty-cache"))
	complete := filepath.Join(root, "cp", "bin")
	for _, f := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		writeFile(t, filepath.Join(complete, f))
	}
	for _, f := range []string{"node-initialize.yaml", "node-heartbeat.yaml", "pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"} {
		writeFile(t, filepath.Join(root, "cp", "stages", f))
	}
	if m := local.Missing(local.Options{Only: []string{local.Kube}, Kube: local.KubeOptions{BinDir: complete}}); len(m) != 0 {
		t.Errorf("complete BinDir %s reported missing: %v", complete, m)
	}
	m := local.Missing(local.Options{Only: []string{local.Kube}})
	if len(m) != 10 {
		t.Fatalf("default dir under an empty XDG_CACHE_HOME: %d missing, want 5 binaries and 5 stages: %v", len(m), m)
	}
	for _, d := range m {
		if !strings.HasPrefix(d.Binary, filepath.Join(root, "empty-cache")) || d.Target != "controlplane" || d.Package != "" {
			t.Errorf("%+v: want a path under XDG_CACHE_HOME fixed by make controlplane", d)
		}
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o755); err != nil {
		t.Fatal(err)
	}
}
