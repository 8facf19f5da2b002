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
	// Package is the Debian package that ships Binary; empty for a build.
	Package string
	// Target is the make target that installs or builds it (deps, controlplane).
	Target string
	// Fix says what to run.
	Fix string
}

func (m MissingDep) String() string {
	return fmt.Sprintf("%s needs %s (%s)", m.Component, m.Binary, m.Fix)
}

// requirement is one binary (name on PATH or absolute path) a component runs.
type requirement struct {
	binary, debianPackage, makeTarget string
}

func (r requirement) fix() string {
	if r.debianPackage != "" {
		return fmt.Sprintf("Debian package %s: make %s, or apt-get install %s", r.debianPackage, r.makeTarget, r.debianPackage)
	}
	return "make " + r.makeTarget
}

// requirements lists what a component needs with these options: the
// control plane's binaries and kwok stages are looked for in
// KubeOptions.BinDir, not only the default build dir.
func requirements(opts Options, component string) []requirement {
	deb := func(pkg string, bins ...string) []requirement {
		var out []requirement
		for _, b := range bins {
			out = append(out, requirement{b, pkg, "deps"})
		}
		return out
	}
	switch component {
	case Postgres:
		return deb("postgresql", "initdb", "pg_basebackup", "postgres", "pg_ctl")
	case Redis:
		return deb("redis-server", "redis-server")
	case ClickHouse:
		return append(append(deb("clickhouse-server", "clickhouse-server"),
			deb("default-jre-headless", "java")...), deb("zookeeper", zookeeperJar)...)
	case Prometheus:
		return deb("prometheus", "prometheus")
	case HAProxy:
		return deb("haproxy", "haproxy")
	case Kube:
		binDir := opts.Kube.withDefaults().BinDir
		var out []requirement
		for _, b := range kubeBinaries {
			out = append(out, requirement{binary: filepath.Join(binDir, b), makeTarget: "controlplane"})
		}
		for _, s := range kubeStages {
			out = append(out, requirement{binary: filepath.Join(filepath.Dir(binDir), "stages", s), makeTarget: "controlplane"})
		}
		return out
	}
	return nil // Kafka runs in process
}

// Missing lists binaries the requested components need but cannot find.
func Missing(opts Options) []MissingDep {
	var out []MissingDep
	for _, c := range AllComponents {
		if !opts.Enabled(c) {
			continue
		}
		for _, r := range requirements(opts, c) {
			if _, err := findBinary(r.binary); err != nil {
				out = append(out, MissingDep{Component: c, Binary: r.binary, Package: r.debianPackage, Target: r.makeTarget, Fix: r.fix()})
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
