package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// applyPlatformObjects creates the API and consumer Deployments with the
// manifests' env, and Services for the stores that reach this machine's
// Kafka and Redis (a load balancer at 127.0.0.1); PostgreSQL's Service points at a
// port nothing listens on, so its check must fail.
func applyPlatformObjects(t *testing.T, p *local.Platform, ns string) (redisAddr string) {
	t.Helper()
	ctx := context.Background()
	cs := p.Kube.Clientset
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	_, kafkaPort, _ := net.SplitHostPort(p.Kafka.Brokers[0])
	_, redisPort, _ := net.SplitHostPort(p.Redis.Primary.Addr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	deployment := func(name string, env map[string]string) {
		var ev []corev1.EnvVar
		for k, v := range env {
			ev = append(ev, corev1.EnvVar{Name: k, Value: v})
		}
		replicas := int32(0)
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "wotr/" + name, Env: ev}}}}}}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deployment("wotr-api", map[string]string{"POSTGRES_HOST": "postgres-service", "POSTGRES_PORT": deadPort, "POSTGRES_USER": "wotr",
		"POSTGRES_DB": "wotr", "REDIS_HOST": "redis-service", "REDIS_PORT": redisPort, "KAFKA_BOOTSTRAP": "kafka-service:" + kafkaPort})
	deployment("wotr-consumer", map[string]string{"KAFKA_BOOTSTRAP": "kafka-service:" + kafkaPort, "KAFKA_GROUP_ID": "wotr-consumer-group"})
	service := func(name, port string) {
		n, _ := strconv.Atoi(port)
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: int32(n)}}}}
		s, err := cs.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// what a cloud's load balancer controller writes: here, this machine
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "127.0.0.1"}}
		if _, err := cs.CoreV1().Services(ns).UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	service("kafka-service", kafkaPort)
	service("redis-service", redisPort)
	service("postgres-service", deadPort)
	return p.Redis.Primary.Addr
}

func TestConfigInitDiscoversThePlatform(t *testing.T) {
	p := localtest.Platform(t, local.Kube, local.Kafka, local.Redis)
	ns := "init-probe"
	redisAddr := applyPlatformObjects(t, p, ns)
	app := newCLI(t)
	path := filepath.Join(t.TempDir(), "wotr", "config.yaml")

	r := app.run("config", "init", "--kubeconfig", p.Kube.Kubeconfig, "--context", "wotr-local", "--namespace", ns, "--name", "found", "--config", path)
	// PostgreSQL's Service leads nowhere: exit 1, every other check ok, the context written
	mustCode(t, r, ExitFailed)
	lines := strings.Split(r.out, "\n")
	status := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		switch {
		case len(f) < 3 || f[0] == "wrote":
		case f[len(f)-1] == "ok":
			status[f[0]] = "ok"
		case strings.Contains(l, "failed:"):
			status[f[0]] = "failed:"
		}
	}
	if status["kube"] != "ok" || status["kafka"] != "ok" || status["redis"] != "ok" || status["postgres"] != "failed:" {
		t.Fatalf("checks %v:\n%s\n%s", status, r.out, r.err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cfg.Context("found")
	if err != nil {
		t.Fatal(err)
	}
	reg := cc.Regions[0]
	if reg.Kube.Namespace != ns || reg.Kafka.Brokers[0] != p.Kafka.Brokers[0] || reg.Kafka.Group != "wotr-consumer-group" ||
		reg.Redis.Addr != redisAddr || !strings.Contains(reg.Postgres.DSN, "127.0.0.1:") {
		t.Fatalf("discovered region %+v", reg)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", st.Mode().Perm())
	}

	// again: refused without --force, and the file is unchanged
	before, _ := os.ReadFile(path)
	r = app.run("config", "init", "--kubeconfig", p.Kube.Kubeconfig, "--namespace", ns, "--name", "found", "--config", path)
	mustCode(t, r, ExitUsage)
	if !strings.Contains(r.err, `context "found" already exists`) || !strings.Contains(r.err, "--force") {
		t.Errorf("second init: %q", r.err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("refused init changed the config")
	}
	r = app.run("config", "init", "--kubeconfig", p.Kube.Kubeconfig, "--namespace", ns, "--name", "found", "--force", "--config", path)
	mustCode(t, r, ExitFailed) // replaced; postgres still fails its check
	if !strings.Contains(r.out, `wrote context "found"`) {
		t.Errorf("--force did not write: %s", r.out)
	}

	// a namespace without the platform is a clear failure, and writes nothing
	empty := filepath.Join(t.TempDir(), "config.yaml")
	r = app.run("config", "init", "--kubeconfig", p.Kube.Kubeconfig, "--namespace", "default", "--config", empty)
	mustCode(t, r, ExitFailed)
	if !strings.Contains(r.err, "wotr-api") || !strings.Contains(r.err, "default") {
		t.Errorf("no platform: %q", r.err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Error("init without a platform wrote a config")
	}
}

func TestConfigInitRefusesBadFlags(t *testing.T) {
	app := newCLI(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	_ = os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--namespace", "wotr"}, "--kubeconfig is required"},
		{[]string{"--kubeconfig", "/no/such/file", "--namespace", "wotr"}, `--kubeconfig "/no/such/file": must be a readable file`},
		{[]string{"--kubeconfig", kc}, "--namespace is required"},
		{[]string{"--kubeconfig", kc, "--namespace", "wotr", "--name", "../x"}, "--name"},
	}
	for _, c := range cases {
		r := app.run(append(append([]string{"config", "init"}, c.args...), "--config", path)...)
		mustCode(t, r, ExitUsage)
		if !strings.Contains(r.err, c.want) {
			t.Errorf("%v: %q, want %q", c.args, r.err, c.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a refused init wrote the config")
	}
}
