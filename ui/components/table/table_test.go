package table

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/wotr/wotr-tui/ui/common"
)

func render(cols []Column, rows []Row, w int) []string {
	m := New(common.NewContext(common.NoColorTheme()), cols, -1, false)
	m.SetRows(rows)
	m.SetSize(w, len(rows)+1)
	return strings.Split(ansi.Strip(m.View()), "\n")
}

var pods = []Row{
	{Key: "a", Cells: []string{"wotr-api-f6c5657b9-x7k2p", "yes", "12.0ms"}},
	{Key: "b", Cells: []string{"wotr-api-f6c5657b9-q4m8z", "yes", "14.0ms"}},
}

// A name column takes the width an optional value column had.
func TestIdentifierGetsWidthBeforeOptionalColumns(t *testing.T) {
	cols := []Column{
		{Title: "POD", Width: 12, Flex: true, Ident: true},
		{Title: "READY", Width: 5, Priority: 1},
		{Title: "P99", Width: 7, Right: true},
	}
	lines := render(cols, pods, 34)
	if strings.Contains(lines[0], "READY") {
		t.Errorf("READY kept over the pod name: %q", lines[0])
	}
	if !strings.HasPrefix(lines[1][1:], "wotr-api-f6c5657b9-x7k2p ") {
		t.Errorf("pod name cut: %q", lines[1])
	}
}

// Too narrow for the names: they are cut in the middle and stay apart, and
// the spare width is not given to a name beyond its length.
func TestIdentifierCutInTheMiddle(t *testing.T) {
	cols := []Column{{Title: "POD", Width: 12, Flex: true, Ident: true}, {Title: "READY", Width: 5}}
	lines := render(cols, pods, 20)
	if lines[1][1:] != "wot…b9-x7k2p yes   " || lines[2][1:] != "wot…b9-q4m8z yes   " {
		t.Errorf("rows %q", lines[1:])
	}
	wide := render(cols, pods, 60)
	if strings.TrimRight(wide[1][1:], " ") != "wotr-api-f6c5657b9-x7k2p yes" {
		t.Errorf("wide row %q", wide[1])
	}
}
