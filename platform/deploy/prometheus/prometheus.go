// Package prometheus carries the generated alerting rules (ops/alerts from
// the default thresholds): rules.yml for a plain Prometheus, which the local
// platform loads, and prometheusrule.yaml for a cluster with the operator.
package prometheus

import (
	_ "embed"

	"github.com/wotr/wotr-tui/ops/alerts"
	"github.com/wotr/wotr-tui/ops/health"
)

// RulesFile is rules.yml.
//
//go:embed rules.yml
var RulesFile []byte

// PrometheusRule is prometheusrule.yaml.
//
//go:embed prometheusrule.yaml
var PrometheusRule []byte

// RuleName and Namespace of the shipped PrometheusRule.
const (
	RuleName  = "wotr-console-thresholds"
	Namespace = "wotr"
)

// Generate renders both files from thresholds t, the way the committed ones
// are made from the defaults.
func Generate(t health.Thresholds, o alerts.Options) (rules, prometheusRule []byte, err error) {
	groups := alerts.Rules(t, o)
	if rules, err = alerts.RulesFile(groups); err != nil {
		return nil, nil, err
	}
	if prometheusRule, err = alerts.PrometheusRule(groups, RuleName, Namespace); err != nil {
		return nil, nil, err
	}
	return rules, prometheusRule, nil
}
