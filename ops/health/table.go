package health

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Unit of a threshold's values, which decides how an override is written.
type Unit int

const (
	Seconds  Unit = iota // a Go duration ("5s", "1m30s") or a number of seconds
	Fraction             // a number in 0..1 or a percentage ("80%")
)

// Key names one row of the table, as written under a context's thresholds:.
type Key struct {
	Name string
	Unit Unit
	Help string
	get  func(*Thresholds) *Bound
}

// Keys of the table in display order.
var Keys = []Key{
	{"replication-lag", Seconds, "replica behind its primary (postgres, clickhouse, redis)", func(t *Thresholds) *Bound { return &t.ReplicationLag }},
	{"error-rate", Fraction, "share of API requests answered 5xx", func(t *Thresholds) *Bound { return &t.ErrorRate }},
	{"pool-utilization", Fraction, "connection pool or server limit in use", func(t *Thresholds) *Bound { return &t.PoolUtilization }},
	{"latency-p99", Seconds, "p99 request latency of an API instance", func(t *Thresholds) *Bound { return &t.LatencyP99 }},
	{"consumer-lag", Seconds, "consumer group behind, at its processing rate", func(t *Thresholds) *Bound { return &t.ConsumerLag }},
}

// KeyNames lists the keys, sorted, for error messages.
func KeyNames() []string {
	out := make([]string, 0, len(Keys))
	for _, k := range Keys {
		out = append(out, k.Name)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a key by name.
func Lookup(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Get is the bound of k in t.
func (t Thresholds) Get(k Key) Bound { return *k.get(&t) }

// ParseValue reads one threshold value of unit u; it names the rule broken.
func ParseValue(u Unit, s string) (float64, error) {
	s = strings.TrimSpace(s)
	var v float64
	switch u {
	case Seconds:
		if d, err := time.ParseDuration(s); err == nil {
			v = d.Seconds()
		} else if f, err := strconv.ParseFloat(s, 64); err == nil {
			v = f
		} else {
			return 0, fmt.Errorf("%q is not a duration (like 5s, 1m30s) or a number of seconds", s)
		}
	case Fraction:
		pct := strings.HasSuffix(s, "%")
		f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a fraction (like 0.8) or a percentage (like 80%%)", s)
		}
		if pct {
			f /= 100
		}
		if f > 1 {
			return 0, fmt.Errorf("%q is more than 100%%", s)
		}
		v = f
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return v, nil
}

// Override sets key's warn and/or crit (empty keeps the current value) and
// checks that warn does not exceed crit. t is unchanged on error.
func (t *Thresholds) Override(name, warn, crit string) error {
	k, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("unknown threshold %q (known: %s)", name, strings.Join(KeyNames(), ", "))
	}
	b := *k.get(t)
	if warn != "" {
		v, err := ParseValue(k.Unit, warn)
		if err != nil {
			return fmt.Errorf("warn: %w", err)
		}
		b.Warn = v
	}
	if crit != "" {
		v, err := ParseValue(k.Unit, crit)
		if err != nil {
			return fmt.Errorf("crit: %w", err)
		}
		b.Crit = v
	}
	if b.Warn > b.Crit {
		return fmt.Errorf("warn %s is above crit %s; warn must not exceed crit", FormatValue(k.Unit, b.Warn), FormatValue(k.Unit, b.Crit))
	}
	*k.get(t) = b
	return nil
}

// FormatValue writes a value the way an override would.
func FormatValue(u Unit, v float64) string {
	if u == Seconds {
		return time.Duration(v * float64(time.Second)).String()
	}
	return strconv.FormatFloat(v*100, 'g', -1, 64) + "%"
}
