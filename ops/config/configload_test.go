package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodConfig = `current-context: prod
contexts:
  - name: prod
    regions:
      - name: eu-west
        role: primary
        kube: {kubeconfig: /etc/kube/config, namespace: wotr}
        kafka: {brokers: ["kafka-1:9092", "kafka-2:9092"], group: wotr-consumer-group}
        prometheus: {url: "http://prom:9090"}
        postgres: {dsn: "postgres://wotr:s3cret@pg:5432/wotr?sslmode=disable"}
        redis: {addr: "redis:6379"}
        clickhouse: {addrs: ["ch-1:9000", "ch-2:9000"]}
        haproxy: {socket: /run/haproxy/admin.sock, backend: wotr_api_backend}
      - name: eu-central
        role: secondary
        postgres: {dsn: "host=pg2 port=5432 user=wotr password=hunter2"}
`

func TestParseConfigGood(t *testing.T) {
	cfg, err := Parse("config.yaml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cfg.Context("")
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Name != "prod" || len(ctx.Regions) != 2 || ctx.Primary().Name != "eu-west" {
		t.Fatalf("unexpected context: %+v", ctx)
	}
	if got := ctx.Regions[0].Kafka.Brokers[1]; got != "kafka-2:9092" {
		t.Errorf("broker = %q", got)
	}
	if _, err := cfg.Context("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown context error = %v", err)
	}
}

func TestParseConfigErrorsNameFileLineAndRule(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"unknown key", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        kafak: {brokers: [a:1]}\n", 6, `unknown key "kafak"`},
		{"bad broker", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        kafka:\n          brokers:\n            - kafka-1\n", 8, `"kafka-1" must be host:port`},
		{"bad port", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        redis: {addr: \"redis:99999\"}\n", 6, "1..65535"},
		{"missing dsn", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        postgres: {data-dir: /x}\n", 6, "missing: PostgreSQL DSN"},
		{"bad role", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: boss\n", 5, `role "boss" must be primary or secondary`},
		{"missing name", "contexts:\n  - regions:\n      - name: r\n        role: primary\n", 2, "every context needs a name"},
		{"bad url", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        prometheus: {url: \"prom:9090\"}\n", 6, "must be http:// or https://"},
		{"current missing", "current-context: b\ncontexts:\n  - name: a\n    regions:\n      - {name: r, role: primary}\n", 1, `names context "b"`},
		{"not a list", "contexts:\n  name: a\n", 2, "must be a list"},
		{"relative socket", "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        haproxy: {socket: admin.sock}\n", 6, "absolute path"},
		{"two primaries", "contexts:\n  - name: a\n    regions:\n      - {name: r, role: primary}\n      - {name: s, role: primary}\n", 3, "at most one may"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("/cfg/config.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("not a ConfigError: %v", err)
			}
			if ce.File != "/cfg/config.yaml" || ce.Line != c.line || !strings.Contains(ce.Rule, c.want) {
				t.Errorf("got %q (line %d), want line %d and %q", err, ce.Line, c.line, c.want)
			}
			if !strings.HasPrefix(err.Error(), "/cfg/config.yaml:") {
				t.Errorf("error does not start with file:line: %q", err)
			}
		})
	}
}

func TestMaskDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://wotr:s3cret@pg:5432/wotr":    "postgres://wotr:xxxxx@pg:5432/wotr",
		"postgres://pg/wotr?password=s3cret":     "postgres://pg/wotr?password=xxxxx",
		"host=pg user=wotr password=s3cret":      "host=pg user=wotr password=xxxxx",
		"host=pg password='a b c' user=x":        "host=pg password=xxxxx user=x",
		"postgres://wotr@pg:5432/wotr":           "postgres://wotr@pg:5432/wotr",
		"host=/var/run/postgresql user=postgres": "host=/var/run/postgresql user=postgres",
	}
	for in, want := range cases {
		got := MaskDSN(in)
		if got != want {
			t.Errorf("MaskDSN(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("secret leaked: %q", got)
		}
	}
}

func TestSaveContextUpsertsOneContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wotr", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(goodConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	demo := ContextConfig{Name: "demo", Regions: []RegionConfig{{Name: "local", Role: "primary",
		Redis: &RedisEndpoint{Addr: "127.0.0.1:6380"}}}}
	if err := SaveContext(path, demo); err != nil {
		t.Fatal(err)
	}
	demo.Regions[0].Redis.Addr = "127.0.0.1:6381"
	if err := SaveContext(path, demo); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "prod" || len(cfg.Contexts) != 2 {
		t.Fatalf("current %q, %d contexts; want prod and 2", cfg.CurrentContext, len(cfg.Contexts))
	}
	prod, _ := cfg.Context("prod")
	if prod.Regions[0].Postgres.DSN != "postgres://wotr:s3cret@pg:5432/wotr?sslmode=disable" || len(prod.Regions) != 2 {
		t.Errorf("prod context changed: %+v", prod.Regions[0].Postgres)
	}
	d, _ := cfg.Context("demo")
	if d.Regions[0].Redis.Addr != "127.0.0.1:6381" {
		t.Errorf("demo redis = %q, want the second save", d.Regions[0].Redis.Addr)
	}

	// A new file gets current-context set to the saved context.
	fresh := filepath.Join(t.TempDir(), "config.yaml")
	if err := SaveContext(fresh, demo); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(fresh)
	if err != nil || cfg.CurrentContext != "demo" {
		t.Fatalf("fresh: %v %+v", err, cfg)
	}

	// An invalid file is not rewritten.
	bad := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(bad, []byte("contexts: {oops: 1}\n"), 0o600)
	if err := SaveContext(bad, demo); err == nil {
		t.Error("SaveContext rewrote an invalid file")
	}
}

func TestRegionsPrimaryFirst(t *testing.T) {
	cc := ContextConfig{Regions: []RegionConfig{{Name: "b", Role: "secondary"}, {Name: "a", Role: "primary"}, {Name: "c", Role: "secondary"}}}
	var got []string
	for _, r := range cc.RegionsPrimaryFirst() {
		got = append(got, r.Name)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("order %v, want a,b,c", got)
	}
	if cc.Regions[0].Name != "b" {
		t.Fatal("the context's own order changed")
	}
}
