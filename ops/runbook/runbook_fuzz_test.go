package runbook

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Runbooks are files anyone can drop into the override dir: whatever the
// bytes, Parse returns a valid runbook or an error naming the file, quickly,
// and never a step that overrides a check.
func FuzzParse(f *testing.F) {
	entries, err := shippedRunbooks.ReadDir("runbooks")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := shippedRunbooks.ReadFile("runbooks/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		// A hang is a finding too: crash the worker so the input is kept.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", data)) })
		rb, err := Parse("fuzz.yaml", data)
		watchdog.Stop()
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Parse took %s on %d bytes", took, len(data))
		}
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if rb.Name == "" || len(rb.Steps) == 0 {
			t.Fatalf("accepted a runbook without a name or steps: %+v", rb)
		}
		for _, s := range rb.Steps {
			if s.Kind() == "invalid" {
				t.Fatalf("accepted step %q with no kind", s.ID)
			}
			if a := s.Action; a != nil && (a.Force || a.Reason != "") {
				t.Fatalf("accepted step %q that overrides checks: %+v", s.ID, a)
			}
		}
	})
}
