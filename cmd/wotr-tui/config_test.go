package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliConfig = `current-context: demo
contexts:
  - name: demo
    regions:
      - name: primary
        role: primary
        postgres: {dsn: "postgres://wotr:pgsecret@127.0.0.1:5432/wotr"}
  - name: production
    read-only: true
    header-color: red
    regions:
      - name: eu-west
        role: primary
        redis: {addr: "redis:6379", password: "redissecret"}
      - name: eu-central
        role: secondary
`

func configFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cliConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigVerbs(t *testing.T) {
	app := newCLI(t)
	path := configFile(t)

	r := app.run("config", "get-contexts", "--config", path)
	mustCode(t, r, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "*") || !strings.Contains(lines[1], "demo") ||
		!strings.Contains(lines[2], "production") || !strings.Contains(lines[2], "read-only") || !strings.Contains(lines[2], "eu-west,eu-central") {
		t.Fatalf("get-contexts:\n%s", r.out)
	}

	r = app.run("config", "current-context", "--config", path)
	mustCode(t, r, ExitOK)
	if strings.TrimSpace(r.out) != "demo" {
		t.Fatalf("current-context = %q", r.out)
	}

	r = app.run("config", "use-context", "production", "--config", path)
	mustCode(t, r, ExitOK)
	r = app.run("config", "get-contexts", "-o", "json", "--config", path)
	mustCode(t, r, ExitOK)
	var rows []contextRow
	if err := json.Unmarshal([]byte(r.out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Current || !rows[1].Current || !rows[1].ReadOnly || rows[1].HeaderColor != "red" {
		t.Fatalf("after use-context production: %+v", rows)
	}

	r = app.run("config", "view", "--config", path)
	mustCode(t, r, ExitOK)
	if strings.Contains(r.out, "pgsecret") || strings.Contains(r.out, "redissecret") || !strings.Contains(r.out, "current-context: production") {
		t.Fatalf("view:\n%s", r.out)
	}
}

// Bad input is a usage error naming the value, and changes nothing.
func TestConfigVerbsRefuseBadInput(t *testing.T) {
	app := newCLI(t)
	path := configFile(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"config", "use-context", "prod"}, `context "prod" not found`},
		{[]string{"config", "use-context"}, "accepts 1 arg"},
		{[]string{"config", "get-contexts", "-o", "xml"}, `-o "xml": output must be table or json`},
		{[]string{"config", "view", "extra"}, "unknown command"},
	}
	for _, c := range cases {
		r := app.run(append(c.args, "--config", path)...)
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.err, c.want) {
			t.Errorf("%v: stderr %q, want %q", c.args, r.err, c.want)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != cliConfig {
		t.Errorf("a refused verb changed the file:\n%s", b)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte(strings.Replace(cliConfig, "header-color: red", "header-color: crimson", 1)), 0o600)
	r := app.run("config", "get-contexts", "--config", bad)
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.err, `"crimson"`) || !strings.Contains(r.err, "header-color") {
		t.Errorf("bad colour: %q", r.err)
	}
}

// Without a config every verb that needs one says how to get one.
func TestFirstRunNamesDemoAndInit(t *testing.T) {
	app := newCLI(t)
	missing := filepath.Join(t.TempDir(), "none", "config.yaml")
	for _, args := range [][]string{{"status"}, {"config", "get-contexts"}, {"config", "view"}} {
		r := app.run(append(args, "--config", missing)...)
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.err, missing) || !strings.Contains(r.err, "wotr-tui demo") || !strings.Contains(r.err, "make demo") ||
			!strings.Contains(r.err, "wotr-tui config init") || strings.Contains(r.err, "no such file") {
			t.Errorf("%v: %q", args, r.err)
		}
	}
}

// Completion of use-context offers the file's contexts.
func TestCompleteContexts(t *testing.T) {
	app := newCLI(t)
	path := configFile(t)
	r := app.run("__complete", "config", "use-context", "--config", path, "pro")
	mustCode(t, r, ExitOK)
	if !strings.Contains(r.out, "production\n") || strings.Contains(r.out, "demo\n") {
		t.Errorf("completion:\n%s", r.out)
	}
}
