package version_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make install from a GOPATH with an empty module cache: every module comes
// through the machine's GOPROXY (as `go install ...@latest` would fetch
// them), the three binaries land in PREFIX/bin stamped with the checkout's
// commit, and the man pages in PREFIX/share/man/man1.
func TestMakeInstallFromACleanModuleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads every module and builds three binaries")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make not installed")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	commit, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "prefix")
	gopath := filepath.Join(tmp, "gopath")
	cmd := exec.Command(makeBin, "-C", root, "install", "PREFIX="+prefix)
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE=", "GOFLAGS=-mod=mod", "GOBIN=")
	out, err := cmd.CombinedOutput()
	// The module cache is read-only; let t.TempDir remove it.
	defer exec.Command("chmod", "-R", "u+w", gopath).Run()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(gopath, "pkg", "mod", "k8s.io")); err != nil {
		t.Errorf("modules did not come into the clean cache: %v", err)
	}
	for _, bin := range []string{"wotr-tui", "wotr-api", "wotr-consumer"} {
		v, err := exec.Command(filepath.Join(prefix, "bin", bin), "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", bin, err, v)
		}
		want := bin + " "
		if s := string(v); !strings.HasPrefix(s, want) || !strings.Contains(s, "commit "+strings.TrimSpace(string(commit))) ||
			strings.Contains(s, "unknown") {
			t.Errorf("%s --version = %q, want the stamped version, commit %s and date", bin, s, strings.TrimSpace(string(commit)))
		}
	}
	if _, err := os.Stat(filepath.Join(prefix, "share", "man", "man1", "wotr-tui-scale.1")); err != nil {
		t.Errorf("man pages: %v", err)
	}
}
