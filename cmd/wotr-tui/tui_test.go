package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wotr/wotr-tui/ops/config"
)

// The console's options on a context carry what :ctx needs to switch inside
// the program: the config's contexts (regions, kube contexts, mode), the
// opener (whose consoles open the same way), the reachability check and
// Close; with no config the opener says so, as a NoConfigError.
func TestOpenConsoleCarriesTheSwitch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	// a cluster nothing listens for
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n" +
		"users: [{name: u, user: {token: x}}]\ncontexts: [{name: kind-a, context: {cluster: c, user: u}}]\ncurrent-context: kind-a\n"
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []config.ContextConfig{
		{Name: "a", AuditLog: filepath.Join(dir, "a.jsonl"), BackupDir: filepath.Join(dir, "b"), Regions: []config.RegionConfig{{Name: "primary", Role: "primary",
			Kube: &config.KubeEndpoint{Kubeconfig: filepath.Join(dir, "kubeconfig"), Context: "kind-a", Namespace: "wotr"}}}},
		{Name: "b", ReadOnly: true, AuditLog: filepath.Join(dir, "b.jsonl"), BackupDir: filepath.Join(dir, "b"), Regions: []config.RegionConfig{{Name: "primary", Role: "primary",
			Kafka: &config.KafkaEndpoint{Brokers: []string{"127.0.0.1:1"}}}}},
	} {
		if err := config.SaveContext(path, cc); err != nil {
			t.Fatal(err)
		}
	}
	app := newCLI(t)
	d := &app.d
	d.flags.configPath = path
	ctx := context.Background()
	opts, err := openConsole(ctx, d, &tuiFlags{}, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Close()
	if opts.Context != "a" || opts.OpenContext == nil || opts.ProbeContext == nil || opts.Close == nil {
		t.Fatalf("options of a: context %q, opener %v, probe %v, close %v", opts.Context, opts.OpenContext != nil, opts.ProbeContext != nil, opts.Close != nil)
	}
	if len(opts.Contexts) != 2 || opts.Contexts[0].KubeContexts[0] != "kind-a" || !opts.Contexts[1].ReadOnly {
		t.Fatalf("contexts: %+v", opts.Contexts)
	}
	next, err := opts.OpenContext(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if next.Context != "b" || !next.ReadOnly || next.OpenContext == nil {
		t.Fatalf("options of b: %q read-only %v opener %v", next.Context, next.ReadOnly, next.OpenContext != nil)
	}
	// a's apiserver and b's broker refuse: the probe says so
	for _, name := range []string{"a", "b"} {
		if err := opts.ProbeContext(ctx, name); err == nil {
			t.Errorf("probe of %s (nothing listening) reports reachable", name)
		}
	}
	if _, err := opts.OpenContext(ctx, "nope"); err == nil {
		t.Error("opening an unknown context succeeded")
	}
	d.flags.configPath = filepath.Join(dir, "none.yaml")
	if _, err := openConsole(ctx, d, &tuiFlags{}, ""); !config.IsNoConfig(err) {
		t.Errorf("no config: %v, want a NoConfigError (the first-run screen)", err)
	}
}
