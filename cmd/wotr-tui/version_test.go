package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/cmd/internal/version"
	"github.com/wotr/wotr-tui/ops/config"
	promrules "github.com/wotr/wotr-tui/platform/deploy/prometheus"
)

func TestVersionVerbAndFlag(t *testing.T) {
	app := newCLI(t)
	r := app.run("version", "-o", "json")
	mustCode(t, r, ExitOK)
	var i version.Info
	if err := json.Unmarshal([]byte(r.out), &i); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, r.out)
	}
	if i.Binary != "wotr-tui" || i.Module != "github.com/wotr/wotr-tui" || i.Version == "" || i.Commit == "" || i.Date == "" {
		t.Errorf("version -o json: %+v", i)
	}
	flag := app.run("--version")
	mustCode(t, flag, ExitOK)
	text := app.run("version")
	if flag.out != text.out || !strings.HasPrefix(text.out, "wotr-tui "+i.Version+" (module github.com/wotr/wotr-tui, commit "+i.Commit) {
		t.Errorf("--version %q and version %q differ or miss the version", flag.out, text.out)
	}
	bad := app.run("version", "-o", "yaml")
	mustCode(t, bad, ExitUsage)
	if !strings.Contains(bad.err, `-o "yaml": output must be text or json`) {
		t.Errorf("stderr %q", bad.err)
	}
}

func TestManPagesFromTheCommandTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	r := newCLI(t).run("man", "--dir", dir)
	mustCode(t, r, ExitOK)
	for _, page := range []string{"wotr-tui.1", "wotr-tui-version.1", "wotr-tui-scale.1", "wotr-tui-alert-rules.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), ".TH \"WOTR-TUI\" \"1\"") || !strings.Contains(string(b), ".SH SYNOPSIS") {
			t.Errorf("%s is not a section 1 man page:\n%.300s", page, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "wotr-tui-man.1")); err == nil {
		t.Error("the hidden man verb has a page of its own")
	}
	bad := newCLI(t).run("man", "--dir", "")
	mustCode(t, bad, ExitUsage)
	if !strings.Contains(bad.err, "--dir is empty") {
		t.Errorf("stderr %q", bad.err)
	}
}

func TestAlertRulesFollowTheContext(t *testing.T) {
	cc := config.ContextConfig{Name: "x", Thresholds: map[string]config.ThresholdOverride{"latency-p99": {Warn: "400ms"}}}
	app := newCLI(t).withContext(cc)
	r := app.run("alert-rules")
	mustCode(t, r, ExitOK)
	if !strings.Contains(r.out, "fastapi_request_duration_seconds_bucket[5m]))) >= 0.4\n") {
		t.Errorf("the context's latency-p99 warn 400ms is not in the rules:\n%s", r.out)
	}
	def := app.run("alert-rules", "--defaults")
	mustCode(t, def, ExitOK)
	if def.out != string(promrules.RulesFile) {
		t.Error("alert-rules --defaults differs from the shipped rules.yml")
	}
	pr := app.run("alert-rules", "--defaults", "--format", "prometheusrule")
	if pr.out != string(promrules.PrometheusRule) {
		t.Error("alert-rules --format prometheusrule --defaults differs from the shipped prometheusrule.yaml")
	}
	bad := app.run("alert-rules", "--format", "json")
	mustCode(t, bad, ExitUsage)
	if !strings.Contains(bad.err, `--format "json": must be rules or prometheusrule`) || bad.out != "" {
		t.Errorf("stderr %q stdout %q", bad.err, bad.out)
	}
}
