package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mode asserts path's permission bits.
func mode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
	}
}

func TestSaveContextWritesOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "xdg", "wotr")
	path := filepath.Join(dir, "config.yaml")
	demo := ContextConfig{Name: "demo", Regions: []RegionConfig{{Name: "local", Role: "primary", Redis: &RedisEndpoint{Addr: "127.0.0.1:6380"}}}}
	if err := SaveContext(path, demo); err != nil {
		t.Fatal(err)
	}
	mode(t, path, 0o600)
	mode(t, dir, 0o700)
	mode(t, filepath.Dir(dir), 0o700)
	// A config that was world-readable is replaced by an owner-only one.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveContext(path, demo); err != nil {
		t.Fatal(err)
	}
	mode(t, path, 0o600)
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestFileNamePart(t *testing.T) {
	for _, ok := range []string{"incident-db", "prod.eu_1", "admin@cluster:1"} {
		if err := FileNamePart("runbook name", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "../x", "a/b", "a..b", ".hidden", "-x", `a\b`, "a b", strings.Repeat("x", 101), "a\x00b"} {
		err := FileNamePart("runbook name", bad)
		if err == nil || !strings.Contains(err.Error(), "runbook name") || !strings.Contains(err.Error(), "no '/' or '..'") {
			t.Errorf("%q: %v, want a refusal naming the value and the rule", bad, err)
		}
	}
}
