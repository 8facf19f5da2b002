package present

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// Seconds formats a duration given in seconds (lag, catch-up time, replay
// delay). Unknown (negative, NaN, Inf) is "-". Canonical forms: "0s", "850ms",
// "4.2s" (one decimal under 10 s, where lag thresholds sit), "12s", "1m35s",
// "2h10m", "3d". At most six cells, so it fits the console's narrow columns.
func Seconds(s float64) string {
	switch {
	case s < 0 || math.IsNaN(s) || math.IsInf(s, 0):
		return "-"
	case s == 0:
		return "0s"
	case s < 0.9995:
		return strconv.Itoa(int(math.Round(s*1000))) + "ms"
	case s < 9.95:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	case s < 59.5:
		return strconv.Itoa(int(math.Round(s))) + "s"
	}
	n := int(math.Round(s))
	switch {
	case n < 3600:
		return fmt.Sprintf("%dm%02ds", n/60, n%60)
	case n < 2*86400:
		return fmt.Sprintf("%dh%02dm", n/3600, n%3600/60)
	}
	return strconv.Itoa(n/86400) + "d"
}

// Duration is Seconds of a time.Duration.
func Duration(d time.Duration) string { return Seconds(d.Seconds()) }

// Millis formats a latency given in seconds as milliseconds: "0.4ms",
// "12.3ms" (one decimal under 100 ms), "850ms", "1200ms". Unknown is "-".
func Millis(s float64) string {
	switch {
	case s < 0 || math.IsNaN(s) || math.IsInf(s, 0):
		return "-"
	case s < 0.09995:
		return strconv.FormatFloat(s*1000, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(s*1000, 'f', 0, 64) + "ms"
}

// Bytes formats a size in binary units: "512B", "1.5KiB", "3.2GiB".
// Negative (unknown) is "-".
func Bytes[T ~int | ~int64 | ~float64](n T) string {
	b := float64(n)
	if b < 0 || math.IsNaN(b) {
		return "-"
	}
	if b < 1024 {
		return strconv.FormatFloat(b, 'f', 0, 64) + "B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for b /= 1024; b >= 1023.95 && i < len(units)-1; i++ {
		b /= 1024
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + units[i]
}

// Count formats an amount of things (records, offsets, connections):
// "950", "2.5" (a fractional average), "12.3k", "4.1M", "2.0G".
func Count[T ~int | ~int32 | ~int64 | ~float64](n T) string {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return compact(f, f == math.Trunc(f))
}

// compact writes f with k/M/G suffixes from a thousand; below that an
// integer stays an integer and anything else gets one decimal.
func compact(f float64, integer bool) string {
	a := math.Abs(f)
	switch {
	case a < 999.95 && integer:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case a < 999.95:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case a < 999_950:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	case a < 999_950_000:
		return strconv.FormatFloat(f/1e6, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(f/1e9, 'f', 1, 64) + "G"
}

// Rate formats a per-second figure (requests, records produced): "0",
// "12.5" (one decimal under 100), "150", "12.3k". Unknown is "-".
func Rate(f float64) string {
	switch {
	case f < 0 || math.IsNaN(f) || math.IsInf(f, 0):
		return "-"
	case f == 0:
		return "0"
	case f < 99.95:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return compact(f, true)
}

// Percent formats a fraction: "0.4%" (one decimal under 10 %, where error
// rates sit), "12%", "100%". Unknown is "-".
func Percent(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "-"
	case f < 0.0995:
		return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

// Age formats how long ago something happened, k9s style, in whole units
// (truncated, an age never rounds up): "5s", "3m", "2h" (under two days), "4d".
// Negative ages (clock skew) are "0s".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0).Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// AgeSeconds is Age of an age given in seconds; negative means none ("-").
func AgeSeconds(s float64) string {
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return "-"
	}
	return Age(time.Duration(s * float64(time.Second)))
}

// SourceAge is the age of a polled value; "never" before its first answer,
// "(stale)" when it was kept after a failed poll.
func SourceAge(m state.Meta, now time.Time) string {
	if m.FetchedAt.IsZero() {
		return "never"
	}
	a := Age(m.Age(now))
	if m.Stale {
		return a + " (stale)"
	}
	return a
}

// Verification is a backup's last restore test: "never", "ok 5m ago
// (restore 2.1s)" or "FAIL 5m ago".
func Verification(v *state.BackupVerification, now time.Time) string {
	if v == nil || v.At.IsZero() {
		return "never"
	}
	if !v.OK {
		return "FAIL " + Age(now.Sub(v.At)) + " ago"
	}
	return "ok " + Age(now.Sub(v.At)) + " ago (restore " + Seconds(v.RestoreSeconds) + ")"
}
