package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Names from the scaling guide's haproxy/wotr.cfg.
const (
	HAProxyFrontend = "wotr_api_frontend"
	HAProxyBackend  = "wotr_api_backend"
	// HAProxyBackendHeader names the backend that answered, with regions.
	HAProxyBackendHeader = "X-Wotr-Backend"
	// HAProxySlotPrefix names the server-template slots: api1, api2, ...
	HAProxySlotPrefix = "api"
)

// HAProxyOptions configures the load balancer in front of the API instances.
type HAProxyOptions struct {
	// Slots is how many API servers can be attached at run time; default 10.
	Slots int
	// CheckInterval between GET /health checks; default 1s (the scaling guide uses 5s).
	CheckInterval time.Duration
	// Regions, when more than one, gives each region a backend of its own
	// (the first keeps HAProxyBackend, the others HAProxyBackend_<region>)
	// and makes the frontend global: it sends every request to the active
	// region's backend, switched at run time (SetActive) without a reload.
	Regions []string
}

func (o HAProxyOptions) withDefaults() (HAProxyOptions, error) {
	if o.Slots == 0 {
		o.Slots = 10
	}
	if o.Slots < 1 || o.Slots > 1000 {
		return o, fmt.Errorf("slots %d: must be between 1 and 1000", o.Slots)
	}
	if o.CheckInterval == 0 {
		o.CheckInterval = time.Second
	}
	if o.CheckInterval < 10*time.Millisecond {
		return o, fmt.Errorf("check interval %s: must be at least 10ms", o.CheckInterval)
	}
	seen := map[string]bool{}
	for _, r := range o.Regions {
		if r == "" || strings.ContainsAny(r, " \t\n;#") || seen[r] {
			return o, fmt.Errorf("region %q: must be a unique non-empty name without spaces, ';' or '#'", r)
		}
		seen[r] = true
	}
	return o, nil
}

// HAProxyServer is Debian's haproxy with a runtime API socket. API instances
// are attached to server-template slots at run time, without reloads.
type HAProxyServer struct {
	// FrontendAddr is where clients send requests (host:port).
	FrontendAddr string
	// Socket is the admin-level runtime API (stats socket).
	Socket string
	// MetricsAddr serves HAProxy's Prometheus exporter at /metrics.
	MetricsAddr string
	// Backend is the backend name (wotr_api_backend).
	Backend string
	// Region is the region this backend serves; empty without
	// HAProxyOptions.Regions.
	Region string
	// ActiveMap is the map file whose "active" key names the backend the
	// global frontend uses; empty without HAProxyOptions.Regions.
	ActiveMap string
	Slots     int
	Dir       string
	Proc      *Process

	regions []*HAProxyServer // every region's view, the first is s itself

	mu     sync.Mutex
	byName map[string]string // backend name -> slot
	addrs  map[string]string // slot -> ip:port
}

// Backend is one API instance: a name (a pod, say) and its ip:port.
type Backend struct {
	Name string
	Addr string
}

func (p *Platform) startHAProxy(ctx context.Context) error {
	o, err := p.opts.HAProxy.withDefaults()
	if err != nil {
		return err
	}
	bin, err := findBinary("haproxy")
	if err != nil {
		return err
	}
	dir := filepath.Join(p.Dir, "haproxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s := &HAProxyServer{
		Socket:  filepath.Join(dir, "haproxy.sock"),
		Backend: HAProxyBackend,
		Slots:   o.Slots,
		Dir:     dir,
		byName:  map[string]string{},
		addrs:   map[string]string{},
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	backends := fmt.Sprintf(backendCfg, HAProxyBackend, o.CheckInterval.Milliseconds(), HAProxySlotPrefix, o.Slots)
	route := "default_backend " + HAProxyBackend
	s.regions = []*HAProxyServer{s}
	if len(o.Regions) > 1 {
		s.Region, s.ActiveMap = o.Regions[0], filepath.Join(dir, "active.map")
		if err := os.WriteFile(s.ActiveMap, []byte("active "+HAProxyBackend+"\n"), 0o644); err != nil {
			return err
		}
		for _, r := range o.Regions[1:] {
			v := &HAProxyServer{Socket: s.Socket, Backend: HAProxyBackend + "_" + r, Region: r, ActiveMap: s.ActiveMap,
				Slots: s.Slots, Dir: dir, byName: map[string]string{}, addrs: map[string]string{}}
			s.regions = append(s.regions, v)
			backends += fmt.Sprintf(backendCfg, v.Backend, o.CheckInterval.Milliseconds(), HAProxySlotPrefix, o.Slots)
		}
		// The map is read per request, so "set map" switches regions at once.
		// The response names the backend, so clients see which region answered.
		route = fmt.Sprintf("http-response set-header %s %%b\n    use_backend %%[str(active),map(%s,%s)]\n    default_backend %s",
			HAProxyBackendHeader, s.ActiveMap, HAProxyBackend, HAProxyBackend)
	}
	proc, _, err := p.startOnFreshPorts(ctx, HAProxy, "haproxy frontend and runtime API", 2, func(_ int, ports []int) (*Process, error) {
		s.FrontendAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
		s.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
		cfg := fmt.Sprintf(`global
    stats socket %[1]s mode 600 level admin
    stats timeout 2m
    maxconn 4096

defaults
    mode http
    option dontlognull
    option redispatch
    retries 2
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend metrics
    bind %[6]s
    http-request use-service prometheus-exporter if { path /metrics }

frontend %[2]s
    bind %[3]s
    option forwardfor
    %[4]s
%[5]s`, s.Socket, HAProxyFrontend, s.FrontendAddr, route, backends, s.MetricsAddr)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		// -db: stay in the foreground so the process is ours to track and stop.
		proc, err := p.startProcess(ProcSpec{Name: "haproxy", Path: bin, Dir: dir, Args: []string{"-db", "-f", cfgPath}})
		if err != nil {
			return nil, err
		}
		p.onStop(HAProxy, func() error { return proc.Stop(10 * time.Second) })
		return proc, nil
	}, func(ctx context.Context) error {
		if err := dialCheck(s.FrontendAddr)(ctx); err != nil {
			return err
		}
		_, err := s.RuntimeCommand("show info")
		return err
	})
	s.Proc = proc
	if err != nil {
		return err
	}
	for _, v := range s.regions[1:] {
		v.FrontendAddr, v.MetricsAddr, v.Proc = s.FrontendAddr, s.MetricsAddr, proc
		v.regions = s.regions
	}
	p.HAProxy = s
	return nil
}

// backendCfg is one region's backend: slots start disabled at a
// placeholder address; SetBackends fills them.
const backendCfg = `
backend %[1]s
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server check inter %[2]dms fall 3 rise 2
    server-template %[3]s 1-%[4]d 127.0.0.1:1 disabled
`

// ForRegion is the view of region's backend (its own slots, same process
// and frontend); nil when HAProxyOptions.Regions does not name it. Without
// regions, "" gives s itself.
func (s *HAProxyServer) ForRegion(region string) *HAProxyServer {
	for _, v := range s.regions {
		if v.Region == region {
			return v
		}
	}
	return nil
}

// SetActive points the global frontend at region's backend.
func (s *HAProxyServer) SetActive(region string) error {
	v := s.ForRegion(region)
	if v == nil || s.ActiveMap == "" {
		return fmt.Errorf("haproxy: region %q: not one of the frontend's regions", region)
	}
	out, err := s.RuntimeCommand(fmt.Sprintf("set map %s active %s", s.ActiveMap, v.Backend))
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("haproxy: set map: %s", out)
	}
	return nil
}

// Active is the region the global frontend sends traffic to.
func (s *HAProxyServer) Active() (string, error) {
	if s.ActiveMap == "" {
		return s.Region, nil
	}
	out, err := s.RuntimeCommand("show map " + s.ActiveMap)
	if err != nil {
		return "", err
	}
	// Rows are "<id> <key> <value>".
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[1] == "active" {
			for _, v := range s.regions {
				if v.Backend == f[2] {
					return v.Region, nil
				}
			}
			return "", fmt.Errorf("haproxy: active backend %q is no region's", f[2])
		}
	}
	return "", fmt.Errorf("haproxy: no active key in %s: %q", s.ActiveMap, out)
}

// RuntimeCommand sends one command to the runtime API and returns its answer.
func (s *HAProxyServer) RuntimeCommand(cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n;") {
		return "", fmt.Errorf("runtime command %q: must be a single command without newlines or ';'", cmd)
	}
	c, err := net.DialTimeout("unix", s.Socket, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	// Without "prompt" HAProxy answers one command and closes the connection.
	out, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("runtime command %q: %w", cmd, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// serverCommand runs a "set server" command; HAProxy reports failures as text.
func (s *HAProxyServer) serverCommand(cmd string) error {
	out, err := s.RuntimeCommand(cmd)
	if err != nil {
		return err
	}
	if out == "" || strings.Contains(out, "changed from") || strings.Contains(out, "no need to change") {
		return nil
	}
	return fmt.Errorf("haproxy %q: %s", cmd, out)
}

// SetBackends makes the backend serve exactly these instances. An instance
// already attached keeps its slot and its state (a drained one stays drained);
// new ones are put in free slots and made ready; missing ones go to maintenance.
func (s *HAProxyServer) SetBackends(backends []Backend) error {
	want := map[string]string{}
	for _, b := range backends {
		if b.Name == "" {
			return fmt.Errorf("backend %q: name must not be empty", b.Addr)
		}
		if _, dup := want[b.Name]; dup {
			return fmt.Errorf("backend name %q: listed twice", b.Name)
		}
		ap, err := netip.ParseAddrPort(b.Addr)
		if err != nil {
			return fmt.Errorf("backend %s address %q: must be ip:port (HAProxy's runtime API takes no host names)", b.Name, b.Addr)
		}
		want[b.Name] = ap.String()
	}
	if len(want) > s.Slots {
		return fmt.Errorf("%d backends: more than the %d slots (HAProxyOptions.Slots)", len(want), s.Slots)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, slot := range s.byName {
		if _, keep := want[name]; keep {
			continue
		}
		if err := s.serverCommand(fmt.Sprintf("set server %s/%s state maint", s.Backend, slot)); err != nil {
			return err
		}
		delete(s.byName, name)
		delete(s.addrs, slot)
	}
	for _, b := range backends {
		addr := want[b.Name]
		slot, known := s.byName[b.Name]
		if known && s.addrs[slot] == addr {
			continue
		}
		if !known {
			slot = s.freeSlotLocked()
		}
		ap := netip.MustParseAddrPort(addr)
		if err := s.serverCommand(fmt.Sprintf("set server %s/%s addr %s port %d", s.Backend, slot, ap.Addr(), ap.Port())); err != nil {
			return err
		}
		s.byName[b.Name] = slot
		s.addrs[slot] = addr
		if known {
			continue
		}
		if err := s.serverCommand(fmt.Sprintf("set server %s/%s state ready", s.Backend, slot)); err != nil {
			return err
		}
	}
	return nil
}

func (s *HAProxyServer) freeSlotLocked() string {
	for i := 1; i <= s.Slots; i++ {
		slot := HAProxySlotPrefix + strconv.Itoa(i)
		if _, used := s.addrs[slot]; !used {
			return slot
		}
	}
	panic("haproxy: no free slot after the count check")
}

// Slot returns the server slot (api1, ...) of a backend name; a slot name maps to itself.
func (s *HAProxyServer) Slot(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slot, ok := s.byName[name]; ok {
		return slot, true
	}
	if _, ok := s.addrs[name]; ok {
		return name, true
	}
	return "", false
}

// Drain stops new requests to a backend (by name or slot); open ones finish.
func (s *HAProxyServer) Drain(name string) error { return s.setState(name, "drain") }

// Ready puts a drained or maintained backend back in rotation.
func (s *HAProxyServer) Ready(name string) error { return s.setState(name, "ready") }

// Maint takes a backend out of rotation entirely.
func (s *HAProxyServer) Maint(name string) error { return s.setState(name, "maint") }

func (s *HAProxyServer) setState(name, state string) error {
	slot, ok := s.Slot(name)
	if !ok {
		return fmt.Errorf("backend %q: not attached (SetBackends first)", name)
	}
	return s.serverCommand(fmt.Sprintf("set server %s/%s state %s", s.Backend, slot, state))
}

// HAProxyServerState is one row of "show servers state" for the backend.
type HAProxyServerState struct {
	Slot string // api1, ...
	Name string // the backend name given to SetBackends; empty for a free slot
	Addr string // ip:port
	// OpState: 0 stopped (down), 1 starting, 2 running, 3 stopping.
	OpState int
	// AdminState bits: 0x01|0x02|0x20|0x40 maintenance, 0x08|0x10 drain.
	AdminState int
}

// Up reports whether the server takes new requests.
func (st HAProxyServerState) Up() bool { return st.OpState == 2 && !st.Maint() && !st.Draining() }

// Maint reports forced, inherited, resolution or hostname maintenance.
func (st HAProxyServerState) Maint() bool { return st.AdminState&0x63 != 0 }

// Draining reports a drained server.
func (st HAProxyServerState) Draining() bool { return st.AdminState&0x18 != 0 }

// Servers parses "show servers state" for the backend.
func (s *HAProxyServer) Servers() ([]HAProxyServerState, error) {
	out, err := s.RuntimeCommand("show servers state " + s.Backend)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	var header []string
	for _, l := range lines {
		if strings.HasPrefix(l, "# ") {
			header = strings.Fields(strings.TrimPrefix(l, "# "))
		}
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"srv_name", "srv_addr", "srv_port", "srv_op_state", "srv_admin_state"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("show servers state: no %s column in %q", need, out)
		}
	}
	s.mu.Lock()
	names := map[string]string{}
	for n, slot := range s.byName {
		names[slot] = n
	}
	s.mu.Unlock()
	var rows []HAProxyServerState
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != len(header) || strings.HasPrefix(l, "#") {
			continue
		}
		op, _ := strconv.Atoi(f[col["srv_op_state"]])
		adm, _ := strconv.Atoi(f[col["srv_admin_state"]])
		slot := f[col["srv_name"]]
		rows = append(rows, HAProxyServerState{Slot: slot, Name: names[slot],
			Addr: net.JoinHostPort(f[col["srv_addr"]], f[col["srv_port"]]), OpState: op, AdminState: adm})
	}
	return rows, nil
}
