package local

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeNamespace is the namespace the platform's workloads run in.
const KubeNamespace = "wotr"

// Standard topology labels the nodes carry, so region-aware views and
// scheduling constraints see two regions.
const (
	LabelRegion = "topology.kubernetes.io/region"
	LabelZone   = "topology.kubernetes.io/zone"
)

// kubeBinaries are the control plane programs `make controlplane` builds.
var kubeBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// kubeStages are the kwok stage files that make fake nodes Ready and move
// pods through Running, Succeeded and deletion.
var kubeStages = []string{"node-initialize.yaml", "node-heartbeat.yaml", "pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"}

// kubeControllers are the kube-controller-manager controllers the console
// needs: workloads, disruption budgets, autoscaling, garbage collection, node
// health, and the default service account that pod admission requires.
var kubeControllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"disruption-controller",
	"horizontal-pod-autoscaler-controller",
	"garbage-collector-controller",
	"node-lifecycle-controller",
	"taint-eviction-controller",
	"pod-garbage-collector-controller",
	"serviceaccount-controller",
	"namespace-controller",
}

// defaultKubeBinDir is where `make controlplane` links the current build,
// under $XDG_CACHE_HOME (default ~/.cache).
func defaultKubeBinDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), ".cache")
	}
	return filepath.Join(cache, "wotr-tui", "controlplane", "current", "bin")
}

// KubeZone places nodes: a region and one of its zones.
type KubeZone struct {
	Region string
	Zone   string
}

// DefaultKubeZones spreads nodes over two zones of the primary region and
// one of the secondary region.
var DefaultKubeZones = []KubeZone{
	{Region: "primary", Zone: "primary-a"},
	{Region: "primary", Zone: "primary-b"},
	{Region: "secondary", Zone: "secondary-a"},
}

// KubeOptions configures the Kubernetes control plane and its kwok nodes.
type KubeOptions struct {
	// Nodes is the number of kwok nodes; 0 means 3.
	Nodes int
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kwok; its sibling "stages" holds the kwok stages.
	// Empty means $XDG_CACHE_HOME/wotr-tui/controlplane/current/bin.
	BinDir string
	// Zones are assigned to nodes round-robin (node-i gets Zones[i%len]);
	// empty means DefaultKubeZones.
	Zones []KubeZone
	// PerRegion starts one control plane per region of Zones, each with its
	// own etcd, controllers, kwok and the nodes of its zones, as operators
	// with a cluster per region run. Off, one control plane holds every region.
	PerRegion bool
}

// regions lists the regions of Zones in first-seen order.
func (o KubeOptions) regions() []string {
	var out []string
	seen := map[string]bool{}
	for _, z := range o.Zones {
		if !seen[z.Region] {
			seen[z.Region] = true
			out = append(out, z.Region)
		}
	}
	return out
}

func (o KubeOptions) withDefaults() KubeOptions {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.BinDir == "" {
		o.BinDir = defaultKubeBinDir()
	}
	if len(o.Zones) == 0 {
		o.Zones = DefaultKubeZones
	}
	return o
}

func (o KubeOptions) validate() error {
	if o.Nodes < 0 || o.Nodes > 100 {
		return fmt.Errorf("kube: Nodes %d: must be between 1 and 100 (0 means 3)", o.Nodes)
	}
	if o.PerRegion && o.Nodes < len(o.Zones) {
		return fmt.Errorf("kube: Nodes %d with PerRegion: must be at least the %d zones, so every region's cluster has a node", o.Nodes, len(o.Zones))
	}
	for i, z := range o.Zones {
		if z.Region == "" || z.Zone == "" {
			return fmt.Errorf("kube: Zones[%d] = %+v: region and zone must both be set", i, z)
		}
	}
	return nil
}

// KubeCluster is a running control plane with kwok nodes.
type KubeCluster struct {
	// Region is the one region whose nodes this cluster holds
	// (KubeOptions.PerRegion); empty when it holds every region.
	Region string
	// Kubeconfig is the admin kubeconfig (system:masters), context
	// "wotr-local" ("wotr-<region>" per region), default namespace "wotr".
	Kubeconfig string
	// Context is the kubeconfig context name.
	Context string
	// Server is the apiserver URL (https://127.0.0.1:port).
	Server string
	// Namespace is where the platform's workloads run ("wotr").
	Namespace string
	// Clientset is an admin client.
	Clientset *kubernetes.Clientset
	// Dir holds the cluster's data, certificates and logs.
	Dir string
	// BootPhases are the steps of its last boot, each with the time since
	// the boot began when it ended (etcd, apiserver, controllers, kwok,
	// serviceaccount, nodes).
	BootPhases []BootPhase
	// Nodes are the kwok node names, in creation order. AddNode and
	// RemoveNode update it; do not read it while they run.
	Nodes []string

	opts       KubeOptions
	restConfig *rest.Config
	mu         sync.Mutex
	nextNode   int
	procs      map[string]*Process
}

// RestConfig returns a copy of the admin client configuration.
func (k *KubeCluster) RestConfig() *rest.Config { return rest.CopyConfig(k.restConfig) }

// Process returns one of the control plane processes by name ("etcd",
// "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok").
func (k *KubeCluster) Process(name string) *Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.procs[name]
}

func (p *Platform) startKube(ctx context.Context) error {
	opts := p.opts.Kube.withDefaults()
	if err := opts.validate(); err != nil {
		return err
	}
	bins := map[string]string{}
	for _, b := range kubeBinaries {
		path := filepath.Join(opts.BinDir, b)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("missing %s (run `make controlplane`): %w", path, err)
		}
		bins[b] = path
	}
	stageDir := filepath.Join(filepath.Dir(opts.BinDir), "stages")
	var stages []string
	for _, s := range kubeStages {
		path := filepath.Join(stageDir, s)
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("missing kwok stage %s (run `make controlplane`): %w", path, err)
		}
		stages = append(stages, path)
	}

	regions := []string{""}
	if opts.PerRegion {
		regions = opts.regions()
	}
	clusters := make([]*KubeCluster, len(regions))
	for i, region := range regions {
		k := &KubeCluster{Region: region, Namespace: KubeNamespace, Context: "wotr-local", opts: opts, procs: map[string]*Process{}}
		if region != "" {
			k.Context = "wotr-" + region
		}
		clusters[i] = k
		// One stopper per control plane, registered before anything runs,
		// so a failed start still stops in dependency order.
		p.onStop(Kube, k.stop)
	}
	// The control planes boot side by side: each waits mostly on its own
	// apiserver, so the second costs little wall time.
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, k := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.bootKube(ctx, k, bins, stages)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	p.mu.Lock()
	p.Kube, p.Kubes = clusters[0], clusters
	p.mu.Unlock()
	return nil
}

// bootKube boots one control plane, again on fresh ports in a fresh
// directory after a port clash.
func (p *Platform) bootKube(ctx context.Context, k *KubeCluster, bins map[string]string, stages []string) error {
	base := filepath.Join(p.Dir, "kube")
	if k.Region != "" {
		base += "-" + k.Region
	}
	err := p.retryOnPortClash(ctx, Kube, func(attempt int) error {
		dir := base
		if attempt > 1 {
			dir += "-" + strconv.Itoa(attempt)
		}
		return k.boot(ctx, p, dir, bins, stages)
	}, func() error {
		if err := k.stop(); err != nil {
			return err
		}
		k.mu.Lock()
		k.procs, k.Nodes, k.nextNode = map[string]*Process{}, nil, 0
		k.mu.Unlock()
		return nil
	})
	if err != nil && k.Region != "" {
		return fmt.Errorf("region %s: %w", k.Region, err)
	}
	return err
}

// KubeFor is the control plane that runs region's workloads: its own with
// KubeOptions.PerRegion, else the one shared cluster. Nil without kube.
func (p *Platform) KubeFor(region string) *KubeCluster {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.Kubes {
		if k.Region == region {
			return k
		}
	}
	return p.Kube
}

// BootPhase is one step of a control plane's boot.
type BootPhase struct {
	Name string
	At   time.Duration // since the boot began
}

// boot starts the control plane in dir and waits until it is ready.
func (k *KubeCluster) boot(ctx context.Context, p *Platform, dir string, bins map[string]string, stages []string) error {
	opts := k.opts
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	k.Dir = dir
	// Phase timings go to the log, to tell a slow start's cause.
	t0 := time.Now()
	var phases []any
	k.BootPhases = nil
	mark := func(phase string) {
		at := time.Since(t0)
		phases = append(phases, phase, at.Round(time.Millisecond))
		k.BootPhases = append(k.BootPhases, BootPhase{Name: phase, At: at})
	}
	// Ports are picked right before their process binds them, to keep the
	// window in which another process can take them short.
	ports, err := portPicker(Kube, 3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]

	pki, err := newKubePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	servingCert, servingKey, err := pki.writeServing()
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	saKey, saPub, err := pki.writeServiceAccountKey()
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	k.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	k.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	kubeconfigs := map[string]string{
		"kube-controller-manager": filepath.Join(dir, "controller-manager.kubeconfig"),
		"kube-scheduler":          filepath.Join(dir, "scheduler.kubeconfig"),
		"kwok":                    filepath.Join(dir, "kwok.kubeconfig"),
	}
	// Every component is a cluster admin: authorization is RBAC, but the
	// local control plane has no need for least privilege among its parts.
	if err := pki.writeKubeconfig(k.Kubeconfig, k.Server, k.Context, "wotr-admin", []string{"system:masters"}); err != nil {
		return err
	}
	for name, path := range kubeconfigs {
		if err := pki.writeKubeconfig(path, k.Server, k.Context, "system:"+name, []string{"system:masters"}); err != nil {
			return err
		}
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := k.start(p, ProcSpec{Name: "etcd", Path: bins["etcd"], Dir: dir, Args: []string{
		"--name=" + k.Context,
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=" + k.Context + "=" + peerURL,
		// Throwaway data: fsync would only slow every write.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}})
	if err != nil {
		return err
	}

	// kube-apiserver starts right away: it retries etcd until it answers.
	apiserver, err := k.start(p, ProcSpec{Name: "kube-apiserver", Path: bins["kube-apiserver"], Dir: dir, Args: []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// Loopback cannot be a kubernetes Service endpoint.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + servingCert,
		"--tls-private-key-file=" + servingKey,
		"--client-ca-file=" + pki.path("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// kwok nodes are reached at their InternalIP (loopback) for pod logs.
		"--kubelet-preferred-address-types=InternalIP",
		"--profiling=false",
		"--v=0",
	}})
	if err != nil {
		return err
	}
	if err := WaitFor(ctx, "etcd", etcd, listening(etcd, []int{etcdClient, etcdPeer}, dialCheck(fmt.Sprintf("127.0.0.1:%d", etcdClient)))); err != nil {
		return err
	}
	mark("etcd")

	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	k.restConfig = cfg
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	k.Clientset = cs
	if err := WaitFor(ctx, "kube-apiserver /readyz", apiserver, listening(apiserver, []int{apiPort}, func(ctx context.Context) error {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil && len(body) > 0 {
			// The body lists the checks that are still failing.
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(body)))
		}
		return err
	})); err != nil {
		return err
	}
	mark("apiserver")

	if ports, err = portPicker(Kube, 3); err != nil {
		return err
	}
	kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2]

	kcm, err := k.start(p, ProcSpec{Name: "kube-controller-manager", Path: bins["kube-controller-manager"], Dir: dir, Args: []string{
		"--kubeconfig=" + kubeconfigs["kube-controller-manager"],
		"--controllers=" + strings.Join(kubeControllers, ","),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kcmPort),
		"--cert-dir=" + filepath.Join(dir, "kcm-certs"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--use-service-account-credentials=false",
		// The default 20 QPS paces a 45-replica scale-up at about 2 s.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		// kwok's heartbeat stage reports every 20-45 s; the default 50 s grace
		// leaves too little margin on a loaded machine.
		"--node-monitor-grace-period=75s",
		"--profiling=false",
	}})
	if err != nil {
		return err
	}
	sched, err := k.start(p, ProcSpec{Name: "kube-scheduler", Path: bins["kube-scheduler"], Dir: dir, Args: []string{
		"--kubeconfig=" + kubeconfigs["kube-scheduler"],
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(schedPort),
		"--cert-dir=" + filepath.Join(dir, "scheduler-certs"),
		"--profiling=false",
	}})
	if err != nil {
		return err
	}
	kwokArgs := []string{
		"--kubeconfig=" + kubeconfigs["kwok"],
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--server-address=" + fmt.Sprintf("127.0.0.1:%d", kwokPort),
		// The apiserver proxies pod logs to the node's kubelet endpoint over
		// TLS: kwok answers there (TLS and plain HTTP share the port) and
		// serves the file each pod's Logs object names.
		"--node-ip=127.0.0.1",
		fmt.Sprintf("--node-port=%d", kwokPort),
		"--tls-cert-file=" + servingCert,
		"--tls-private-key-file=" + servingKey,
		"--enable-crds=" + KwokLogsKind,
	}
	if err := installKwokLogsCRD(ctx, cs); err != nil {
		return err
	}
	if err := WaitFor(ctx, "kwok Logs resource served", apiserver, kwokLogsServed(cs)); err != nil {
		return err
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "-c", s)
	}
	kwok, err := k.start(p, ProcSpec{Name: "kwok", Path: bins["kwok"], Dir: dir, Args: kwokArgs,
		// kwok reads ~/.kwok when no config is given; keep it inside the temp dir.
		Env: []string{"HOME=" + dir}})
	if err != nil {
		return err
	}

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KubeNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", KubeNamespace, err)
	}
	// Node names are numbered over all regions, so they stay unique when
	// each region has its own cluster.
	for i := 0; i < opts.Nodes; i++ {
		z := opts.Zones[i%len(opts.Zones)]
		if k.Region != "" && z.Region != k.Region {
			continue
		}
		if err := k.createNode(ctx, fmt.Sprintf("node-%d", i), z); err != nil {
			return err
		}
	}

	if err := WaitFor(ctx, "kube-controller-manager /healthz", kcm, listening(kcm, []int{kcmPort}, httpsHealthz(kcmPort))); err != nil {
		return err
	}
	if err := WaitFor(ctx, "kube-scheduler /healthz", sched, listening(sched, []int{schedPort}, httpsHealthz(schedPort))); err != nil {
		return err
	}
	mark("controllers")
	if err := WaitFor(ctx, "kwok /healthz", kwok, listening(kwok, []int{kwokPort}, httpHealthz(fmt.Sprintf("http://127.0.0.1:%d/healthz", kwokPort)))); err != nil {
		return err
	}
	mark("kwok")
	// Pod admission needs the namespace's default service account.
	if err := WaitFor(ctx, "service account "+KubeNamespace+"/default", kcm, func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(KubeNamespace).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	mark("serviceaccount")
	if err := WaitFor(ctx, "kwok nodes Ready", kwok, k.nodesReady(k.Nodes)); err != nil {
		return err
	}
	mark("nodes")
	p.log.Info("kube ready", append([]any{"context", k.Context}, phases...)...)
	return nil
}

// start runs one control plane process and records it for the ordered stop.
func (k *KubeCluster) start(p *Platform, spec ProcSpec) (*Process, error) {
	spec.LogPath = filepath.Join(k.Dir, spec.Name+".log")
	proc, err := p.startProcess(spec)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.procs[spec.Name] = proc
	k.mu.Unlock()
	return proc, nil
}

// stop ends the control plane from the top down, so no component logs
// errors about a dependency that vanished under it.
func (k *KubeCluster) stop() error {
	var errs []error
	for i := len(kubeBinaries) - 1; i >= 0; i-- {
		proc := k.Process(kubeBinaries[i])
		if proc == nil {
			continue
		}
		if err := proc.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AddNode creates a kwok node in zone z and waits until it is Ready.
// An empty name picks the next free node-N.
func (k *KubeCluster) AddNode(ctx context.Context, name string, z KubeZone) (string, error) {
	if z.Region == "" || z.Zone == "" {
		return "", fmt.Errorf("kube: add node: zone %+v: region and zone must both be set", z)
	}
	if k.Region != "" && z.Region != k.Region {
		return "", fmt.Errorf("kube: add node: region %q: this control plane holds region %q only", z.Region, k.Region)
	}
	if name == "" {
		k.mu.Lock()
		name = fmt.Sprintf("node-%d", k.nextNode)
		k.mu.Unlock()
	}
	if err := k.createNode(ctx, name, z); err != nil {
		return "", err
	}
	return name, WaitFor(ctx, "node "+name+" Ready", k.Process("kwok"), k.nodesReady([]string{name}))
}

// RemoveNode deletes a kwok node; the pod garbage collector then removes
// its pods and their owners replace them elsewhere.
func (k *KubeCluster) RemoveNode(ctx context.Context, name string) error {
	if err := k.Clientset.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("kube: remove node %s: %w", name, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, n := range k.Nodes {
		if n == name {
			k.Nodes = append(k.Nodes[:i:i], k.Nodes[i+1:]...)
			break
		}
	}
	return nil
}

// createNode registers a node in kwok's fake shape: the annotation kwok
// selects on, the capacity of a large machine, no taint so that plain
// Deployments schedule onto it.
func (k *KubeCluster) createNode(ctx context.Context, name string, z KubeZone) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":           "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"kubernetes.io/role":     "agent",
				LabelRegion:              z.Region,
				LabelZone:                z.Zone,
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := k.Clientset.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.Nodes = append(k.Nodes, name)
	if n, err := strconv.Atoi(strings.TrimPrefix(name, "node-")); err == nil && n >= k.nextNode {
		k.nextNode = n + 1
	}
	return nil
}

// nodesReady succeeds once every named node reports condition Ready=True.
func (k *KubeCluster) nodesReady(names []string) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, name := range names {
			n, err := k.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !NodeReady(n) {
				return fmt.Errorf("node %s not Ready", name)
			}
		}
		return nil
	}
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// httpsHealthz checks a component's self-signed secure port. Without
// delegated authentication configured, /healthz is open to anyone.
func httpsHealthz(port int) func(context.Context) error {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return httpGetOK(client, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
}

func httpHealthz(url string) func(context.Context) error {
	return httpGetOK(http.DefaultClient, url)
}

func httpGetOK(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
