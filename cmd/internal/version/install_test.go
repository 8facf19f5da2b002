package version_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
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

// `go install github.com/wotr/wotr-tui/cmd/wotr-tui@latest` for real, into
// an empty module cache and a fresh GOBIN. This module is not fetched from
// GitHub (it is not published there from this machine): it is served by a
// file:// module proxy holding the zip that golang.org/x/mod/zip makes of
// the committed HEAD (git archive), as proxy.golang.org makes one of a commit, under its
// pseudo-version; every other module comes through the machine's GOPROXY
// after it. What it proves: the committed tree is a valid module zip (no
// nested module, replace or vendor trouble), @latest resolves to it, every
// dependency resolves and verifies against the checksum database, and the
// installed binary runs and names that version and commit. What it does not:
// that github.com/wotr/wotr-tui is published. Uncommitted changes are not in
// it. The build cache is the machine's, but packages built from a fresh
// module cache directory compile again: 6m22s on this machine (2 cores),
// so it is not in make test; `make install-test` runs it
// (WOTR_TEST_GO_INSTALL=1).
func TestGoInstallLatestFromACleanModuleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads every module and builds wotr-tui")
	}
	if os.Getenv("WOTR_TEST_GO_INSTALL") != "1" {
		t.Skip("set WOTR_TEST_GO_INSTALL=1 (make install-test): a real go install from a clean module cache took 6m22s here")
	}
	root := repoRoot(t)
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			t.Skipf("git %v: %v (not a git checkout)", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	head := git("rev-parse", "HEAD")
	ct, err := strconv.ParseInt(git("show", "-s", "--format=%ct", "HEAD"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(ct, 0).UTC()
	mv := module.Version{Path: "github.com/wotr/wotr-tui", Version: module.PseudoVersion("v0", "", at, head[:12])}

	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	vdir := filepath.Join(proxy, filepath.FromSlash(mv.Path), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(vdir, mv.Version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	// The committed tree (git archive: a worktree's .git is a file, which
	// CreateFromVCS does not recognise), zipped by the module zip rules.
	export := filepath.Join(tmp, "export")
	if err := os.MkdirAll(export, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", root, head, export).CombinedOutput(); err != nil {
		t.Fatalf("git archive HEAD: %v\n%s", err, out)
	}
	if err := modzip.CreateFromDir(zf, mv, export); err != nil {
		t.Fatalf("module zip of HEAD: %v", err)
	}
	if err := zf.Close(); err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]any{"Version": mv.Version, "Time": at})
	for name, data := range map[string][]byte{
		filepath.Join(vdir, mv.Version+".mod"):  []byte(git("show", "HEAD:go.mod") + "\n"),
		filepath.Join(vdir, mv.Version+".info"): info,
		filepath.Join(vdir, "list"):             nil, // pseudo-versions are not listed
		filepath.Join(vdir, "..", "@latest"):    info,
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	gopath, gobin := filepath.Join(tmp, "gopath"), filepath.Join(tmp, "bin")
	// The module cache is read-only; let t.TempDir remove it.
	defer exec.Command("chmod", "-R", "u+w", gopath).Run()
	t0 := time.Now()
	cmd := exec.Command("go", "install", "github.com/wotr/wotr-tui/cmd/wotr-tui@latest")
	cmd.Dir = tmp // outside any module, as a user runs it
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE="+filepath.Join(gopath, "pkg", "mod"), "GOBIN="+gobin,
		"GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"), "GOTOOLCHAIN=local", "GOPROXY=file://"+filepath.ToSlash(proxy)+","+strings.TrimSpace(string(upstream)),
		"GONOSUMDB="+mv.Path, "GOPRIVATE=", "GONOPROXY=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install @latest from a clean module cache: %v\n%s", err, out)
	}
	took := time.Since(t0)
	if _, err := os.Stat(filepath.Join(gopath, "pkg", "mod", "k8s.io", "client-go@"+clientGoVersion(t))); err != nil {
		t.Errorf("client-go is not in the fresh module cache: %v", err)
	}
	out, err := exec.Command(filepath.Join(gobin, "wotr-tui"), "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("installed wotr-tui version: %v", err)
	}
	var v struct{ Module, Version, Commit string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v.Module != mv.Path || v.Version != mv.Version || !strings.HasPrefix(head, v.Commit) {
		t.Errorf("installed binary says %+v, want %s %s commit %s", v, mv.Path, mv.Version, head[:12])
	}
	t.Logf("go install %s@latest (%s) into a clean module cache in %s", mv.Path+"/cmd/wotr-tui", mv.Version, took.Round(time.Second))
}

func clientGoVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/client-go").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
