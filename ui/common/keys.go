package common

import "github.com/charmbracelet/bubbles/key"

// Keys are the global bindings; views add their own.
type Keys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Enter, Back, Tab                        key.Binding
	Filter, Command, Help, Quit             key.Binding
	Export                                  key.Binding
	SortNext, SortReverse                   key.Binding
	Views                                   key.Binding
}

// DefaultKeys follow k9s and less habits.
func DefaultKeys() *Keys {
	return &Keys{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+f", " "), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Enter:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "drill in")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Tab:         key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next table")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Command:     key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Export:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export to CSV")),
		SortNext:    key.NewBinding(key.WithKeys(">"), key.WithHelp(">/<", "sort column")),
		SortReverse: key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "reverse sort")),
		Views:       key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"), key.WithHelp("1-0", "views")),
	}
}

// SortPrev is the reverse direction of SortNext.
var SortPrev = key.NewBinding(key.WithKeys("<"))

// TableHelp is the navigation help shared by table views.
func (k *Keys) TableHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageDown, k.Top, k.Bottom, k.SortNext, k.SortReverse, k.Filter}
}
