package common

import (
	"math"
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// Sanitize makes text from the outside (errors, names) safe to draw on one
// line: control characters and escape sequences never reach the terminal.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\r' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// Fit pads or truncates plain or styled text to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// FitMiddle pads or shortens s to exactly w cells, cutting the middle: the
// end of a name (pod hash, member id, host:port) is what tells it apart.
func FitMiddle(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw <= w {
		return s + strings.Repeat(" ", w-sw)
	}
	if w < 4 {
		return ansi.Truncate(s, w, "…")
	}
	// a third for the head, the rest for the tail
	head := (w - 1) / 3
	tail := w - 1 - head
	return ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, sw-tail, "")
}

// FitRight right-aligns s in w cells.
func FitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// Clip truncates s to at most w cells without padding.
func Clip(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the last w values of series scaled to its own maximum.
func Sparkline(series []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(series) > w {
		series = series[len(series)-w:]
	}
	max := 0.0
	for _, v := range series {
		if v > max {
			max = v
		}
	}
	var b strings.Builder
	b.Grow(w * 3)
	for i := 0; i < w-len(series); i++ {
		b.WriteByte(' ')
	}
	for _, v := range series {
		if max <= 0 || math.IsNaN(v) || v <= 0 {
			b.WriteRune(sparkRunes[0])
			continue
		}
		i := int(v / max * float64(len(sparkRunes)-1))
		b.WriteRune(sparkRunes[min(max0(i), len(sparkRunes)-1)])
	}
	return b.String()
}

func max0(i int) int {
	if i < 0 {
		return 0
	}
	return i
}

// Bar draws a utilisation bar of w cells for a fraction 0..1.
func Bar(f float64, w int) string {
	if w <= 0 {
		return ""
	}
	if f < 0 || math.IsNaN(f) {
		f = 0
	}
	if f > 1 {
		f = 1
	}
	n := int(math.Round(f * float64(w)))
	return strings.Repeat("█", n) + strings.Repeat("░", w-n)
}

// Width of styled text in cells.
func Width(s string) int { return ansi.StringWidth(s) }

// Chart draws series as a bar chart of h rows and w columns (latest value on
// the right), with the maximum labelled on the first row by the caller.
func Chart(series []float64, w, h int) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	if len(series) > w {
		series = series[len(series)-w:]
	}
	max := 0.0
	for _, v := range series {
		if v > max {
			max = v
		}
	}
	pad := w - len(series)
	rows := make([]strings.Builder, h)
	for r := range rows {
		rows[r].WriteString(strings.Repeat(" ", pad))
	}
	levels := h * 8
	for _, v := range series {
		n := 0
		if max > 0 && v > 0 && !math.IsNaN(v) {
			n = int(math.Ceil(v / max * float64(levels)))
		}
		for r := 0; r < h; r++ {
			// r=0 is the top row; it covers levels (h-1)*8 .. h*8
			base := (h - 1 - r) * 8
			switch fill := n - base; {
			case fill >= 8:
				rows[r].WriteRune('█')
			case fill <= 0:
				if r == h-1 {
					rows[r].WriteRune('▁')
				} else {
					rows[r].WriteRune(' ')
				}
			default:
				rows[r].WriteRune(sparkRunes[fill-1])
			}
		}
	}
	out := make([]string, h)
	for r := range rows {
		out[r] = rows[r].String()
	}
	return out
}
