package prom

import (
	"context"
	"fmt"
	"sort"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/wotr/wotr-tui/ops/state"
)

// ReadAlerts lists the alerts the server evaluates (firing and pending),
// firing first, then by name and labels, so the overview reads the same
// from one poll to the next.
func (c *Client) ReadAlerts(ctx context.Context) ([]state.Alert, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.API.Alerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("prom: alerts: %w", err)
	}
	out := make([]state.Alert, 0, len(res.Alerts))
	for _, a := range res.Alerts {
		labels := make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			if k != "alertname" {
				labels[string(k)] = string(v)
			}
		}
		out = append(out, state.Alert{
			Name:     string(a.Labels["alertname"]),
			State:    string(a.State),
			Severity: labels["severity"],
			Summary:  string(a.Annotations["summary"]),
			Labels:   labels,
			ActiveAt: a.ActiveAt,
			Value:    a.Value,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := out[i].State == string(v1.AlertStateFiring), out[j].State == string(v1.AlertStateFiring)
		if fi != fj {
			return fi
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return fmt.Sprint(out[i].Labels) < fmt.Sprint(out[j].Labels)
	})
	return out, nil
}
