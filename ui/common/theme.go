// Package common holds what every part of the console shares: the program
// context (size, theme, keys, clock), the Component and View contracts, and
// terminal-layout helpers (figures are formatted by ops/present).
package common

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/wotr/wotr-tui/ops/config"
)

// Theme names colours by role, never by hue, so a view asks for "warn" and the
// theme decides what that looks like (or that it looks like nothing: NO_COLOR).
type Theme struct {
	Text       lipgloss.TerminalColor
	Muted      lipgloss.TerminalColor
	Accent     lipgloss.TerminalColor
	OK         lipgloss.TerminalColor
	Warn       lipgloss.TerminalColor
	Crit       lipgloss.TerminalColor
	SelectedFg lipgloss.TerminalColor
	SelectedBg lipgloss.TerminalColor
	HeaderBg   lipgloss.TerminalColor
}

// DefaultTheme works on dark and light terminals.
func DefaultTheme() Theme {
	return Theme{
		Text:       lipgloss.AdaptiveColor{Light: "235", Dark: "252"},
		Muted:      lipgloss.AdaptiveColor{Light: "244", Dark: "244"},
		Accent:     lipgloss.AdaptiveColor{Light: "25", Dark: "75"},
		OK:         lipgloss.AdaptiveColor{Light: "28", Dark: "78"},
		Warn:       lipgloss.AdaptiveColor{Light: "130", Dark: "214"},
		Crit:       lipgloss.AdaptiveColor{Light: "160", Dark: "203"},
		SelectedFg: lipgloss.AdaptiveColor{Light: "255", Dark: "235"},
		SelectedBg: lipgloss.AdaptiveColor{Light: "25", Dark: "75"},
		HeaderBg:   lipgloss.AdaptiveColor{Light: "254", Dark: "237"},
	}
}

// NoColorTheme has no colour at all; selection stays visible through the
// row marker and reverse video.
func NoColorTheme() Theme {
	n := lipgloss.NoColor{}
	return Theme{Text: n, Muted: n, Accent: n, OK: n, Warn: n, Crit: n, SelectedFg: n, SelectedBg: n, HeaderBg: n}
}

// Styles are derived once from a theme.
type Styles struct {
	Text, Muted, Accent, Title, OK, Warn, Crit lipgloss.Style
	Selected, Header, ColumnHeader, Key        lipgloss.Style
}

// NewStyles derives the styles of a theme.
func NewStyles(t Theme) Styles {
	base := lipgloss.NewStyle()
	return Styles{
		Text:         base.Foreground(t.Text),
		Muted:        base.Foreground(t.Muted),
		Accent:       base.Foreground(t.Accent),
		Title:        base.Foreground(t.Accent).Bold(true),
		OK:           base.Foreground(t.OK),
		Warn:         base.Foreground(t.Warn),
		Crit:         base.Foreground(t.Crit).Bold(true),
		Selected:     base.Foreground(t.SelectedFg).Background(t.SelectedBg),
		Header:       base.Background(t.HeaderBg).Foreground(t.Text),
		ColumnHeader: base.Foreground(t.Muted).Bold(true),
		Key:          base.Foreground(t.Accent).Bold(true),
	}
}

// HeaderSkin is the header line of a context that sets a colour (a red
// header for production): white on that colour, so nobody mistakes where
// they are.
func HeaderSkin(color string) lipgloss.Style {
	return lipgloss.NewStyle().Background(lipgloss.Color(config.TerminalColor(color))).
		Foreground(lipgloss.Color("15")).Bold(true)
}
