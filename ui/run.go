package ui

import (
	"context"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/wotr/wotr-tui/ui/common"
)

// Run opens the console (or the first-run screen) on the terminal until the
// operator quits; :ctx replaces the console inside the program. It
// returns only once no action it started is running, so that the caller
// closes the clients after the action's result record, never under it:
// even when ctx ends the program, the running action is left to finish.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	if os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
		opts.Theme = common.NoColorTheme()
	}
	opts.Parent = ctx
	s := NewShell(opts)
	p := tea.NewProgram(s, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	// the console shown last: the ones it replaced closed when replaced
	s.close()
	return err
}
