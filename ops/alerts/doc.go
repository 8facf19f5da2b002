// Package alerts turns the health thresholds (ops/health, with a context's
// overrides) into Prometheus alerting rules, so the pager fires at the same
// points where the console turns a figure yellow or red. It renders a plain
// rules file and a PrometheusRule object of the same groups.
package alerts
