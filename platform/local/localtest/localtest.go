// Package localtest shares one local platform per test package and turns
// "component missing" skips into failures when WOTR_REQUIRE_INTEGRATION=1.
package localtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
)

// Required reports whether integration tests must run (CI sets it).
func Required() bool { return os.Getenv("WOTR_REQUIRE_INTEGRATION") == "1" }

var (
	shared    *local.Platform
	sharedErr error
)

// Main starts one platform for the package, runs the tests, and stops it.
// Use from TestMain: os.Exit(localtest.Main(m, local.Options{...})).
// When a component cannot start because something is missing, tests that call
// Platform(t) skip (or fail when integration is required).
func Main(m *testing.M, opts local.Options) int {
	// TestMain runs before the testing flags are parsed; -short needs them.
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() || os.Getenv("WOTR_SKIP_INTEGRATION") == "1" {
		sharedErr = fmt.Errorf("integration tests disabled (-short or WOTR_SKIP_INTEGRATION=1)")
		return m.Run()
	}
	// Benchmarks alone (-run '^$', as make bench runs them) use no shared
	// platform: starting one would only load the machine they measure.
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "^$" {
		sharedErr = fmt.Errorf("no shared platform: -run '^$' runs no test")
		return m.Run()
	}
	if sharedErr = Unavailable(opts); sharedErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		shared, sharedErr = local.Start(ctx, opts)
		cancel()
		if sharedErr == nil {
			fmt.Fprintf(os.Stderr, "local platform up in %s:\n%s", shared.Dir, shared.StartReport())
		}
	}
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "localtest: stop:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Platform returns the shared platform or skips the test (fails when required).
// Listing components skips the test when the platform was started without them
// (WOTR_LOCAL_ONLY), unless integration is required.
func Platform(t testing.TB, components ...string) *local.Platform {
	t.Helper()
	if shared != nil {
		for _, c := range components {
			if !shared.Enabled(c) {
				if Required() {
					t.Fatalf("integration required but component %s was not started", c)
				}
				t.Skipf("component %s not started", c)
			}
		}
	}
	if shared == nil {
		err := sharedErr
		if err == nil {
			err = fmt.Errorf("no platform: TestMain did not call localtest.Main")
		}
		if Required() {
			t.Fatalf("integration required (WOTR_REQUIRE_INTEGRATION=1) but the local platform is unavailable: %v", err)
		}
		t.Skipf("local platform unavailable: %v", err)
	}
	return shared
}

// Unavailable says what the platform of opts lacks, grouped by what
// installs it (a Debian package and its make target, or a make target
// that builds it), or nil when nothing is missing.
func Unavailable(opts local.Options) error {
	missing := local.Missing(opts)
	if len(missing) == 0 {
		return nil
	}
	var order []string
	byFix := map[string][]string{}
	for _, m := range missing {
		if _, seen := byFix[m.Fix]; !seen {
			order = append(order, m.Fix)
		}
		byFix[m.Fix] = append(byFix[m.Fix], m.Component+": "+m.Binary)
	}
	var parts []string
	for _, fix := range order {
		parts = append(parts, fmt.Sprintf("%s (%s)", strings.Join(byFix[fix], ", "), fix))
	}
	return fmt.Errorf("missing %s", strings.Join(parts, "; "))
}

// Eventually polls check every 100 ms until it returns nil, and fails the
// test with check's last error when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, not a wait for state
	}
}
