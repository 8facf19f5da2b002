package action

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/audit"
	"github.com/wotr/wotr-tui/ops/config"
)

func TestParseLSN(t *testing.T) {
	a, err := ParseLSN("1/0")
	if err != nil || a != 1<<32 {
		t.Fatalf("1/0 = %d %v", a, err)
	}
	if d, _ := lsnDiff("0/3029000", "0/3028000"); d != 4096 {
		t.Fatalf("diff %d", d)
	}
	if _, err := ParseLSN("nope"); err == nil {
		t.Fatal("bad LSN accepted")
	}
}

func TestForceNeedsAReasonAndHardChecksStayBlocked(t *testing.T) {
	a := &Service{Config: config.ContextConfig{Name: "c"}, Audit: audit.NewLog(filepath.Join(t.TempDir(), "a.jsonl"))}
	if _, err := a.Plan(context.Background(), Request{Kind: KindScale, Target: "api", Force: true}); err == nil || !strings.Contains(err.Error(), "force needs a reason") {
		t.Fatalf("force without reason: %v", err)
	}
	checks := []Check{{Name: "x", Status: CheckFail}}
	if !blocked(checks, false) || blocked(checks, true) {
		t.Error("a soft failure blocks without --force only")
	}
	checks[0].Hard = true
	if !blocked(checks, true) {
		t.Error("a hard failure blocks even with --force")
	}
}
