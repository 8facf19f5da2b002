// Package tmuxtest runs the console binary inside a detached tmux session so
// end-to-end tests can type keys and read the screen.
package tmuxtest

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Session is one detached tmux session running a command.
type Session struct {
	t    testing.TB
	name string
}

// Start runs argv in a w x h tmux session; it is killed at test cleanup.
// The test is skipped when tmux is not installed.
func Start(t testing.TB, w, h int, env []string, argv ...string) *Session {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed")
	}
	name := fmt.Sprintf("wotr-e2e-%d", time.Now().UnixNano())
	args := []string{"new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	// keep the pane after exit so a crash stays readable
	args = append(args, strings.Join(quote(argv), " ")+"; echo EXITED $?; sleep 600")
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	s := &Session{t: t, name: name}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	return s
}

func quote(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

// Send keys in tmux send-keys syntax ("Enter", "Escape", "q", ...).
func (s *Session) Send(keys ...string) {
	s.t.Helper()
	args := append([]string{"send-keys", "-t", s.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// Capture the visible pane as text.
func (s *Session) Capture() string {
	s.t.Helper()
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// WaitFor polls the screen until it contains every string, or fails at the
// deadline showing the last screen.
func (s *Session) WaitFor(d time.Duration, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var screen string
	for {
		screen = s.Capture()
		ok := true
		for _, w := range want {
			if !strings.Contains(screen, w) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen lacks %q after %v:\n%s", want, d, screen)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for state
	}
}
