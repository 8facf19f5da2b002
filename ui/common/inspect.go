package common

import (
	"context"
	"io"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/inspect"
)

// Inspector reads pod logs, events and Deployments (ops/inspect.Service);
// nil in Context when the console has no cluster to read them from.
type Inspector interface {
	Logs(ctx context.Context, region, pod string, o inspect.LogOptions) (io.ReadCloser, error)
	Events(ctx context.Context, region, kind, name string) ([]inspect.Event, error)
	Deployment(ctx context.Context, region, name string) (inspect.Deployment, error)
}

// RoutedMsg is a message for one view, delivered whether or not it is shown
// (a log stream's lines reach its view after the operator moved away).
type RoutedMsg interface{ ViewName() string }

// Keys of the log view and of the drill-ins that open it.
var (
	LogsKey       = key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "logs"))
	LogFollow     = key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow"))
	LogPrevious   = key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous container"))
	LogTimestamps = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "timestamps"))
	LogWrap       = key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap"))
)
