package version_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make install PREFIX=dir: the three binaries land in PREFIX/bin stamped
// with the checkout's commit and the build date, the man pages in
// PREFIX/share/man/man1.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make not installed")
	}
	root := repoRoot(t)
	commit, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	prefix := filepath.Join(t.TempDir(), "prefix")
	out, err := exec.Command(makeBin, "-C", root, "install", "PREFIX="+prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, bin := range []string{"wotr-tui", "wotr-api", "wotr-consumer"} {
		v, err := exec.Command(filepath.Join(prefix, "bin", bin), "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", bin, err, v)
		}
		if s := string(v); !strings.HasPrefix(s, bin+" ") || !strings.Contains(s, "commit "+strings.TrimSpace(string(commit))) ||
			strings.Contains(s, "unknown") {
			t.Errorf("%s --version = %q, want the stamped version, commit %s and date", bin, s, strings.TrimSpace(string(commit)))
		}
	}
	if _, err := os.Stat(filepath.Join(prefix, "share", "man", "man1", "wotr-tui-scale.1")); err != nil {
		t.Errorf("man pages: %v", err)
	}
}

// What `go install github.com/wotr/wotr-tui/cmd/wotr-tui@latest` needs
// besides this module: every module wotr-tui imports resolves through the
// machine's GOPROXY into an empty module cache (GOFLAGS=-mod=mod, a fresh
// GOPATH). It lists the packages rather than compiling them: a compile from
// a fresh cache takes longer than a test may on this machine.
func TestModulesResolveFromACleanCache(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads every module")
	}
	root := repoRoot(t)
	gopath := filepath.Join(t.TempDir(), "gopath")
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}@{{.Version}}{{end}}", "./cmd/wotr-tui")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE=", "GOFLAGS=-mod=mod", "GOBIN=")
	out, err := cmd.Output()
	// The module cache is read-only; let t.TempDir remove it.
	defer exec.Command("chmod", "-R", "u+w", gopath).Run()
	if err != nil {
		t.Fatalf("go list from a clean module cache: %v\n%s", err, out)
	}
	mods := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		mods[l] = true
	}
	for _, want := range []string{"k8s.io/client-go@", "github.com/charmbracelet/bubbletea@", "github.com/spf13/cobra@"} {
		found := false
		for m := range mods {
			if strings.HasPrefix(m, want) {
				found = true
				if _, err := os.Stat(filepath.Join(gopath, "pkg", "mod", "cache", "download")); err != nil {
					t.Errorf("%s resolved but the clean cache is empty: %v", m, err)
				}
			}
		}
		if !found {
			t.Errorf("wotr-tui does not list module %s", want)
		}
	}
	t.Logf("%d modules from a clean cache", len(mods))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
