package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/wotr/wotr-tui/platform/local"
)

// KwokNodeAnnotation marks the nodes kwok simulates.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// MetricsAddrAnnotation tells the console where a pod's process serves
// /metrics (the backends/kube annotation of the same name): a local process
// listens on a loopback port, not on the pod IP kwok made up.
const MetricsAddrAnnotation = "wotr.io/metrics-addr"

// Workload is one Deployment whose pods become local processes.
type Workload struct {
	Deployment string
	// Binary is the executable each pod runs.
	Binary string
	// Container names the pod's container whose env is used; empty means the first.
	Container string
	// Args are passed to every process.
	Args []string
	// Env is applied after the service rewrite (local-only settings).
	Env map[string]string
	// HealthPath is polled on LISTEN_ADDR before the instance counts as ready;
	// empty means the container's readinessProbe path, else a TCP connect.
	HealthPath string
}

// Instance is one running process standing for one pod.
type Instance struct {
	Pod        string    `json:"pod"`
	UID        string    `json:"uid"`
	Deployment string    `json:"deployment"`
	Node       string    `json:"node"`
	Addr       string    `json:"addr"` // LISTEN_ADDR, host:port
	PID        int       `json:"pid"`
	Ready      bool      `json:"ready"`
	Restarts   int       `json:"restarts"`
	Started    time.Time `json:"started"`
	LogPath    string    `json:"log"`
}

// SupervisorOptions configures a Supervisor.
type SupervisorOptions struct {
	Client    kubernetes.Interface
	Namespace string
	Workloads []Workload
	// Services maps cluster names in pod env to local endpoints.
	Services ServiceMap
	// LogDir receives one log per process (<pod>.log).
	LogDir string
	// Grace is how long a SIGTERMed process may drain; default 10s.
	Grace time.Duration
	// NodeFilter decides which nodes' pods run locally; default: kwok nodes.
	NodeFilter func(*corev1.Node) bool
	// OnChange receives the ready instances (sorted by deployment, pod)
	// whenever that set changes. Called from one goroutine, never concurrently.
	OnChange func([]Instance)
	Logger   *slog.Logger
}

// Supervisor makes every Running pod of its workloads one local process.
type Supervisor struct {
	opts      SupervisorOptions
	log       *slog.Logger
	workloads map[string]Workload
	pods      corelisters.PodLister
	nodes     corelisters.NodeLister

	kick   chan struct{}
	runCtx context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	running   map[string]*member // by pod UID
	draining  sync.WaitGroup
	lastReady string
}

type member struct {
	inst     Instance
	workload Workload
	pod      *corev1.Pod
	proc     *proc
	ready    chan struct{} // closed when the readiness probe passed
	nextTry  time.Time     // crash back-off
	stopping bool
}

// NewSupervisor validates options; Start begins watching.
func NewSupervisor(opts SupervisorOptions) (*Supervisor, error) {
	if opts.Client == nil {
		return nil, errors.New("supervisor: Client is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "wotr"
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.Grace < 0 {
		return nil, fmt.Errorf("supervisor: grace %s: must not be negative", opts.Grace)
	}
	if opts.NodeFilter == nil {
		opts.NodeFilter = func(n *corev1.Node) bool { _, ok := n.Annotations[KwokNodeAnnotation]; return ok }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LogDir == "" {
		d, err := os.MkdirTemp("", "wotr-supervisor-")
		if err != nil {
			return nil, err
		}
		opts.LogDir = d
	}
	if err := opts.Services.Validate(); err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	if len(opts.Workloads) == 0 {
		return nil, errors.New("supervisor: no workloads")
	}
	s := &Supervisor{opts: opts, log: opts.Logger, workloads: map[string]Workload{}, running: map[string]*member{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	for _, w := range opts.Workloads {
		if w.Deployment == "" {
			return nil, errors.New("supervisor: workload without a deployment name")
		}
		if st, err := os.Stat(w.Binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("supervisor: workload %s binary %q: must be an executable file (run `make build`)", w.Deployment, w.Binary)
		}
		s.workloads[w.Deployment] = w
	}
	return s, nil
}

// Start syncs the informers and runs the reconcile loop until Stop.
func (s *Supervisor) Start(startCtx context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.runCtx, s.cancel = ctx, cancel
	factory := informers.NewSharedInformerFactoryWithOptions(s.opts.Client, 10*time.Minute)
	podFactory := informers.NewSharedInformerFactoryWithOptions(s.opts.Client, 10*time.Minute,
		informers.WithNamespace(s.opts.Namespace))
	podInf := podFactory.Core().V1().Pods()
	nodeInf := factory.Core().V1().Nodes()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.trigger() },
		UpdateFunc: func(any, any) { s.trigger() },
		DeleteFunc: func(any) { s.trigger() },
	}
	if _, err := podInf.Informer().AddEventHandler(handler); err != nil {
		cancel()
		return err
	}
	if _, err := nodeInf.Informer().AddEventHandler(handler); err != nil {
		cancel()
		return err
	}
	s.pods = podInf.Lister()
	s.nodes = nodeInf.Lister()
	podFactory.Start(ctx.Done())
	factory.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(startCtx, 30*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), podInf.Informer().HasSynced, nodeInf.Informer().HasSynced) {
		cancel()
		return errors.New("supervisor: pod and node caches did not sync within 30s")
	}
	go s.loop(ctx)
	s.trigger()
	return nil
}

func (s *Supervisor) trigger() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Supervisor) loop(ctx context.Context) {
	defer close(s.done)
	// A periodic pass restarts crashed processes after their back-off.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick.C:
		}
		s.reconcile()
	}
}

// wants reports whether pod should have a process, and its workload.
func (s *Supervisor) wants(pod *corev1.Pod) (Workload, bool) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || pod.Spec.NodeName == "" {
		return Workload{}, false
	}
	w, ok := s.workloads[deploymentOf(pod)]
	if !ok {
		return Workload{}, false
	}
	node, err := s.nodes.Get(pod.Spec.NodeName)
	if err != nil || !s.opts.NodeFilter(node) {
		return Workload{}, false
	}
	return w, true
}

// deploymentOf derives the Deployment from the owning ReplicaSet's name,
// which is the Deployment name plus "-" and the pod-template-hash.
func deploymentOf(pod *corev1.Pod) string {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind != "ReplicaSet" {
			continue
		}
		if h := pod.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
			return strings.TrimSuffix(ref.Name, "-"+h)
		}
		if i := strings.LastIndexByte(ref.Name, '-'); i > 0 {
			return ref.Name[:i]
		}
	}
	return ""
}

func (s *Supervisor) reconcile() {
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		s.log.Warn("list pods", "err", err)
		return
	}
	desired := map[string]*corev1.Pod{}
	for _, p := range pods {
		if _, ok := s.wants(p); ok {
			desired[string(p.UID)] = p
		}
	}
	s.mu.Lock()
	// Out of service first: a drained node's processes leave the load
	// balancer before they get SIGTERM and before their replacements start.
	var leaving []*member
	for uid, m := range s.running {
		if _, ok := desired[uid]; !ok && !m.stopping {
			m.stopping, m.inst.Ready = true, false
			leaving = append(leaving, m)
		}
	}
	now := time.Now()
	for uid, p := range desired {
		m := s.running[uid]
		switch {
		case m == nil:
			s.startMember(p, s.workloads[deploymentOf(p)], 0)
		case !m.stopping && m.proc == nil && now.After(m.nextTry):
			s.startMember(p, m.workload, m.inst.Restarts)
		}
	}
	s.mu.Unlock()
	s.notify()
	for _, m := range leaving {
		s.drain(m, "pod gone or no longer running")
	}
}

// startMember runs with s.mu held.
func (s *Supervisor) startMember(pod *corev1.Pod, w Workload, restarts int) {
	uid := string(pod.UID)
	m := &member{workload: w, pod: pod, ready: make(chan struct{})}
	m.inst = Instance{Pod: pod.Name, UID: uid, Deployment: w.Deployment, Node: pod.Spec.NodeName,
		Restarts: restarts, LogPath: filepath.Join(s.opts.LogDir, pod.Name+".log")}
	s.running[uid] = m
	port, err := freePort()
	if err != nil {
		s.backOff(m, err)
		return
	}
	m.inst.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env, err := s.processEnv(pod, w, m.inst.Addr)
	if err != nil {
		s.backOff(m, err)
		return
	}
	previous := previousLogPath(m.inst.LogPath)
	if restarts > 0 {
		// The log of the container before this restart, as `logs --previous` shows it.
		_ = os.Rename(m.inst.LogPath, previous)
	} else {
		go s.registerLogs(pod, m.inst.LogPath, previous)
	}
	pr, err := startProc(w.Binary, w.Args, env, m.inst.LogPath)
	if err != nil {
		s.backOff(m, err)
		return
	}
	m.proc = pr
	m.inst.PID = pr.pid()
	m.inst.Started = time.Now()
	s.log.Info("process started", "pod", pod.Name, "node", pod.Spec.NodeName, "pid", m.inst.PID, "addr", m.inst.Addr)
	go s.probe(m, pr, healthPath(pod, w))
	go func() {
		<-pr.done
		s.mu.Lock()
		if s.running[uid] == m && !m.stopping {
			// Crashed while its pod still wants it: restart with back-off, as the kubelet would.
			s.log.Warn("process exited; restarting", "pod", pod.Name, "err", pr.exitErr(), "log", m.inst.LogPath)
			m.proc = nil
			m.inst.Ready = false
			m.inst.Restarts++
			m.nextTry = time.Now().Add(backoff(m.inst.Restarts))
		}
		s.mu.Unlock()
		s.trigger()
	}()
}

// previousLogPath is where a pod's log goes when its process restarts.
func previousLogPath(logPath string) string {
	return strings.TrimSuffix(logPath, ".log") + ".previous.log"
}

// registerLogs makes the pod log endpoint serve the process's log. A cluster
// without kwok's Logs resource only loses `kubectl logs`.
func (s *Supervisor) registerLogs(pod *corev1.Pod, logPath, previous string) {
	ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
	defer cancel()
	if abs, err := filepath.Abs(logPath); err == nil {
		logPath, previous = abs, previousLogPath(abs)
	}
	obj := local.PodLogs(pod.Namespace, pod.Name, string(pod.UID), logPath, previous)
	if err := local.CreatePodLogs(ctx, s.opts.Client, obj); err != nil && ctx.Err() == nil {
		s.log.Warn("pod logs not served", "pod", pod.Name, "err", err)
	}
}

func (s *Supervisor) backOff(m *member, err error) {
	s.log.Warn("process start failed", "pod", m.inst.Pod, "err", err)
	m.inst.Restarts++
	m.nextTry = time.Now().Add(backoff(m.inst.Restarts))
}

func backoff(restarts int) time.Duration {
	d := time.Second << min(restarts, 5)
	return min(d, 30*time.Second)
}

// drain SIGTERMs a member already marked stopping and lets it drain in the
// background; the member leaves the running set when its process is gone.
func (s *Supervisor) drain(m *member, why string) {
	s.mu.Lock()
	pr := m.proc
	uid := m.inst.UID
	s.mu.Unlock()
	s.log.Info("stopping process", "pod", m.inst.Pod, "pid", m.inst.PID, "why", why)
	s.draining.Add(1)
	go func() {
		defer s.draining.Done()
		if pr != nil {
			t0 := time.Now()
			if err := pr.stop(s.opts.Grace); err != nil {
				s.log.Warn("drain", "pod", m.inst.Pod, "err", err)
			} else {
				s.log.Info("process drained", "pod", m.inst.Pod, "pid", m.inst.PID, "took", time.Since(t0).Round(time.Millisecond))
			}
		}
		s.mu.Lock()
		if s.running[uid] == m {
			delete(s.running, uid)
		}
		s.mu.Unlock()
		s.trigger()
	}()
}

func (s *Supervisor) probe(m *member, pr *proc, path string) {
	check := func() bool {
		if path == "" {
			c, err := net.DialTimeout("tcp", m.inst.Addr, time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		}
		cl := http.Client{Timeout: 2 * time.Second}
		resp, err := cl.Get("http://" + m.inst.Addr + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 400
	}
	deadline := time.Now().Add(60 * time.Second)
	wait := 20 * time.Millisecond
	for time.Now().Before(deadline) {
		if check() {
			s.mu.Lock()
			ready := m.proc == pr && !m.stopping
			if ready {
				m.inst.Ready = true
			}
			s.mu.Unlock()
			close(m.ready)
			s.trigger()
			if ready {
				s.annotateMetricsAddr(m, pr)
			}
			return
		}
		select {
		case <-pr.done:
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
	s.log.Warn("instance never became ready", "pod", m.inst.Pod, "addr", m.inst.Addr, "log", m.inst.LogPath)
}

// annotateMetricsAddr merge-patches the pod with the address its process
// listens on, so a console without Prometheus can scrape it. A failure is
// logged and retried a few times; the process keeps serving either way.
func (s *Supervisor) annotateMetricsAddr(m *member, pr *proc) {
	if m.pod.Annotations[MetricsAddrAnnotation] == m.inst.Addr {
		return
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{MetricsAddrAnnotation: m.inst.Addr}}})
	if err != nil {
		s.log.Warn("metrics-addr patch", "pod", m.inst.Pod, "err", err)
		return
	}
	ctx := s.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	pods := s.opts.Client.CoreV1().Pods(m.pod.Namespace)
	for attempt := 1; ; attempt++ {
		s.mu.Lock()
		current := m.proc == pr && !m.stopping
		s.mu.Unlock()
		if !current {
			return // a newer process or a drain owns the pod now
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = pods.Patch(pctx, m.inst.Pod, types.MergePatchType, patch, metav1.PatchOptions{})
		cancel()
		if err == nil {
			s.log.Debug("metrics address annotated", "pod", m.inst.Pod, "addr", m.inst.Addr)
			return
		}
		if apierrors.IsNotFound(err) {
			return // the pod is gone; its process is being drained
		}
		if attempt == 5 || ctx.Err() != nil {
			s.log.Warn("metrics-addr annotation not set", "pod", m.inst.Pod, "addr", m.inst.Addr, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-pr.done:
			return
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
}

func healthPath(pod *corev1.Pod, w Workload) string {
	if w.HealthPath != "" {
		return w.HealthPath
	}
	if c, ok := container(pod, w.Container); ok {
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if pr != nil && pr.HTTPGet != nil {
				return pr.HTTPGet.Path
			}
		}
	}
	return ""
}

func container(pod *corev1.Pod, name string) (corev1.Container, bool) {
	for _, c := range pod.Spec.Containers {
		if name == "" || c.Name == name {
			return c, true
		}
	}
	return corev1.Container{}, false
}

// baseEnvKeys are the only host variables a process inherits: a pod does not
// see its node's environment.
var baseEnvKeys = []string{"PATH", "HOME", "LANG", "TMPDIR", "TZ"}

func (s *Supervisor) processEnv(pod *corev1.Pod, w Workload, addr string) ([]string, error) {
	c, ok := container(pod, w.Container)
	if !ok {
		return nil, fmt.Errorf("pod %s has no container %q", pod.Name, w.Container)
	}
	info := PodInfo{Name: pod.Name, Namespace: pod.Namespace, Node: pod.Spec.NodeName, IP: "127.0.0.1", Labels: pod.Labels}
	env, skipped := ContainerEnv(c, info)
	if len(skipped) > 0 {
		s.log.Debug("env not resolvable locally", "pod", pod.Name, "vars", skipped)
	}
	env = s.opts.Services.RewriteEnv(env)
	for k, v := range w.Env {
		env[k] = v
	}
	env["LISTEN_ADDR"] = addr
	env["POD_NAME"] = pod.Name
	env["POD_NAMESPACE"] = pod.Namespace
	env["NODE_NAME"] = pod.Spec.NodeName
	out := EnvList(env)
	for _, k := range baseEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := env[k]; !set {
				out = append(out, k+"="+v)
			}
		}
	}
	return out, nil
}

// Instances returns every supervised process (ready or not), sorted.
func (s *Supervisor) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, m := range s.running {
		if m.proc != nil && !m.stopping {
			out = append(out, m.inst)
		}
	}
	sortInstances(out)
	return out
}

// PIDs lists the OS processes alive under the supervisor, draining ones included.
func (s *Supervisor) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, m := range s.running {
		if m.proc != nil && m.proc.alive() {
			out = append(out, m.proc.pid())
		}
	}
	sort.Ints(out)
	return out
}

func (s *Supervisor) readyInstances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, m := range s.running {
		if m.inst.Ready && !m.stopping && m.proc != nil {
			out = append(out, m.inst)
		}
	}
	sortInstances(out)
	return out
}

func sortInstances(in []Instance) {
	sort.Slice(in, func(i, j int) bool {
		if in[i].Deployment != in[j].Deployment {
			return in[i].Deployment < in[j].Deployment
		}
		return in[i].Pod < in[j].Pod
	})
}

// notify calls OnChange when the ready set differs from the last call.
func (s *Supervisor) notify() {
	ready := s.readyInstances()
	var b strings.Builder
	for _, in := range ready {
		fmt.Fprintf(&b, "%s/%s/%s;", in.Pod, in.Addr, in.Node)
	}
	key := b.String()
	if key == s.lastReady {
		return
	}
	s.lastReady = key
	if s.opts.OnChange != nil {
		s.opts.OnChange(ready)
	}
}

// Stop ends the watch, SIGTERMs every process, waits for the drains (killing
// what outlives the grace period) and reports processes that had to be killed.
func (s *Supervisor) Stop() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	<-s.done
	s.mu.Lock()
	var leaving []*member
	for _, m := range s.running {
		if !m.stopping {
			m.stopping, m.inst.Ready = true, false
			leaving = append(leaving, m)
		}
	}
	s.mu.Unlock()
	// Empty the load balancer and scrape targets before the processes go.
	s.notify()
	for _, m := range leaving {
		s.drain(m, "supervisor stopping")
	}
	s.draining.Wait()
	if left := s.PIDs(); len(left) > 0 {
		return fmt.Errorf("supervisor: processes still alive after stop: %v", left)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
