package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// MissingDep names a binary a component needs and how to get it.
type MissingDep struct {
	Component string
	Binary    string
	Fix       string // Debian package or make target
}

func (m MissingDep) String() string {
	return fmt.Sprintf("%s needs %s (%s)", m.Component, m.Binary, m.Fix)
}

// requiredBinaries per component: binary name or absolute path, and the fix.
var requiredBinaries = map[string][][2]string{}

// Missing lists binaries the requested components need but cannot find.
func Missing(opts Options) []MissingDep {
	var out []MissingDep
	for _, c := range AllComponents {
		if !opts.Enabled(c) {
			continue
		}
		for _, b := range requiredBinaries[c] {
			if _, err := findBinary(b[0]); err != nil {
				out = append(out, MissingDep{Component: c, Binary: b[0], Fix: b[1]})
			}
		}
	}
	return out
}

// findBinary resolves a binary by absolute path, $PATH, or the Debian
// locations that are not on root's PATH (PostgreSQL's versioned bin dir).
func findBinary(name string) (string, error) {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err != nil {
			return "", err
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin/" + name, "/usr/sbin/" + name, "/usr/share/zookeeper/bin/" + name} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[len(m)-1], nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}
