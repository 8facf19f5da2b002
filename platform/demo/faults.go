package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wotr/wotr-tui/platform/local"
)

// FaultRequest is the body of POST /faults/{name}: exactly one field set.
type FaultRequest struct {
	Latency   string `json:"latency,omitempty"`   // a Go duration, e.g. "200ms"
	Blackhole bool   `json:"blackhole,omitempty"` // accept, never forward
	Reset     bool   `json:"reset,omitempty"`     // RST every connection
	Bandwidth string `json:"bandwidth,omitempty"` // bytes per second per direction: "100KiB", "1MiB", "512"
}

// Fault turns the request into a proxy setting, naming the value and rule it breaks.
func (r FaultRequest) Fault() (local.Fault, error) {
	var set []string
	var f local.Fault
	if r.Latency != "" {
		d, err := time.ParseDuration(r.Latency)
		if err != nil {
			return f, fmt.Errorf("latency %q: must be a duration such as 200ms", r.Latency)
		}
		f = local.Fault{Mode: local.FaultLatency, Latency: d}
		set = append(set, "latency")
	}
	if r.Blackhole {
		f = local.Fault{Mode: local.FaultBlackhole}
		set = append(set, "blackhole")
	}
	if r.Reset {
		f = local.Fault{Mode: local.FaultReset}
		set = append(set, "reset")
	}
	if r.Bandwidth != "" {
		n, err := parseBytes(r.Bandwidth)
		if err != nil {
			return f, err
		}
		f = local.Fault{Mode: local.FaultBandwidth, BytesPerSec: n}
		set = append(set, "bandwidth")
	}
	if len(set) != 1 {
		return f, fmt.Errorf("fault %v: set exactly one of latency, blackhole, reset, bandwidth (DELETE clears)", set)
	}
	return f, f.Validate()
}

// parseBytes reads "512", "100KiB", "100KB", "1MiB" (binary multiples, B optional).
func parseBytes(s string) (int, error) {
	num := strings.TrimSpace(s)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > (1<<31-1)/mult {
		return 0, fmt.Errorf("bandwidth %q: must be a positive byte rate such as 512, 100KiB or 1MiB", s)
	}
	return n * mult, nil
}

// ProxyState is one fault proxy in GET /faults.
type ProxyState struct {
	Name   string      `json:"name"`
	Addr   string      `json:"addr"`
	Target string      `json:"target"`
	Fault  local.Fault `json:"fault"`
	Conns  int         `json:"conns"`
}

// ProcessState is one process open to POST /processes/{name}/{action}.
type ProcessState struct {
	Name string `json:"name"`
	// Kind is "platform" (a component of platform/local, not restarted) or
	// "pod" (a supervised pod process, restarted like a kubelet would).
	Kind       string `json:"kind"`
	PID        int    `json:"pid"`
	Deployment string `json:"deployment,omitempty"`
}

// FaultsState is the GET /faults answer.
type FaultsState struct {
	Proxies   []ProxyState   `json:"proxies"`
	Processes []ProcessState `json:"processes"`
}

// faultRoutes adds the fault layer to the control API. f is nil when the
// platform runs without proxies; the process routes work either way.
func faultRoutes(mux *http.ServeMux, f *local.Faults, platformProcs func() map[string]*local.Process, sup *Supervisor) {
	processes := func() []ProcessState {
		var out []ProcessState
		for name, pr := range platformProcs() {
			if pr.Alive() {
				out = append(out, ProcessState{Name: name, Kind: "platform", PID: pr.Cmd.Process.Pid})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		for _, in := range sup.Instances() {
			out = append(out, ProcessState{Name: in.Pod, Kind: "pod", PID: in.PID, Deployment: in.Deployment})
		}
		return out
	}
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		st := FaultsState{Proxies: []ProxyState{}, Processes: processes()}
		if f != nil {
			for _, n := range f.Names() {
				p, err := f.Proxy(n)
				if err != nil {
					continue // closed meanwhile
				}
				st.Proxies = append(st.Proxies, ProxyState{Name: n, Addr: p.Addr(), Target: p.Target(), Fault: p.Fault(), Conns: p.Conns()})
			}
		}
		writeJSON(w, http.StatusOK, st)
	})
	proxy := func(w http.ResponseWriter, r *http.Request) (*local.Proxy, bool) {
		if f == nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "the platform runs without fault proxies"})
			return nil, false
		}
		p, err := f.Proxy(r.PathValue("name"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return nil, false
		}
		return p, true
	}
	mux.HandleFunc("POST /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := proxy(w, r)
		if !ok {
			return
		}
		var req FaultRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error() + ` (want e.g. {"latency":"200ms"})`})
			return
		}
		fault, err := req.Fault()
		if err == nil {
			err = p.Set(fault)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ProxyState{Name: p.Name, Addr: p.Addr(), Target: p.Target(), Fault: p.Fault(), Conns: p.Conns()})
	})
	mux.HandleFunc("DELETE /faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := proxy(w, r)
		if !ok {
			return
		}
		if err := p.Clear(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ProxyState{Name: p.Name, Addr: p.Addr(), Target: p.Target(), Fault: p.Fault(), Conns: p.Conns()})
	})
	mux.HandleFunc("POST /processes/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		name, action := r.PathValue("name"), r.PathValue("action")
		sig, ok := map[string]syscall.Signal{"kill": syscall.SIGKILL, "pause": syscall.SIGSTOP, "resume": syscall.SIGCONT}[action]
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("action %q: must be kill, pause or resume", action)})
			return
		}
		var err error
		if pr, ok := platformProcs()[name]; ok {
			switch action {
			case "kill":
				err = pr.Kill()
			case "pause":
				err = pr.Pause()
			default:
				err = pr.Resume()
			}
		} else {
			err = sup.Signal(name, sig)
		}
		switch {
		case errors.Is(err, errNoProcess):
			var names []string
			for _, p := range processes() {
				names = append(names, p.Name)
			}
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("process %q: unknown (known: %s)", name, strings.Join(names, ", "))})
		case err != nil:
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		default:
			writeJSON(w, http.StatusOK, map[string]string{"process": name, "action": action})
		}
	})
}

var errNoProcess = errors.New("no such process")

// Signal sends sig to the process group of the pod's running process. A
// killed one is restarted with back-off, as a crashed container would be.
func (s *Supervisor) Signal(pod string, sig syscall.Signal) error {
	s.mu.Lock()
	var pr *proc
	for _, m := range s.running {
		if m.inst.Pod == pod && m.proc != nil && !m.stopping {
			pr = m.proc
		}
	}
	s.mu.Unlock()
	if pr == nil || !pr.alive() {
		return fmt.Errorf("pod %s: %w", pod, errNoProcess)
	}
	if err := syscall.Kill(-pr.pid(), sig); err != nil {
		return fmt.Errorf("%s pod %s: %w", sig, pod, err)
	}
	return nil
}
