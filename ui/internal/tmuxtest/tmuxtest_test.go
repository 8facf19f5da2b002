package tmuxtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestConsoleInTmux builds wotr-tui and drives it in a real terminal: it
// opens on the overview, switches views, shows the runbooks and quits.
func TestConsoleInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wotr-tui")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wotr/wotr-tui/cmd/wotr-tui").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("current-context: e2e\ncontexts:\n- name: e2e\n  audit-log: "+filepath.Join(dir, "audit.jsonl")+"\n  regions:\n  - name: eu-west\n    role: primary\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Start(t, 100, 30, []string{"NO_COLOR=1", "XDG_CONFIG_HOME=" + dir}, bin, "--config", cfg, "--read-only")
	s.WaitFor(10*time.Second, "wotr-tui ctx e2e [read-only]", "Overview")
	s.Send("9")
	s.WaitFor(5*time.Second, "Runbooks [", "dr-drill")
	s.Send(":", "audit", "Enter")
	s.WaitFor(5*time.Second, "Audit log")
	s.Send("q")
	s.WaitFor(5*time.Second, "EXITED 0")
}
