package config

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// No config error shows a secret, wherever the secret was put.
func TestParseErrorsNeverShowSecrets(t *testing.T) {
	region := "contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n"
	cases := []struct {
		name, yaml, secret string
	}{
		{"dsn in a redis addr", region + "        redis: {addr: \"postgres://wotr:Tr0ub4dor@pg:5432/wotr\"}\n", "Tr0ub4dor"},
		{"dsn in a broker", region + "        kafka: {brokers: [\"postgres://wotr:Tr0ub4dor@pg:5432/wotr\"]}\n", "Tr0ub4dor"},
		{"kv dsn in a broker", region + "        kafka: {brokers: [\"host=pg password=Tr0ub4dor\"]}\n", "Tr0ub4dor"},
		{"url credentials in prometheus", region + "        prometheus: {url: \"ftp://admin:Tr0ub4dor@prom:9090\"}\n", "Tr0ub4dor"},
		{"url credentials in a namespace", region + "        kube: {kubeconfig: /k, namespace: \"https://u:Tr0ub4dor@x\"}\n", "Tr0ub4dor"},
		{"kv dsn bad pair", region + "        postgres: {dsn: \"host=pg password=Tr0ub4dor sslmode\"}\n", "Tr0ub4dor"},
		{"quoted kv password", region + "        postgres: {dsn: \"host=pg password='Tr0 ub4dor' sslmode\"}\n", "Tr0 ub4dor"},
		{"url dsn bad scheme", region + "        postgres: {dsn: \"mysql://wotr:Tr0ub4dor@pg/wotr\"}\n", "Tr0ub4dor"},
		{"query password in url", region + "        postgres: {dsn: \"mysql://pg/wotr?password=Tr0ub4dor\"}\n", "Tr0ub4dor"},
		{"bad query-dsn", region + "        postgres: {dsn: \"postgres://pg/wotr\", query-dsn: \"postgres://ro:Tr0ub4dor@pg:99999/wotr\"}\n", "Tr0ub4dor"},
		{"dsn as a bool", "contexts:\n  - name: a\n    read-only: \"postgres://wotr:Tr0ub4dor@pg/wotr\"\n    regions:\n      - name: r\n        role: primary\n", "Tr0ub4dor"},
		{"dsn in the wrong key", region + "        postgres: {dsn: \"postgres://pg/wotr\", url: \"postgres://wotr:Tr0ub4dor@pg/wotr\"}\n", "Tr0ub4dor"},
		{"redis password as a mapping", region + "        redis: {addr: \"r:1\", password: {p: Tr0ub4dor}}\n", ""},
		{"redis password with a bad addr", region + "        redis: {addr: \"Tr0ub4dor\", password: Tr0ub4dor}\n", "Tr0ub4dor"},
		{"clickhouse password as an addr", region + "        clickhouse: {addrs: [\"Tr0ub4dor\"], password: Tr0ub4dor}\n", "Tr0ub4dor"},
		{"short password quoted", region + "        redis: {addr: \"pw7\", password: pw7}\n", `"pw7"`},
		{"password in a context name", "current-context: \"postgres://u:Tr0ub4dor@h/d\"\ncontexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n", "Tr0ub4dor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("parsed")
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Fatalf("error shows the secret %q:\n%v", c.secret, err)
			}
			if !strings.Contains(err.Error(), "config.yaml:") {
				t.Fatalf("error does not name the file and line: %v", err)
			}
		})
	}
}

func TestMaskSecrets(t *testing.T) {
	cases := []struct{ in, want string }{
		{`address "postgres://wotr:s3cret@pg:5432/wotr" must be host:port`, `address "postgres://wotr:xxxxx@pg:5432/wotr" must be host:port`},
		{`dsn host=pg password=s3cret user=wotr`, `dsn host=pg password=xxxxx user=wotr`},
		{`dsn host=pg password='s3 cret' user=wotr`, `dsn host=pg password=xxxxx user=wotr`},
		{`url "http://prom:9090/api?x=1&password=s3cret&y=2"`, `url "http://prom:9090/api?x=1&password=xxxxx&y=2"`},
		{`nothing secret: http://prom:9090`, `nothing secret: http://prom:9090`},
	}
	for _, c := range cases {
		if got := MaskSecrets(c.in); got != c.want {
			t.Errorf("MaskSecrets(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
	if got := MaskSecrets(`got "hunter2" and hunter2`, "hunter2"); strings.Contains(got, "hunter2") {
		t.Errorf("known secret not masked: %s", got)
	}
}

// Anchors and aliases are refused with their line, before anything expands
// them: the billion laughs document fails at once.
func TestParseRefusesYAMLAliases(t *testing.T) {
	laughs := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = n
	}
	cases := []struct {
		name, yaml string
		line       int
		want       string
	}{
		{"billion laughs", laughs, 1, "YAML anchor &a is not allowed"},
		{"shared region", "contexts:\n  - name: a\n    regions:\n      - &r {name: r, role: primary}\n      - *r\n", 4, "YAML anchor &r is not allowed"},
		{"alias of an undefined anchor", "contexts:\n  - name: a\n    regions: *nothing\n", 0, "unknown anchor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("config.yaml", []byte(c.yaml))
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s", took)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if c.line > 0 && !strings.Contains(err.Error(), "config.yaml:"+strconv.Itoa(c.line)+":") {
				t.Fatalf("err = %v, want line %d", err, c.line)
			}
		})
	}
}
