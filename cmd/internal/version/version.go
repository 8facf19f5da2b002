// Package version says which build a binary is: the module version, the
// commit and the build date. `make build` stamps them with -ldflags -X; a
// plain `go build` or `go install` falls back to the build info Go embeds
// (module version from the proxy, VCS revision and time when it was built
// from a checkout with VCS stamping on).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the Makefile: -X github.com/wotr/wotr-tui/cmd/internal/version.version=...
var (
	version string
	commit  string
	date    string
)

// Info is what `version -o json` prints.
type Info struct {
	Binary    string `json:"binary"`
	Module    string `json:"module"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get is the binary's version; what is neither stamped nor embedded is "unknown".
func Get(binary string) Info {
	i := Info{Binary: binary, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i = fromBuildInfo(i, bi)
	}
	if version != "" {
		i.Version = version
	}
	if commit != "" {
		i.Commit = commit
	}
	if date != "" {
		i.Date = date
	}
	for _, f := range []*string{&i.Module, &i.Version, &i.Commit, &i.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	return i
}

func fromBuildInfo(i Info, bi *debug.BuildInfo) Info {
	i.Module = bi.Main.Path
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Date = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	// A module version from the proxy names its commit: v0.0.0-20261201231400-abcdef123456.
	if i.Commit == "" {
		if parts := strings.Split(i.Version, "-"); len(parts) >= 3 && len(parts[len(parts)-1]) == 12 {
			i.Commit = strings.TrimSuffix(parts[len(parts)-1], "+incompatible")
		}
	}
	return i
}

// String is the one line `--version` prints.
func (i Info) String() string {
	c := i.Commit
	if i.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("%s %s (module %s, commit %s, built %s, %s %s)", i.Binary, i.Version, i.Module, c, i.Date, i.GoVersion, i.Platform)
}
