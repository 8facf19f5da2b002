package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FaultMode is what a Proxy does to the traffic through it.
type FaultMode string

const (
	// FaultNone forwards traffic unchanged.
	FaultNone FaultMode = "none"
	// FaultLatency delays every chunk by Fault.Latency, in each direction.
	FaultLatency FaultMode = "latency"
	// FaultBlackhole accepts connections and never forwards a byte, the way a
	// network partition looks: clients see timeouts, not errors.
	FaultBlackhole FaultMode = "blackhole"
	// FaultReset resets (RST) every open and every new connection.
	FaultReset FaultMode = "reset"
	// FaultBandwidth limits each direction of each connection to
	// Fault.BytesPerSec.
	FaultBandwidth FaultMode = "bandwidth"
)

// Fault is a proxy's setting; the zero value (or Mode FaultNone) forwards.
type Fault struct {
	Mode        FaultMode     `json:"mode"`
	Latency     time.Duration `json:"latency,omitempty"`
	BytesPerSec int           `json:"bytes_per_sec,omitempty"`
}

// Validate names the field and rule a bad fault breaks.
func (f Fault) Validate() error {
	switch f.Mode {
	case "", FaultNone, FaultBlackhole, FaultReset:
	case FaultLatency:
		if f.Latency <= 0 || f.Latency > 10*time.Minute {
			return fmt.Errorf("latency %s: must be above 0 and at most 10m", f.Latency)
		}
	case FaultBandwidth:
		if f.BytesPerSec < 1 {
			return fmt.Errorf("bytes_per_sec %d: must be at least 1", f.BytesPerSec)
		}
	default:
		return fmt.Errorf("fault mode %q: must be one of none, latency, blackhole, reset, bandwidth", f.Mode)
	}
	return nil
}

func (f Fault) String() string {
	switch f.Mode {
	case FaultLatency:
		return fmt.Sprintf("latency %s", f.Latency)
	case FaultBandwidth:
		return fmt.Sprintf("bandwidth %d B/s", f.BytesPerSec)
	case "":
		return string(FaultNone)
	}
	return string(f.Mode)
}

// Proxy is a TCP proxy in front of one component whose fault can be
// switched while connections are open.
type Proxy struct {
	Name string

	ln net.Listener

	mu      sync.Mutex
	target  string
	fault   Fault
	changed chan struct{} // closed and replaced on every Set
	conns   map[*proxyConn]bool
	closed  bool
	wg      sync.WaitGroup
}

type proxyConn struct {
	client, upstream net.Conn
	once             sync.Once
}

// close resets both sides: SO_LINGER 0 makes Close send RST, not FIN.
func (pc *proxyConn) close() {
	pc.once.Do(func() {
		for _, c := range []net.Conn{pc.client, pc.upstream} {
			if c == nil {
				continue
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
	})
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(name, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return newProxyOn(name, target, ln), nil
}

func newProxyOn(name, target string, ln net.Listener) *Proxy {
	p := &Proxy{Name: name, ln: ln, target: target, fault: Fault{Mode: FaultNone}, changed: make(chan struct{}), conns: map[*proxyConn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

// Addr is the host:port clients use instead of the component's own.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target
}

// SetTarget points new connections elsewhere (a component restarted on a
// new port); open ones keep their upstream.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Fault is the setting in force.
func (p *Proxy) Fault() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

// Set switches the fault. Reset resets every open connection; leaving
// blackhole resets the connections it held, as a long partition would.
func (p *Proxy) Set(f Fault) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("proxy %s: %w", p.Name, err)
	}
	if f.Mode == "" {
		f.Mode = FaultNone
	}
	p.mu.Lock()
	prev := p.fault
	p.fault = f
	close(p.changed)
	p.changed = make(chan struct{})
	var kill []*proxyConn
	if f.Mode == FaultReset || (prev.Mode == FaultBlackhole && f.Mode != FaultBlackhole) {
		for c := range p.conns {
			kill = append(kill, c)
		}
	}
	p.mu.Unlock()
	for _, c := range kill {
		c.close()
	}
	return nil
}

// Clear forwards unchanged again.
func (p *Proxy) Clear() error { return p.Set(Fault{Mode: FaultNone}) }

// Conns is the number of connections open through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops listening and resets every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.changed) // wakes every held connection
	p.changed = make(chan struct{})
	var all []*proxyConn
	for c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range all {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) state() (Fault, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault, p.changed
}

func (p *Proxy) track(pc *proxyConn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		if p.closed {
			return false
		}
		p.conns[pc] = true
	} else {
		delete(p.conns, pc)
	}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *Proxy) serve(c net.Conn) {
	pc := &proxyConn{client: c}
	if !p.track(pc, true) {
		pc.close()
		return
	}
	defer p.track(pc, false)
	defer pc.close()
	f, changed := p.state()
	switch f.Mode {
	case FaultReset:
		return
	case FaultBlackhole:
		// Hold the connection, read and drop, until the fault changes.
		go func() { _, _ = io.Copy(io.Discard, c) }()
		<-changed
		return
	}
	up, err := net.DialTimeout("tcp", p.Target(), 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	pc.upstream = up
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
}

type chunk struct {
	at   time.Time
	data []byte
}

// pipe copies src to dst, applying the fault in force to each chunk: a
// reader stamps chunks, a writer delays, paces or holds them.
func (p *Proxy) pipe(dst, src net.Conn) {
	ch := make(chan chunk, 64)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{at: time.Now(), data: buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		// Unblock the reader and let the other direction end too.
		_ = src.Close()
		_ = dst.Close()
		for range ch {
		}
	}()
	for c := range ch {
		for {
			f, changed := p.state()
			switch f.Mode {
			case FaultBlackhole:
				<-changed
				continue
			case FaultReset:
				return
			case FaultLatency:
				if d := time.Until(c.at.Add(f.Latency)); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-changed:
						t.Stop()
						continue
					}
				}
			case FaultBandwidth:
				if err := writePaced(dst, c.data, f.BytesPerSec, changed); err != nil {
					return
				}
				c.data = nil
			}
			break
		}
		if len(c.data) > 0 {
			if _, err := dst.Write(c.data); err != nil {
				return
			}
		}
	}
}

// writePaced writes b at most bps bytes per second, in slices of a tenth
// of a second's worth; a fault change lets the rest go unpaced.
func writePaced(dst net.Conn, b []byte, bps int, changed chan struct{}) error {
	slice := max(bps/10, 1)
	start := time.Now()
	sent := 0
	for len(b) > 0 {
		n := min(slice, len(b))
		if _, err := dst.Write(b[:n]); err != nil {
			return err
		}
		b, sent = b[n:], sent+n
		due := start.Add(time.Duration(float64(sent) / float64(bps) * float64(time.Second)))
		if d := time.Until(due); d > 0 && len(b) > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-changed:
				t.Stop()
				_, err := dst.Write(b)
				return err
			}
		}
	}
	return nil
}

// Faults holds the proxies of a platform started with Options.Faults, by
// name: redis-primary, redis-replica, postgres-primary, postgres-standby,
// kafka-0..n, clickhouse-<shard>-<replica>, plus any added with Add.
type Faults struct {
	mu      sync.Mutex
	proxies map[string]*Proxy
}

func newFaults() *Faults { return &Faults{proxies: map[string]*Proxy{}} }

// Add starts a proxy named name in front of target (e.g. an API instance).
func (f *Faults) Add(name, target string) (*Proxy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.proxies[name]; ok {
		return nil, fmt.Errorf("proxy %q: already exists", name)
	}
	p, err := NewProxy(name, target)
	if err != nil {
		return nil, err
	}
	f.proxies[name] = p
	return p, nil
}

// Ensure returns the proxy named name, pointed at target: a new one, or the
// existing one repointed (an instance restarted on another port).
func (f *Faults) Ensure(name, target string) (*Proxy, error) {
	f.mu.Lock()
	p, ok := f.proxies[name]
	f.mu.Unlock()
	if ok {
		if p.Target() != target {
			p.SetTarget(target)
		}
		return p, nil
	}
	return f.Add(name, target)
}

// Remove closes and forgets the proxy named name; an unknown name is a no-op.
func (f *Faults) Remove(name string) error {
	f.mu.Lock()
	p, ok := f.proxies[name]
	delete(f.proxies, name)
	f.mu.Unlock()
	if !ok {
		return nil
	}
	return p.Close()
}

// Proxy returns the proxy named name.
func (f *Faults) Proxy(name string) (*Proxy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.proxies[name]
	if !ok {
		return nil, fmt.Errorf("proxy %q: unknown (known: %s)", name, strings.Join(f.namesLocked(), ", "))
	}
	return p, nil
}

// Names lists the proxies, sorted.
func (f *Faults) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.namesLocked()
}

func (f *Faults) namesLocked() []string {
	out := make([]string, 0, len(f.proxies))
	for n := range f.proxies {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Set applies fault to the proxy named name.
func (f *Faults) Set(name string, fault Fault) error {
	p, err := f.Proxy(name)
	if err != nil {
		return err
	}
	return p.Set(fault)
}

// ClearAll forwards unchanged on every proxy.
func (f *Faults) ClearAll() {
	f.mu.Lock()
	all := make([]*Proxy, 0, len(f.proxies))
	for _, p := range f.proxies {
		all = append(all, p)
	}
	f.mu.Unlock()
	for _, p := range all {
		_ = p.Clear()
	}
}

// Close closes every proxy.
func (f *Faults) Close() error {
	f.mu.Lock()
	all := f.proxies
	f.proxies = map[string]*Proxy{}
	f.mu.Unlock()
	var errs []error
	for _, p := range all {
		if err := p.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// kafkaListenFn makes kfake advertise proxies: each broker listens on a
// fresh port behind a proxy whose address the listener reports, so
// metadata sends clients through the proxy. A restart asks for the
// proxy's port again and gets a new real port behind the same proxy.
func (p *Platform) kafkaListenFn() func(network, address string) (net.Listener, error) {
	var mu sync.Mutex
	byPort := map[string]*Proxy{}
	return func(network, address string) (net.Listener, error) {
		real, err := net.Listen(network, "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(address)
		mu.Lock()
		defer mu.Unlock()
		if pr, ok := byPort[port]; ok && port != "0" {
			pr.SetTarget(real.Addr().String())
			return advertised{real, pr.ln.Addr()}, nil
		}
		pr, err := p.Faults.Add(fmt.Sprintf("kafka-%d", len(byPort)), real.Addr().String())
		if err != nil {
			real.Close()
			return nil, err
		}
		_, pport, _ := net.SplitHostPort(pr.Addr())
		byPort[pport] = pr
		return advertised{real, pr.ln.Addr()}, nil
	}
}

// advertised is a listener that reports another address (its proxy's).
type advertised struct {
	net.Listener
	addr net.Addr
}

func (a advertised) Addr() net.Addr { return a.addr }

// Processes lists the OS processes the platform started and still runs, by
// name (redis-primary, postgres-primary, zookeeper, clickhouse-s01-replica1, ...).
func (p *Platform) Processes() map[string]*Process {
	p.procs.mu.Lock()
	defer p.procs.mu.Unlock()
	out := map[string]*Process{}
	for _, pr := range p.procs.procs {
		out[pr.Name] = pr
	}
	return out
}

// StartProcess runs a process tracked like the platform's own: killed at
// Stop at the latest, and open to Kill, Pause and Resume.
func (p *Platform) StartProcess(spec ProcSpec) (*Process, error) { return p.startProcess(spec) }

// Kill SIGKILLs the process group and waits for the exit.
func (pr *Process) Kill() error {
	if !pr.Alive() {
		return nil
	}
	if err := syscall.Kill(-pr.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", pr.Name, err)
	}
	<-pr.done
	return nil
}

// Pause SIGSTOPs the process group: it holds its sockets and answers nothing.
func (pr *Process) Pause() error { return pr.signalGroup(syscall.SIGSTOP) }

// Resume SIGCONTs a paused process group.
func (pr *Process) Resume() error { return pr.signalGroup(syscall.SIGCONT) }

func (pr *Process) signalGroup(sig syscall.Signal) error {
	if !pr.Alive() {
		return fmt.Errorf("%s: not running", pr.Name)
	}
	if err := syscall.Kill(-pr.Cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("%s %s: %w", sig, pr.Name, err)
	}
	return nil
}

// Wait blocks until the process exits or ctx ends.
func (pr *Process) Wait(ctx context.Context) error {
	select {
	case <-pr.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s still running: %w", pr.Name, ctx.Err())
	}
}
