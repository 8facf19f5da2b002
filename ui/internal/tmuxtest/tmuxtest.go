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
	args = append(args, strings.Join(quote(argv), " ")+"; echo "+exitMarker+"$?; sleep 600")
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

// Type sends text literally, character by character, as a person types it.
func (s *Session) Type(text string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", s.name, "-l", text).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys -l: %v: %s", err, out)
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

// exitMarker is what the shell prints once the command under test ends.
const exitMarker = "EXITED "

// WaitFor polls the screen until it contains every string, or fails at the
// deadline showing the last screen.
func (s *Session) WaitFor(d time.Duration, want ...string) string {
	s.t.Helper()
	return s.poll(d, fmt.Sprintf("screen with %q", want), 20*time.Millisecond, func(screen string) error {
		for _, w := range want {
			if !strings.Contains(screen, w) {
				return fmt.Errorf("screen lacks %q", w)
			}
		}
		return nil
	})
}

// Poll captures the screen until check accepts it, or fails at the deadline
// with check's last complaint and the last screen. check may also consult
// other state (an API, a database): it runs at most every 250ms.
func (s *Session) Poll(d time.Duration, what string, check func(screen string) error) string {
	s.t.Helper()
	return s.poll(d, what, 250*time.Millisecond, check)
}

func (s *Session) poll(d time.Duration, what string, every time.Duration, check func(screen string) error) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		screen := s.Capture()
		err := check(screen)
		if err == nil {
			return screen
		}
		// The command ended: nothing more will change, unless its end is what is awaited.
		if strings.Contains(screen, exitMarker) {
			s.t.Fatalf("%s: the command exited: %v\n%s", what, err, screen)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not reached within %v: %v\n%s", what, d, err, screen)
		}
		time.Sleep(every) // poll interval, not a wait for state
	}
}
