// Package instances is the per-instance load view: requests/s, latency and
// error sparklines, share of load, CPU and memory, with the deployments
// (and their HPA) above. Scale is bound here.
package instances

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/health"
	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
	"github.com/wotr/wotr-tui/ui/components/table"
	"github.com/wotr/wotr-tui/ui/views/base"
)

// ScaleKey scales the deployment of the selected instance.
var ScaleKey = key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "scale deployment"))

const (
	colPod = iota
	colDeploy
	colNode
	colReady
	colRPS
	colRPSSpark
	colP99
	colP99Spark
	colErr
	colErrSpark
	colShare
	colCPU
	colMem
)

// New builds the view.
func New(ctx *common.Context) *base.TableView {
	return base.New(ctx, base.Spec{
		Name: "instances", Title: "Instances", Short: "Inst",
		Aliases: []string{"inst", "pods", "po"},
		Sources: []string{"prom", "kube"},
		Columns: []table.Column{
			{Title: "POD", Width: 12, Flex: true, Ident: true},
			{Title: "DEPLOY", Width: 10, Priority: 5},
			{Title: "NODE", Width: 8, Priority: 6},
			{Title: "RDY", Width: 3, Priority: 2, Status: true},
			{Title: "RPS", Width: 7, Right: true, Numeric: true},
			{Title: "RPS~", Width: 8, Priority: 2, Muted: true},
			{Title: "P99", Width: 7, Right: true, Numeric: true},
			{Title: "P99~", Width: 8, Priority: 4, Muted: true},
			{Title: "ERR%", Width: 6, Right: true, Numeric: true, Status: true},
			{Title: "ERR~", Width: 8, Priority: 4, Muted: true},
			{Title: "SHARE", Width: 6, Right: true, Numeric: true, Priority: 1},
			{Title: "CPU", Width: 9, Right: true, Numeric: true, Priority: 1},
			{Title: "MEM", Width: 8, Right: true, Numeric: true, Priority: 3},
		},
		SortCol: colRPS, Desc: true,
		Empty:   "no instances",
		Rows:    func(d *common.Data) []table.Row { return rows(ctx, d) },
		Summary: summary,
		Open:    open,
		Actions: actions,
	})
}

func rows(ctx *common.Context, d *common.Data) []table.Row {
	out := make([]table.Row, 0, len(d.Snap.Instances))
	for _, in := range d.Snap.Instances {
		rdy := "yes"
		if !in.Ready {
			rdy = "no"
		}
		pod := in.Pod
		hist := d.History
		out = append(out, table.Row{
			Key: pod,
			Cells: []string{
				common.Sanitize(pod), in.Deployment, in.Node, rdy,
				present.Rate(in.RPS), "", present.Millis(in.P99), "", present.Percent(in.ErrorRate), "",
				present.Percent(in.LoadShare), cpu(in), present.Bytes(in.Memory),
			},
			Nums: []float64{
				math.NaN(), math.NaN(), math.NaN(), b2f(in.Ready),
				in.RPS, math.NaN(), in.P99, math.NaN(), in.ErrorRate, math.NaN(),
				in.LoadShare, in.CPU, in.Memory,
			},
			Level: ctx.Health.Instance(in),
			Cell: func(col, w int) string {
				switch col {
				case colRPSSpark:
					return common.Sparkline(hist[common.SeriesRPS(pod)], w)
				case colP99Spark:
					return common.Sparkline(hist[common.SeriesLatency(pod)], w)
				case colErrSpark:
					return common.Sparkline(hist[common.SeriesErrors(pod)], w)
				}
				return ""
			},
		})
	}
	return out
}

func cpu(in state.Instance) string {
	if in.CPULimit > 0 {
		return fmt.Sprintf("%.2f/%.1f", in.CPU, in.CPULimit)
	}
	return fmt.Sprintf("%.2f", in.CPU)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// summary shows one line per deployment with its HPA.
func summary(ctx *common.Context, d *common.Data, w int) []string {
	out := []string{}
	// With a cluster per region each region's Deployments show, by region.
	limit, regional := 3, false
	for _, dep := range d.Snap.Deployments {
		if dep.Region != d.Snap.Deployments[0].Region {
			limit, regional = 6, true
		}
	}
	for i, dep := range d.Snap.Deployments {
		if regional && i < limit {
			out = append(out, ctx.Styles.Muted.Render(" "+common.Sanitize(dep.Region))+deploymentLine(ctx, dep))
			continue
		}
		if i == limit {
			out = append(out, ctx.Styles.Muted.Render(fmt.Sprintf("  … %d more deployments", len(d.Snap.Deployments)-limit)))
			break
		}
		out = append(out, deploymentLine(ctx, dep))
	}
	return out
}

func deploymentLine(ctx *common.Context, dep state.Deployment) string {
	st := ctx.Styles
	s := st.Accent.Render(common.Sanitize(dep.Name)) + " " +
		st.LevelStyle(health.Deployment(dep)).Render(fmt.Sprintf("%d/%d ready", dep.Ready, dep.Desired))
	if h := dep.HPA; h != nil {
		parts := []string{fmt.Sprintf("hpa %d..%d", h.Min, h.Max)}
		for _, m := range h.Metrics {
			cur := m.Current
			if cur == "" {
				cur = "?"
			}
			parts = append(parts, fmt.Sprintf("%s %s/%s", m.Name, cur, m.Target))
		}
		s += st.Muted.Render(" · " + strings.Join(parts, " · "))
	}
	return " " + s
}

func find(d *common.Data, pod string) (state.Instance, bool) {
	for _, in := range d.Snap.Instances {
		if in.Pod == pod {
			return in, true
		}
	}
	return state.Instance{}, false
}

func actions(ctx *common.Context, d *common.Data, pod string) []common.ActionBinding {
	in, ok := find(d, pod)
	if !ok || in.Deployment == "" {
		return nil
	}
	return []common.ActionBinding{ScaleAction(d, in.Deployment)}
}

// ScaleAction scales a deployment; the default is its desired count.
func ScaleAction(d *common.Data, deployment string) common.ActionBinding {
	def := ""
	for _, dep := range d.Snap.Deployments {
		if dep.Name == deployment {
			def = strconv.Itoa(int(dep.Desired))
		}
	}
	return common.ActionBinding{Key: ScaleKey, Kind: action.KindScale, Target: deployment,
		Params: []common.Param{{Name: "replicas", Prompt: "replicas for " + deployment, Default: def}}}
}

func open(ctx *common.Context, d *common.Data, pod string) base.Drill {
	return base.NewTextDrill(ctx, d, pod, func(d *common.Data, w int) []string {
		in, ok := find(d, pod)
		if !ok {
			return []string{ctx.Styles.Warn.Render("instance " + common.Sanitize(pod) + " is gone")}
		}
		sw := max(w-16, 8)
		kv := func(k, v string) string { return base.KV(ctx, k, v) }
		mem := present.Bytes(in.Memory)
		if in.MemLimit > 0 {
			mem += fmt.Sprintf(" of %s limit (%s)", present.Bytes(in.MemLimit), present.Percent(in.Memory/in.MemLimit))
		}
		lines := []string{
			kv("deployment", in.Deployment),
			kv("node / zone", in.Node+" / "+in.Zone),
			kv("address", in.Address),
			kv("ready", fmt.Sprint(in.Ready)),
			kv("requests/s", present.Rate(in.RPS)+"  ("+present.Percent(in.LoadShare)+" of load)"),
			kv("", ctx.Styles.Accent.Render(common.Sparkline(d.History[common.SeriesRPS(pod)], sw))),
			kv("latency", "p50 "+present.Millis(in.P50)+"  p99 "+present.Millis(in.P99)),
			kv("", ctx.Styles.Accent.Render(common.Sparkline(d.History[common.SeriesLatency(pod)], sw))),
			kv("errors", present.Percent(in.ErrorRate)),
			kv("", ctx.Styles.Accent.Render(common.Sparkline(d.History[common.SeriesErrors(pod)], sw))),
			kv("cpu", fmt.Sprintf("%.2f cores (request %.2f, limit %.2f)", in.CPU, in.CPURequest, in.CPULimit)),
			kv("memory", mem),
			kv("source", in.Source+" · "+present.Age(in.Age(ctx.Now))+" old"),
		}
		// Actions on the time axis of the sparklines, under the request rate.
		if span, ok := d.HistorySpans[common.SeriesRPS(pod)]; ok {
			if axis, marked := common.AuditMarks(d.Audit, span, sw); axis != "" {
				marks := []string{kv("actions", ctx.Styles.Warn.Render(axis)), kv("", common.MarkLegend(marked[0], nil))}
				lines = append(lines[:6], append(marks, lines[6:]...)...)
			}
		}
		return lines
	}, func(d *common.Data) []common.ActionBinding { return actions(ctx, d, pod) }).
		WithLogs(func(d *common.Data) (string, string, bool) {
			in, ok := find(d, pod)
			return in.Region, pod, ok
		}).
		WithEvents(func(d *common.Data) (string, string, string, bool) {
			in, ok := find(d, pod)
			return in.Region, "Pod", pod, ok
		})
}
