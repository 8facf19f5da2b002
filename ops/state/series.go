package state

import "time"

// Point of a history series.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// RangeSeries is one series of a range query, with its labels.
type RangeSeries struct {
	Labels map[string]string
	Points []Point
}

// Names of the collector's history series; the console and `get --since`
// read the same ones.
func SeriesRPS(pod string) string        { return "instance/" + pod + "/rps" }
func SeriesLatency(pod string) string    { return "instance/" + pod + "/p99" }
func SeriesErrors(pod string) string     { return "instance/" + pod + "/errors" }
func SeriesGroupLag(group string) string { return "group/" + group + "/lag" }

// SeriesTotalRPS is the sum over instances.
const SeriesTotalRPS = "total/rps"

// SeriesOf lists the series of kind ("instances", "lag" or "status") in s;
// nil for kinds without history.
func SeriesOf(kind string, s Snapshot) []string {
	var out []string
	if kind == "instances" || kind == "status" {
		for _, in := range s.Instances {
			out = append(out, SeriesRPS(in.Pod), SeriesLatency(in.Pod), SeriesErrors(in.Pod))
		}
	}
	if kind == "lag" || kind == "status" {
		for _, g := range s.Kafka.Groups {
			out = append(out, SeriesGroupLag(g.Name))
		}
	}
	return out
}
