package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wotr/wotr-tui/backends/kube"
	"github.com/wotr/wotr-tui/ops/config"
)

// checkTimeout bounds the connection check of one discovered endpoint.
const checkTimeout = 3 * time.Second

type initFlags struct {
	kubeconfig, kubeContext, namespace, name string
	force                                    bool
}

func newConfigInitCmd(d *deps) *cobra.Command {
	f := &initFlags{}
	cmd := &cobra.Command{
		Use:   "init --kubeconfig K [--context C] --namespace N [--name NAME] [--force]",
		Short: "Find the platform in a cluster, check each endpoint and write it as a context",
		Long: "init reads the wotr-api and wotr-consumer Deployments' env (POSTGRES_HOST, REDIS_HOST, KAFKA_BOOTSTRAP,\n" +
			"KAFKA_GROUP_ID, CLICKHOUSE_HOST and ports) and the namespace's Services (Prometheus; a Service's external\n" +
			"IP or load balancer is used when it has one, else its cluster DNS name), connects to each endpoint and\n" +
			"reports ok or failed, then writes the context (0600). An existing context of the same name is kept\n" +
			"unless --force. Exit 1 when an endpoint failed its check (the context is written all the same).",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runConfigInit(cmd, d, f) },
	}
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (required)")
	// --context here is the kubeconfig's context, as kubectl's flag of that name
	cmd.Flags().StringVar(&f.kubeContext, "context", "", "context of the kubeconfig (default: its current one)")
	cmd.Flags().StringVar(&f.namespace, "namespace", "", "namespace the platform runs in (required)")
	cmd.Flags().StringVar(&f.name, "name", "", "name of the wotr context to write (default: --context, else the namespace)")
	cmd.Flags().BoolVar(&f.force, "force", false, "replace an existing context of the same name")
	return cmd
}

func (f *initFlags) validate() error {
	if f.kubeconfig == "" {
		return errors.New("--kubeconfig is required: the kubeconfig of the cluster the platform runs in")
	}
	if st, err := os.Stat(f.kubeconfig); err != nil || st.IsDir() {
		return fmt.Errorf("--kubeconfig %q: must be a readable file", f.kubeconfig)
	}
	if f.namespace == "" {
		return errors.New("--namespace is required: the namespace of the wotr-api Deployment")
	}
	if f.name == "" {
		f.name = f.kubeContext
	}
	if f.name == "" {
		f.name = f.namespace
	}
	return config.FileNamePart("--name", f.name)
}

// endpointCheck is one line of init's report.
type endpointCheck struct {
	system, address string
	err             error
}

func runConfigInit(cmd *cobra.Command, d *deps, f *initFlags) error {
	path := d.flags.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	ctx, cancel := context.WithTimeout(cmdContext(cmd), 30*time.Second)
	defer cancel()
	checks, err := initContext(ctx, path, f)
	if checks == nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	writeChecks(tw, checks)
	_ = tw.Flush()
	fmt.Fprintf(d.out, "wrote context %q to %s\n", f.name, path)
	return err
}

// initContext is config init for the verb and the console's first-run form:
// validate, discover, check, write. checks is nil when nothing was written;
// a non-nil error with checks means some endpoint failed its check.
func initContext(ctx context.Context, path string, f *initFlags) ([]endpointCheck, error) {
	if err := f.validate(); err != nil {
		return nil, withCode(ExitUsage, err)
	}
	cfg, err := config.Load(path)
	switch {
	case config.IsNoConfig(err):
	case err != nil:
		return nil, withCode(ExitUsage, err)
	default:
		for _, c := range cfg.Contexts {
			if c.Name == f.name && !f.force {
				return nil, withCode(ExitUsage, fmt.Errorf("context %q already exists in %s: choose another --name or pass --force to replace it", f.name, path))
			}
		}
	}
	ep := config.KubeEndpoint{Kubeconfig: f.kubeconfig, Context: f.kubeContext, Namespace: f.namespace}
	kc, err := kube.New(ep)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	region, err := kc.Discover(ctx, ep)
	if err != nil {
		return nil, withCode(ExitFailed, err)
	}
	checks := checkEndpoints(ctx, region)
	cc := config.ContextConfig{Name: f.name, Regions: []config.RegionConfig{region}}
	if err := config.SaveContext(path, cc); err != nil {
		return nil, withCode(ExitFailed, err)
	}
	failed := 0
	for _, c := range checks {
		if c.err != nil {
			failed++
		}
	}
	if failed > 0 {
		return checks, withCode(ExitFailed, fmt.Errorf("%d of %d endpoints failed their check (the context is written; fix the addresses in %s)", failed, len(checks), path))
	}
	return checks, nil
}

// writeChecks is init's report table.
func writeChecks(w io.Writer, checks []endpointCheck) {
	fmt.Fprintln(w, "ENDPOINT\tADDRESS\tCHECK")
	for _, c := range checks {
		status := "ok"
		if c.err != nil {
			status = "failed: " + config.MaskSecrets(c.err.Error())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.system, c.address, status)
	}
}

// checkEndpoints connects to each discovered endpoint (a TCP connect; the
// cluster itself answered discovery).
func checkEndpoints(ctx context.Context, r config.RegionConfig) []endpointCheck {
	out := []endpointCheck{{system: "kube", address: r.Kube.Namespace + " in " + r.Kube.Kubeconfig}}
	dial := func(system, addr string) {
		dctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
		if err == nil {
			conn.Close()
		}
		out = append(out, endpointCheck{system: system, address: addr, err: err})
	}
	if r.Kafka != nil {
		for _, b := range r.Kafka.Brokers {
			dial("kafka", b)
		}
	}
	if r.Postgres != nil {
		if u, err := url.Parse(r.Postgres.DSN); err == nil {
			dial("postgres", u.Host)
		}
	}
	if r.Redis != nil {
		dial("redis", r.Redis.Addr)
	}
	if r.ClickHouse != nil {
		for _, a := range r.ClickHouse.Addrs {
			dial("clickhouse", a)
		}
	}
	if r.Prometheus != nil {
		dial("prometheus", strings.TrimPrefix(r.Prometheus.URL, "http://"))
	}
	return out
}
