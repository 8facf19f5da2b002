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

// Run opens the console on the terminal until the operator quits.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	if os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
		opts.Theme = common.NoColorTheme()
	}
	opts.Parent = ctx
	p := tea.NewProgram(New(opts), tea.WithAltScreen(), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	return err
}
