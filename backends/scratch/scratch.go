// Package scratch runs throwaway servers (a PostgreSQL, a clickhouse-server,
// a redis-server) that a backup is restored into to prove it restores. Each
// lives in its own temporary directory on a free loopback port and is stopped
// and removed by Close.
package scratch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is one scratch process and its directory.
type Server struct {
	Dir  string
	Port int
	Log  string

	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Owner is the OS account a server runs as; zero runs as ourselves.
type Owner struct {
	UID, GID uint32
	Set      bool
}

// OwnerFor looks up name when we are root (PostgreSQL refuses to run as
// root); otherwise the server runs as ourselves.
func OwnerFor(name string) (Owner, error) {
	if os.Geteuid() != 0 {
		return Owner{}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Owner{}, fmt.Errorf("user %s (a server cannot run as root): %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return Owner{UID: uint32(uid), GID: uint32(gid), Set: true}, nil
}

// Chown gives the tree under path to o (no-op for the zero Owner).
func (o Owner) Chown(path string) error {
	if !o.Set {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(o.UID), int(o.GID))
	})
}

// NewDir makes an empty scratch directory owned by o, under base when given
// (a big disk for big restores) or the system temp dir.
func NewDir(base, prefix string, o Owner) (string, error) {
	if base != "" {
		if err := os.MkdirAll(base, 0o711); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", err
	}
	return dir, o.Chown(dir)
}

// Start runs bin with args in dir as o, its output in dir/<name>.log.
func Start(dir string, port int, o Owner, name, bin string, args ...string) (*Server, error) {
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if o.Set {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: o.UID, Gid: o.GID}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Dir: dir, Port: port, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// WaitReady polls check until it succeeds, the server exits or ctx ends;
// the error then carries the end of the server's log.
func (s *Server) WaitReady(ctx context.Context, what string, check func(context.Context) error) error {
	tick := 20 * time.Millisecond
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		t := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last: %v)\n--- %s ---\n%s", what, ctx.Err(), last, s.Log, s.LogTail(15))
		case <-s.exited:
			t.Stop()
			return fmt.Errorf("%s: server exited (%v) (last: %v)\n--- %s ---\n%s", what, s.err, last, s.Log, s.LogTail(15))
		case <-t.C:
		}
		if tick < 200*time.Millisecond {
			tick *= 2
		}
	}
}

// LogTail is the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, _ := os.ReadFile(s.Log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop sends sig to the server's process group and kills it after grace.
func (s *Server) Stop(sig syscall.Signal, grace time.Duration) error {
	if s == nil || s.cmd == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.exited:
		return nil
	case <-t.C:
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("%s did not stop within %s of %s; killed", filepath.Base(s.cmd.Path), grace, sig)
	}
}

// Exited is closed when the process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Remove stops the server and deletes its directory.
func (s *Server) Remove(sig syscall.Signal) error {
	err := s.Stop(sig, 20*time.Second)
	return errors.Join(err, os.RemoveAll(s.Dir))
}
