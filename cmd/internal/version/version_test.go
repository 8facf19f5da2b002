package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, c := range []struct {
		name                 string
		bi                   debug.BuildInfo
		version, commit, day string
		modified             bool
	}{
		{"checkout with vcs stamping", debug.BuildInfo{Main: debug.Module{Path: "github.com/wotr/wotr-tui", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-01T23:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"", "0123456789abcdef", "2026-12-01T23:00:00Z", true},
		{"go install @latest of a pseudo-version", debug.BuildInfo{Main: debug.Module{Path: "github.com/wotr/wotr-tui", Version: "v0.0.0-20261201231400-abcdef123456"}},
			"v0.0.0-20261201231400-abcdef123456", "abcdef123456", "", false},
		{"tagged release", debug.BuildInfo{Main: debug.Module{Path: "github.com/wotr/wotr-tui", Version: "v1.2.0"}}, "v1.2.0", "", "", false},
	} {
		i := fromBuildInfo(Info{}, &c.bi)
		if i.Version != c.version || i.Commit != c.commit || i.Date != c.day || i.Modified != c.modified || i.Module != "github.com/wotr/wotr-tui" {
			t.Errorf("%s: %+v", c.name, i)
		}
	}
}

// Stamped values win over the build info, and nothing is left blank.
func TestGetPrefersStamps(t *testing.T) {
	i := Get("wotr-tui")
	for _, f := range []string{i.Module, i.Version, i.Commit, i.Date} {
		if f == "" {
			t.Fatalf("blank field in %+v", i)
		}
	}
	version, commit, date = "v9.9.9", "feedface", "2026-12-02T00:00:00Z"
	defer func() { version, commit, date = "", "", "" }()
	i = Get("wotr-api")
	if s := i.String(); !strings.HasPrefix(s, "wotr-api v9.9.9 (") || !strings.Contains(s, "commit feedface, built 2026-12-02T00:00:00Z") {
		t.Fatalf("String() = %q", s)
	}
}
