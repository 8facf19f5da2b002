package present

import (
	"math"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

// The first rows of each table are the inputs on which the CLI and the
// console used to disagree.
func TestSeconds(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.85, "850ms"}, {95, "1m35s"},
		{-1, "-"}, {math.NaN(), "-"}, {math.Inf(1), "-"}, {0, "0s"}, {0.25, "250ms"}, {0.9996, "1.0s"},
		{4.24, "4.2s"}, {9.96, "10s"}, {12, "12s"}, {59.6, "1m00s"}, {185, "3m05s"},
		{7800, "2h10m"}, {3 * 86400, "3d"},
	} {
		if got := Seconds(c.in); got != c.want {
			t.Errorf("Seconds(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Duration(1500 * time.Millisecond); got != "1.5s" {
		t.Errorf("Duration(1.5s) = %q", got)
	}
}

func TestMillis(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.85, "850ms"}, {0.0004, "0.4ms"}, {0.0123, "12.3ms"}, {0.09996, "100ms"}, {1.2, "1200ms"}, {-1, "-"},
	} {
		if got := Millis(c.in); got != c.want {
			t.Errorf("Millis(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{1536, "1.5KiB"},
		{-1, "-"}, {0, "0B"}, {512, "512B"}, {1023, "1023B"}, {1024, "1.0KiB"}, {1048575, "1.0MiB"},
		{3.2 * 1024 * 1024 * 1024, "3.2GiB"}, {2 * math.Pow(1024, 5), "2.0PiB"},
	} {
		if got := Bytes(c.in); got != c.want {
			t.Errorf("Bytes(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Bytes(int64(1536)); got != "1.5KiB" {
		t.Errorf("Bytes(int64 1536) = %q", got)
	}
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{12345, "12.3k"},
		{0, "0"}, {950, "950"}, {2.5, "2.5"}, {999.96, "1.0k"}, {4_100_000, "4.1M"}, {2e9, "2.0G"}, {-12345, "-12.3k"},
	} {
		if got := Count(c.in); got != c.want {
			t.Errorf("Count(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Count(int64(12345)); got != "12.3k" {
		t.Errorf("Count(int64 12345) = %q", got)
	}
}

func TestRate(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{12345, "12.3k"}, {0, "0"}, {0.04, "0.0"}, {12.5, "12.5"}, {150.3, "150"}, {-1, "-"},
	} {
		if got := Rate(c.in); got != c.want {
			t.Errorf("Rate(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.004, "0.4%"}, {0.013, "1.3%"}, {0.12, "12%"}, {1, "100%"}, {0, "0.0%"}, {math.NaN(), "-"},
	} {
		if got := Percent(c.in); got != c.want {
			t.Errorf("Percent(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{95 * time.Second, "1m"}, {850 * time.Millisecond, "0s"}, {-time.Second, "0s"}, {59 * time.Second, "59s"},
		{3 * time.Hour, "3h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"},
	} {
		if got := Age(c.in); got != c.want {
			t.Errorf("Age(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := AgeSeconds(-1); got != "-" {
		t.Errorf("AgeSeconds(-1) = %q", got)
	}
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	if got := SourceAge(state.Meta{}, now); got != "never" {
		t.Errorf("SourceAge(never fetched) = %q", got)
	}
	if got := SourceAge(state.Meta{FetchedAt: now.Add(-95 * time.Second), Stale: true}, now); got != "1m (stale)" {
		t.Errorf("SourceAge(stale) = %q", got)
	}
}
