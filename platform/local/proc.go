package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procGroup tracks every OS process the platform started so that Stop can
// guarantee none outlives it.
type procGroup struct {
	mu    sync.Mutex
	procs map[int]*Process
}

func newProcGroup() *procGroup { return &procGroup{procs: map[int]*Process{}} }

// Process is one started OS process with its log file.
type Process struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	err     error
	group   *procGroup
}

// ProcSpec describes a process to start.
type ProcSpec struct {
	Name string
	Path string
	Args []string
	Env  []string // appended to os.Environ()
	Dir  string
	// LogPath receives stdout and stderr; default <platform dir>/<name>.log.
	LogPath string
	// AsUser runs the process under this account (PostgreSQL refuses root).
	AsUser string
}

// startProcess starts a process in its own process group with a parent-death
// signal, so that even a crashed test binary leaves nothing behind.
func (p *Platform) startProcess(spec ProcSpec) (*Process, error) {
	if spec.LogPath == "" {
		spec.LogPath = filepath.Join(p.Dir, spec.Name+".log")
	}
	logf, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if spec.AsUser != "" {
		uid, gid, err := lookupUser(spec.AsUser)
		if err != nil {
			logf.Close()
			return nil, err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Path, err)
	}
	proc := &Process{Name: spec.Name, Cmd: cmd, LogPath: spec.LogPath, done: make(chan struct{}), group: p.procs}
	p.procs.add(proc)
	go func() {
		proc.err = cmd.Wait()
		logf.Close()
		p.procs.remove(proc)
		close(proc.done)
	}()
	return proc, nil
}

// Exited is closed when the process has exited.
func (pr *Process) Exited() <-chan struct{} { return pr.done }

// Alive reports whether the process is still running.
func (pr *Process) Alive() bool {
	select {
	case <-pr.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the process group and waits up to grace, then SIGKILLs.
func (pr *Process) Stop(grace time.Duration) error {
	return pr.Signal(syscall.SIGTERM, grace)
}

// Signal sends sig to the process group, waiting up to grace for exit before SIGKILL.
func (pr *Process) Signal(sig syscall.Signal, grace time.Duration) error {
	if !pr.Alive() {
		return nil
	}
	_ = syscall.Kill(-pr.Cmd.Process.Pid, sig)
	select {
	case <-pr.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pr.Cmd.Process.Pid, syscall.SIGKILL)
	<-pr.done
	return fmt.Errorf("%s did not exit within %s of %s; killed", pr.Name, grace, sig)
}

// LogTail returns the last n lines of the process log, for error messages.
func (pr *Process) LogTail(n int) string { return logTail(pr.LogPath, n) }

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (g *procGroup) add(p *Process) {
	g.mu.Lock()
	g.procs[p.Cmd.Process.Pid] = p
	g.mu.Unlock()
}

func (g *procGroup) remove(p *Process) {
	g.mu.Lock()
	delete(g.procs, p.Cmd.Process.Pid)
	g.mu.Unlock()
}

func (g *procGroup) pids() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int
	for pid := range g.procs {
		out = append(out, pid)
	}
	return out
}

// killAll SIGKILLs every tracked process group that is still alive and waits for it.
func (g *procGroup) killAll() error {
	g.mu.Lock()
	var left []*Process
	for _, p := range g.procs {
		left = append(left, p)
	}
	g.mu.Unlock()
	var names []string
	for _, p := range left {
		names = append(names, p.Name)
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	if len(names) > 0 {
		return fmt.Errorf("killed processes that survived their stop: %s", strings.Join(names, ", "))
	}
	return nil
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

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitFor polls check until it returns nil, the context ends, or proc (if
// non-nil) exits. Polling with a deadline, never a fixed sleep.
func WaitFor(ctx context.Context, what string, proc *Process, check func(context.Context) error) error {
	tick := 25 * time.Millisecond
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		var exited <-chan struct{}
		if proc != nil {
			exited = proc.done
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
			if proc != nil {
				msg += "\n--- " + proc.LogPath + " ---\n" + proc.LogTail(30)
			}
			return errors.New(msg)
		case <-exited:
			return fmt.Errorf("%s exited before ready (%v)\n--- %s ---\n%s", proc.Name, proc.err, proc.LogPath, proc.LogTail(30))
		case <-time.After(tick):
		}
		if tick < 250*time.Millisecond {
			tick *= 2
		}
	}
}

// dialCheck succeeds once addr accepts TCP connections.
func dialCheck(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
