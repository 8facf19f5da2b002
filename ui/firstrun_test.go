package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// firstRunShell is the shell with no config: Init writes a context unless
// the request is bad, and the opener builds a console on the fixture.
func firstRunShell(t *testing.T, w, h int, demo *bool, got *InitRequest) *Shell {
	t.Helper()
	t.Setenv("KUBECONFIG", "/home/op/.kube/config")
	var opened []string
	var closed atomic.Int32
	opts := shellOptions(&opened, &closed)
	opts.Context, opts.Close = "", nil
	opts.FirstRun = &FirstRun{
		ConfigPath: "/home/op/.config/wotr/config.yaml",
		Demo:       func() { *demo = true },
		Init: func(_ context.Context, r InitRequest) (InitReport, error) {
			*got = r
			if r.Namespace == "" {
				return InitReport{}, errors.New("--namespace is required: the namespace of the wotr-api Deployment")
			}
			return InitReport{Context: r.Name, Lines: []string{"ENDPOINT  ADDRESS          CHECK", "kafka     127.0.0.1:9092   ok"}}, nil
		},
	}
	s := NewShell(opts)
	s.Update(tea.WindowSizeMsg{Width: w, Height: h})
	runShell(s, s.Init())
	return s
}

func shellType(s *Shell, text string) {
	for _, r := range text {
		_, cmd := s.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		runShell(s, cmd)
	}
}

// With no config the screen names the path it looked at and the three
// choices; d hands over to the demo and quits.
func TestFirstRunScreen(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		var demo bool
		var req InitRequest
		s := firstRunShell(t, sz[0], sz[1], &demo, &req)
		screen := s.View()
		checkScreen(t, screen, sz[0], sz[1])
		plain := ansi.Strip(screen)
		for _, want := range []string{"No config found at /home/op/.config/wotr/config.yaml.", "start the demo", "wotr-tui demo",
			"create a context", "wotr-tui config init", "quit"} {
			if !strings.Contains(plain, want) {
				t.Errorf("%dx%d: first-run screen lacks %q:\n%s", sz[0], sz[1], want, plain)
			}
		}
		golden(t, fmt.Sprintf("firstrun_%dx%d", sz[0], sz[1]), screen)
		_, cmd := s.Update(keyMsg("d"))
		if !demo || cmd == nil {
			t.Fatalf("d: demo chosen %v, cmd %v", demo, cmd)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Error("choosing the demo does not quit the screen for it")
		}
	}
}

// c opens config init's form (kubeconfig defaulted from $KUBECONFIG);
// bad input comes back with the rule and nothing written; a written
// context shows the checks and Enter opens the console on it.
func TestFirstRunCreatesAContextAndOpensIt(t *testing.T) {
	var demo bool
	var req InitRequest
	s := firstRunShell(t, 120, 40, &demo, &req)
	shellKeys(s, "c")
	plain := ansi.Strip(s.View())
	if !strings.Contains(plain, "Create a context") || !strings.Contains(plain, "/home/op/.kube/config") || !strings.Contains(plain, "wotr") {
		t.Fatalf("form:\n%s", plain)
	}
	// name, then down to namespace: clear it to get the refusal
	shellType(s, "lab")
	shellKeys(s, "down", "down", "down")
	_, cmd := s.Update(tea.KeyMsg{Type: tea.KeyCtrlU})
	runShell(s, cmd)
	shellKeys(s, "enter")
	plain = ansi.Strip(s.View())
	if req.Name != "lab" || req.Kubeconfig != "/home/op/.kube/config" || req.Namespace != "" {
		t.Fatalf("request %+v", req)
	}
	if !strings.Contains(plain, "--namespace is required") || !strings.Contains(plain, "Create a context") {
		t.Fatalf("bad input not shown on the form:\n%s", plain)
	}
	shellType(s, "wotr")
	shellKeys(s, "up")
	shellType(s, "kind-lab")
	shellKeys(s, "enter")
	if req.KubeContext != "kind-lab" || req.Namespace != "wotr" {
		t.Fatalf("request %+v", req)
	}
	plain = ansi.Strip(s.View())
	if !strings.Contains(plain, `wrote context "lab" to /home/op/.config/wotr/config.yaml`) || !strings.Contains(plain, "127.0.0.1:9092   ok") {
		t.Fatalf("report:\n%s", plain)
	}
	if s.Console() != nil {
		t.Fatal("console opened before Enter")
	}
	shellKeys(s, "enter")
	if s.Console() == nil {
		t.Fatalf("Enter did not open the console:\n%s", s.View())
	}
	s.Console().Update(snapshotMsg{snap: fixture.Snapshot()})
	s.Console().ctx.Now = fixture.Now.Add(time.Second)
	if top := strings.Split(ansi.Strip(s.View()), "\n")[0]; !strings.Contains(top, "ctx lab") {
		t.Fatalf("header of the new console: %q", top)
	}
}

// q quits; without a demo hook d says how to start it.
func TestFirstRunQuitAndNoDemoHook(t *testing.T) {
	var demo bool
	var req InitRequest
	s := firstRunShell(t, 80, 24, &demo, &req)
	s.first.fr.Demo = nil
	shellKeys(s, "d")
	if !strings.Contains(ansi.Strip(s.View()), "wotr-tui demo (or make demo") {
		t.Errorf("no demo hook:\n%s", s.View())
	}
	_, cmd := s.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q does nothing")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}
