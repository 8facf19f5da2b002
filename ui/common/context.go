package common

import (
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
)

// Context is shared by pointer between the root and every view.
type Context struct {
	Width, Height int
	Theme         Theme
	Styles        Styles
	Keys          *Keys
	ReadOnly      bool
	ContextName   string
	// HeaderColor is the context's header background (config header-color).
	HeaderColor string
	// Inspect reads pod logs and events; nil without a cluster.
	Inspect Inspector
	// Runner runs runbooks step by step; nil when no engine is configured.
	Runner RunbookRunner
	// Health is the context's thresholds table (ops/health), which judges
	// every coloured figure and is listed in the help.
	Health health.Thresholds
	// Now is the clock of the last tick; data ages are computed against it so
	// golden screens stay fixed.
	Now time.Time
}

// NewContext builds a context with the default keys and the given theme.
func NewContext(theme Theme) *Context {
	return &Context{Theme: theme, Styles: NewStyles(theme), Keys: DefaultKeys(), Health: health.Defaults()}
}

// Component is the contract of every part of the screen.
type Component interface {
	tea.Model
	help.KeyMap
	SetSize(width, height int)
}

// Param is a value the operator types before an action is planned.
type Param struct {
	Name    string
	Prompt  string
	Default string
	// AsTarget: the input is the action's target (the store to back up),
	// not one of its parameters.
	AsTarget bool
	// Choices: the input picks one parameter by name, "NAME" (a bool set to
	// true) or "NAME VALUE" (an offset reset's mode: "shift-by -100").
	Choices []string
}

// ActionBinding binds a key of a view to an ops action on the selected row.
type ActionBinding struct {
	Key    key.Binding
	Kind   action.Kind
	Target string
	Params []Param
}

// View is one screen of the console.
type View interface {
	Component
	// Name is the command-mode name (":nodes"); Title is shown in the tabs.
	Name() string
	Title() string
	Short() string
	// Aliases accepted in command mode besides the name.
	Aliases() []string
	SetData(d *Data)
	SetFilter(q string)
	// Back leaves a drill-in; false when there was nothing to leave.
	Back() bool
	// Actions available on the current selection (nil when none).
	Actions() []ActionBinding
	// Sources are the Meta.Source prefixes whose staleness badges this view.
	Sources() []string
}

// LetterOwner is a view that, in its current state, binds letters the root
// binds globally (a pod log: w wraps there, it does not cycle the window).
type LetterOwner interface{ OwnsLetters() bool }

// SwitchViewMsg asks the root to show a view by name.
type SwitchViewMsg struct{ Name string }
