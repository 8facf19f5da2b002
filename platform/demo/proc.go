package demo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// proc is one supervised OS process. It runs in its own process group with a
// parent-death signal, so that a crashed supervisor leaves nothing behind.
type proc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// spawnRequests are served by one goroutine locked to its OS thread: the
// parent-death signal fires when the creating thread exits, and a locked thread
// that never returns never exits while the supervisor lives.
type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

var spawnCh = make(chan spawnRequest)

func init() {
	go func() {
		runtime.LockOSThread()
		for req := range spawnCh {
			req.reply <- req.cmd.Start()
		}
	}()
}

func startProc(path string, args, env []string, logPath string) (*proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cri := &criLog{w: logf, now: time.Now}
	stdout, stderr := cri.stream("stdout"), cri.stream("stderr")
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	reply := make(chan error, 1)
	spawnCh <- spawnRequest{cmd: cmd, reply: reply}
	if err := <-reply; err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &proc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = stdout.flush()
		_ = stderr.flush()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the drain,
// then SIGKILLs. It reports whether the process had to be killed.
func (p *proc) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("pid %d did not drain within %s of SIGTERM; killed", p.pid(), grace)
}

// exitErr describes how the process ended, for logs.
func (p *proc) exitErr() error {
	if p.err == nil {
		return errors.New("exited with status 0")
	}
	return p.err
}
