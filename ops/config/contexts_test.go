package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoContexts = goodConfig + `  - name: staging
    read-only: true
    header-color: yellow
    regions:
      - name: eu-west
        role: primary
        redis: {addr: "redis:6379", password: "redispass"}
`

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUseContextSwitchesAndKeepsTheRest(t *testing.T) {
	path := writeConfig(t, twoContexts)
	if err := UseContext(path, "staging"); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "staging" || len(cfg.Contexts) != 2 {
		t.Fatalf("current %q, %d contexts", cfg.CurrentContext, len(cfg.Contexts))
	}
	if c, _ := cfg.Context(""); c.HeaderColor != "yellow" || !c.ReadOnly {
		t.Errorf("staging lost its settings: %+v", c)
	}
	if p, _ := cfg.Context("prod"); p.Regions[0].Postgres.DSN != "postgres://wotr:s3cret@pg:5432/wotr?sslmode=disable" {
		t.Errorf("prod's DSN changed: %q", p.Regions[0].Postgres.DSN)
	}
}

// An unknown context is refused by name, with the ones there are, and the
// file is left byte for byte as it was.
func TestUseContextRefusesAnUnknownContext(t *testing.T) {
	path := writeConfig(t, twoContexts)
	err := UseContext(path, "prodd")
	if err == nil || !strings.Contains(err.Error(), `"prodd" not found`) || !strings.Contains(err.Error(), "prod, staging") {
		t.Fatalf("err = %v, want the name and the contexts there are", err)
	}
	if b, _ := os.ReadFile(path); string(b) != twoContexts {
		t.Errorf("refused use-context changed the file:\n%s", b)
	}
}

func TestMaskedFileHidesEverySecret(t *testing.T) {
	path := writeConfig(t, twoContexts)
	out, err := MaskedFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret", "hunter2", "redispass"} {
		if strings.Contains(out, secret) {
			t.Errorf("view shows %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"postgres://wotr:xxxxx@pg:5432/wotr", "header-color: yellow", "name: staging", "redis:6379"} {
		if !strings.Contains(out, kept) {
			t.Errorf("view lacks %q:\n%s", kept, out)
		}
	}
}

func TestHeaderColorIsValidated(t *testing.T) {
	for _, good := range []string{"red", "#ff0000", "196"} {
		if err := CheckColor(good); err != nil {
			t.Errorf("CheckColor(%q) = %v", good, err)
		}
	}
	bad := strings.Replace(twoContexts, "header-color: yellow", "header-color: reddish", 1)
	_, err := Parse("config.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `"reddish"`) || !strings.Contains(err.Error(), "header-color") || !strings.Contains(err.Error(), "#rrggbb") {
		t.Fatalf("bad colour: %v, want the field, the value and the rule", err)
	}
	for _, v := range []string{"256", "#ff00", "-1"} {
		if CheckColor(v) == nil {
			t.Errorf("CheckColor(%q) accepted", v)
		}
	}
}

// A first run names the two ways to get a context, not a file error.
func TestLoadWithoutAFileSaysWhatToRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wotr", "config.yaml")
	_, err := Load(path)
	if !IsNoConfig(err) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a NoConfigError", err)
	}
	for _, want := range []string{path, "wotr-tui demo", "wotr-tui config init"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if err := UseContext(path, "prod"); !IsNoConfig(err) {
		t.Errorf("use-context without a file: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("use-context created the file")
	}
}
