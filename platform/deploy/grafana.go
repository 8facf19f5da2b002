package deploy

import (
	"encoding/json"
	"fmt"
)

// DashboardFile is the Grafana dashboard in Files.
const DashboardFile = "grafana/wotr.json"

// DashboardQuery is one query of a dashboard panel.
type DashboardQuery struct {
	Panel string
	RefID string
	Expr  string
}

// DashboardQueries lists every panel's queries, in panel order.
func DashboardQueries() ([]DashboardQuery, error) {
	b, err := Files.ReadFile(DashboardFile)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardFile, err)
	}
	var out []DashboardQuery
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("%s: panel %q has no query", DashboardFile, p.Title)
		}
		for _, t := range p.Targets {
			out = append(out, DashboardQuery{Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
		}
	}
	return out, nil
}
