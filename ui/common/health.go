package common

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/wotr/wotr-tui/ops/health"
)

// Level is ops/health's level; the console only decides how one looks.
type Level = health.Level

const (
	LevelNone = health.None
	LevelOK   = health.OK
	LevelWarn = health.Warn
	LevelCrit = health.Crit
)

// Worst of two levels.
func Worst(a, b Level) Level { return health.Worst(a, b) }

// LevelStyle picks the role style of a level.
func (s Styles) LevelStyle(l Level) lipgloss.Style {
	switch l {
	case LevelOK:
		return s.OK
	case LevelWarn:
		return s.Warn
	case LevelCrit:
		return s.Crit
	}
	return s.Text
}
