package common

import "testing"

func TestFitMiddleKeepsTheEnd(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"wotr-api-f6c5657b9-x7k2p", 30, "wotr-api-f6c5657b9-x7k2p      "},
		{"wotr-api-f6c5657b9-x7k2p", 24, "wotr-api-f6c5657b9-x7k2p"},
		{"wotr-api-f6c5657b9-x7k2p", 16, "wotr-…57b9-x7k2p"},
		{"replica1 (127.0.0.1:9001)", 13, "repl….1:9001)"},
		{"abcdef", 3, "ab…"},
		{"abc", 0, ""},
	}
	for _, c := range cases {
		got := FitMiddle(c.in, c.w)
		if got != c.want {
			t.Errorf("FitMiddle(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
		if Width(got) != c.w {
			t.Errorf("FitMiddle(%q, %d) is %d cells", c.in, c.w, Width(got))
		}
	}
}
