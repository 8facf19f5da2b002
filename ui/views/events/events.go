// Package events is `:events`: the namespace's Kubernetes events of every
// region, newest first, re-read with each snapshot while shown.
package events

import (
	"context"
	"fmt"
	"math"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/inspect"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// Name of the view in command mode.
const Name = "events"

// View is the events table; it has no tab (command mode only).
type View struct {
	*base.TableView
	ctx    *common.Context
	events []inspect.Event
	err    string
	read   bool
	last   time.Time
}

// LoadMsg asks the view to re-read the events (sent with each snapshot);
// it reads at most every 5 s.
type LoadMsg struct{}

func (LoadMsg) ViewName() string { return Name }

type loadedMsg struct {
	events []inspect.Event
	err    error
}

func (loadedMsg) ViewName() string { return Name }

// New builds the view.
func New(ctx *common.Context) *View {
	v := &View{ctx: ctx}
	v.TableView = base.New(ctx, base.Spec{
		Name: Name, Title: "Events", Short: "Evt", Aliases: []string{"ev", "event"},
		Sources: []string{"kube"},
		Columns: []table.Column{
			{Title: "LAST", Width: 6, Numeric: true},
			{Title: "TYPE", Width: 7, Status: true},
			{Title: "REASON", Width: 16},
			{Title: "OBJECT", Width: 28, Priority: 1},
			{Title: "COUNT", Width: 5, Numeric: true, Priority: 2},
			{Title: "REGION", Width: 9, Priority: 3},
			{Title: "MESSAGE", Width: 20, Flex: true},
		},
		SortCol: 0,
		Empty:   "no events",
		EmptyMessage: func(*common.Data) string {
			switch {
			case ctx.Inspect == nil:
				return "no cluster configured: no events"
			case v.err != "" && len(v.events) == 0:
				return "events unavailable: " + common.Sanitize(v.err)
			case !v.read:
				return "reading events…"
			}
			return ""
		},
		Rows: func(*common.Data) []table.Row { return v.rows() },
	})
	return v
}

// Hidden: the view has no tab.
func (v *View) Hidden() bool { return true }

func (v *View) rows() []table.Row {
	out := make([]table.Row, 0, len(v.events))
	for i, e := range v.events {
		lvl := common.LevelOK
		if e.Type == "Warning" {
			lvl = common.LevelWarn
		}
		age := v.ctx.Now.Sub(e.Last)
		out = append(out, table.Row{
			Key: fmt.Sprintf("%d/%s/%s/%s", i, e.Region, e.Kind, e.Name),
			Cells: []string{present.Age(age), e.Type, common.Sanitize(e.Reason), common.Sanitize(e.Kind + "/" + e.Name),
				fmt.Sprint(e.Count), common.Sanitize(e.Region), common.Sanitize(e.Message)},
			Nums:  []float64{age.Seconds(), math.NaN(), math.NaN(), math.NaN(), float64(e.Count), math.NaN(), math.NaN()},
			Level: lvl,
		})
	}
	return out
}

// Update reads the events on LoadMsg and takes their answer.
func (v *View) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case LoadMsg:
		in := v.ctx.Inspect
		if in == nil || (!v.last.IsZero() && time.Since(v.last) < 5*time.Second) {
			return v, nil
		}
		v.last = time.Now()
		return v, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			evs, err := in.Events(ctx, "", "", "")
			return loadedMsg{events: evs, err: err}
		}
	case loadedMsg:
		v.events, v.read, v.err = msg.events, true, ""
		if msg.err != nil {
			v.err = msg.err.Error()
		}
		v.SetData(v.Data())
		return v, nil
	}
	_, cmd := v.TableView.Update(msg)
	return v, cmd
}
