package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/internal/fixture"
)

// startingSnapshot is the fixture while Kafka's first read is in flight:
// every other source has answered, Kafka has no value and no error yet.
func startingSnapshot() state.Snapshot {
	s := fixture.Snapshot()
	s.Kafka = state.KafkaState{}
	for i := range s.Sources {
		if s.Sources[i].Source == "kafka" {
			s.Sources[i] = state.Meta{Source: "kafka", Region: s.Sources[i].Region}
		}
	}
	return s
}

// The console draws what has answered and marks the area still loading:
// the overview's Consumers row, the consumers view's title and its empty
// tables say "loading kafka…", while the other areas show their data. Once
// Kafka answers with an error the area reads as unavailable instead.
func TestAreaLoadingUntilItsSourceAnswers(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		m := newModel(t, sz[0], sz[1], goldenOptions())
		feed(m, startingSnapshot())
		press(m, "1")
		screen := m.View()
		checkScreen(t, screen, sz[0], sz[1])
		plain := ansi.Strip(screen)
		if !lineWith(plain, "Consumers", "loading kafka…") {
			t.Errorf("overview has no Consumers row loading kafka:\n%s", plain)
		}
		if !lineWith(plain, "Nodes", "ready") {
			t.Errorf("overview lost the nodes that answered:\n%s", plain)
		}
		golden(t, fmt.Sprintf("overview-loading_%dx%d", sz[0], sz[1]), screen)

		press(m, "3")
		screen = m.View()
		checkScreen(t, screen, sz[0], sz[1])
		plain = ansi.Strip(screen)
		if strings.Count(plain, "loading kafka…") < 2 || strings.Contains(plain, "no consumer groups") {
			t.Errorf("consumers view does not say it is loading:\n%s", plain)
		}
		golden(t, fmt.Sprintf("consumers-loading_%dx%d", sz[0], sz[1]), screen)

		failed := startingSnapshot()
		for i := range failed.Sources {
			if failed.Sources[i].Source == "kafka" {
				failed.Sources[i].Stale, failed.Sources[i].Error = true, "dial tcp 127.0.0.1:1: i/o timeout"
			}
		}
		feed(m, failed)
		plain = ansi.Strip(m.View())
		if strings.Contains(plain, "loading kafka") || !strings.Contains(plain, "kafka unavailable") {
			t.Errorf("after Kafka's error the view still loads or does not say unavailable:\n%s", plain)
		}
	}
}

func lineWith(screen string, parts ...string) bool {
	for _, l := range strings.Split(screen, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
