package demo

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// criLog writes a process's output in the container runtime's log format
// ("<RFC3339Nano> <stream> F <line>"), the format the pod log endpoint
// reads, so `kubectl logs` and the console serve the real output of a pod's
// process. stdout and stderr share one file; each line is written whole.
type criLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// stream returns the writer for one stream ("stdout" or "stderr").
func (l *criLog) stream(name string) *criStream { return &criStream{log: l, name: name} }

type criStream struct {
	log     *criLog
	name    string
	partial []byte
}

// Write emits every complete line; a line without its newline waits for the
// rest (a process writes a line in pieces), up to 16 KiB.
func (s *criStream) Write(p []byte) (int, error) {
	n := len(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		if err := s.emit(s.partial[:i], "F"); err != nil {
			return 0, err
		}
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 16<<10 {
		if err := s.emit(s.partial, "P"); err != nil {
			return 0, err
		}
		s.partial = nil
	}
	if len(s.partial) == 0 {
		s.partial = nil
	}
	return n, nil
}

func (s *criStream) emit(line []byte, tag string) error {
	l := s.log
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := make([]byte, 0, len(line)+48)
	buf = l.now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, s.name...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, line...)
	buf = append(buf, '\n')
	_, err := l.w.Write(buf)
	return err
}

// flush writes what is left without its newline (the process ended).
func (s *criStream) flush() error {
	if len(s.partial) == 0 {
		return nil
	}
	err := s.emit(s.partial, "F")
	s.partial = nil
	return err
}
