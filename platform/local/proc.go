package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	// logStart is the log's size when the process started: earlier runs
	// appended above it, and their messages are not this run's.
	logStart int64
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
	var logStart int64
	if fi, err := logf.Stat(); err == nil {
		logStart = fi.Size()
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
	proc := &Process{Name: spec.Name, Cmd: cmd, LogPath: spec.LogPath, done: make(chan struct{}), group: p.procs, logStart: logStart}
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

// freePorts returns n distinct free ports. They are free only until someone
// else binds them: see retryOnPortClash.
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
			err := fmt.Errorf("%s exited before ready (%v)\n--- %s ---\n%s", proc.Name, proc.err, proc.LogPath, proc.LogTail(30))
			if proc.logMentionsPortClash() {
				err = fmt.Errorf("%w: %w", ErrPortTaken, err)
			}
			return err
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

// ErrPortTaken marks a start that failed because a port picked for it was
// bound by another process first.
var ErrPortTaken = errors.New("port taken by another process")

// portPicker picks n distinct free loopback ports for a component. Tests
// replace it to hand a component a port that is already held.
var portPicker = func(component string, n int) ([]int, error) { return freePorts(n) }

// portAttempts bounds the boots of one component on fresh ports.
const portAttempts = 3

// isPortClash reports whether err comes from a port taken before our process
// bound it: marked by WaitFor, an in-process bind, or the server's message
// in a log tail the error carries (every server here says "address already
// in use", whatever its capitals).
func isPortClash(err error) bool {
	return errors.Is(err, ErrPortTaken) || errors.Is(err, syscall.EADDRINUSE) ||
		(err != nil && strings.Contains(strings.ToLower(err.Error()), "address already in use"))
}

// retryOnPortClash runs boot, which picks its ports with portPicker and
// waits for its processes to be ready. Ports are free only until someone
// binds them, and other platforms start beside this one (tests of several
// packages run at once), so a boot that fails on a port clash is undone
// (its processes stopped) and run again on fresh ports, up to portAttempts.
// attempt counts from 1, for a fresh data dir per boot.
func (p *Platform) retryOnPortClash(ctx context.Context, component string, boot func(attempt int) error, undo func() error) error {
	for attempt := 1; ; attempt++ {
		err := boot(attempt)
		if err == nil || attempt == portAttempts || ctx.Err() != nil || !isPortClash(err) {
			return err
		}
		p.log.Warn("port taken before the process bound it; starting again on new ports",
			"component", component, "attempt", attempt, "err", strings.SplitN(err.Error(), "\n", 2)[0])
		p.mu.Lock()
		p.PortRetries[component]++
		p.mu.Unlock()
		if undo != nil {
			if uerr := undo(); uerr != nil {
				return fmt.Errorf("%w (undoing the boot after a port clash: %v)", err, uerr)
			}
		}
	}
}

// startOnFreshPorts starts one process on nports ports picked just before,
// and waits until it is ready and is itself listening on them, again on new
// ports after a clash (retryOnPortClash).
func (p *Platform) startOnFreshPorts(ctx context.Context, component, what string, nports int,
	start func(attempt int, ports []int) (*Process, error), ready func(context.Context) error) (*Process, []int, error) {
	var (
		proc  *Process
		ports []int
	)
	err := p.retryOnPortClash(ctx, component, func(attempt int) error {
		var err error
		if ports, err = portPicker(component, nports); err != nil {
			return err
		}
		if proc, err = start(attempt, ports); err != nil {
			return err
		}
		return WaitFor(ctx, what, proc, listening(proc, ports, ready))
	}, func() error {
		if proc == nil {
			return nil
		}
		return proc.Stop(5 * time.Second)
	})
	return proc, ports, err
}

// listening wraps a readiness check: ready also means proc itself listens
// on every port. Without this, a server that lost its port to another
// server of the same kind would pass the check through the other one.
func listening(proc *Process, ports []int, check func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if check != nil {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return listensOn(proc.Cmd.Process.Pid, ports)
	}
}

// listensOn checks that pid holds a listening TCP socket on each port
// (from /proc/net/tcp{,6} and the process's fds).
func listensOn(pid int, ports []int) error {
	inodes := map[int]map[string]bool{} // port -> listening socket inodes
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			port, err := strconv.ParseInt(fs[1][i+1:], 16, 32)
			if err != nil {
				continue
			}
			if inodes[int(port)] == nil {
				inodes[int(port)] = map[string]bool{}
			}
			inodes[int(port)]["socket:["+fs[9]+"]"] = true
		}
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	owned := map[string]bool{}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			owned[target] = true
		}
	}
	for _, port := range ports {
		mine := false
		for ino := range inodes[port] {
			mine = mine || owned[ino]
		}
		if !mine {
			if len(inodes[port]) > 0 {
				return fmt.Errorf("port %d: listened on by another process, not pid %d", port, pid)
			}
			return fmt.Errorf("port %d: pid %d not listening yet", port, pid)
		}
	}
	return nil
}

// logMentionsPortClash reports whether this run of the process logged a
// failed bind.
func (pr *Process) logMentionsPortClash() bool {
	f, err := os.Open(pr.LogPath)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(pr.logStart, io.SeekStart); err != nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	return err == nil && strings.Contains(strings.ToLower(string(b)), "address already in use")
}
