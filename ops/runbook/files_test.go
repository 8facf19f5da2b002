package runbook

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunStateAndReportsAreOwnerOnly(t *testing.T) {
	svc, rb, _ := newTestService(t, nil)
	run, err := svc.Open(rb)
	if err != nil {
		t.Fatal(err)
	}
	// The first step is a query, the second a manual step that pends: state is saved.
	if err := svc.Next(context.Background(), run, Operator{}); err != nil {
		t.Fatal(err)
	}
	state, report := svc.StatePath(rb), svc.ReportPath(run)
	for path, want := range map[string]os.FileMode{
		state: 0o600, filepath.Dir(state): 0o700,
		report: 0o600, filepath.Dir(report): 0o700,
	} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}

func TestRunbookNamesThatWouldLeaveTheirDirectoryAreRefused(t *testing.T) {
	for _, name := range []string{"../../etc/passwd", "a/b", "..", ".x"} {
		_, err := Parse("t.yaml", []byte("name: "+name+"\nsteps:\n- id: s\n  manual: do it\n"))
		if err == nil || !strings.Contains(err.Error(), `runbook name "`+name+`"`) || !strings.Contains(err.Error(), "no '/' or '..'") {
			t.Errorf("name %q: %v, want a refusal naming the value and the rule", name, err)
		}
	}
	svc, rb, _ := newTestService(t, nil)
	svc.env.Context = "../up"
	if _, err := svc.Open(rb); err == nil || !strings.Contains(err.Error(), `context name "../up"`) {
		t.Fatalf("context name with ..: %v", err)
	}
}
