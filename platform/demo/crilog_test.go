package demo

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Lines written in pieces come out whole, each stream tagged, in the
// container log format the pod log endpoint parses.
func TestCRILogFraming(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	l := &criLog{w: &buf, now: func() time.Time { return at }}
	out, errs := l.stream("stdout"), l.stream("stderr")
	_, _ = out.Write([]byte("hel"))
	_, _ = errs.Write([]byte("boom\n"))
	_, _ = out.Write([]byte("lo\nsecond\nunfinished"))
	_ = out.flush()
	want := "2026-01-02T03:04:05.000000006Z stderr F boom\n" +
		"2026-01-02T03:04:05.000000006Z stdout F hello\n" +
		"2026-01-02T03:04:05.000000006Z stdout F second\n" +
		"2026-01-02T03:04:05.000000006Z stdout F unfinished\n"
	if buf.String() != want {
		t.Fatalf("framed:\n%s\nwant:\n%s", buf.String(), want)
	}
	// a line longer than the buffer bound is written as a partial line
	buf.Reset()
	_, _ = out.Write([]byte(strings.Repeat("x", 17<<10)))
	if !strings.Contains(buf.String(), " stdout P ") {
		t.Fatalf("over-long line not written as partial: %d bytes", buf.Len())
	}
}
