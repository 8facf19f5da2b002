package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const fuzzSecret = "Fz-s3cr3t-pw"

// Whatever the bytes, Parse returns a config or an error naming the file,
// quickly, and no error shows a secret the file holds.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte(strings.ReplaceAll(goodConfig, "s3cret", fuzzSecret)))
	f.Add([]byte("contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        redis: {addr: \"postgres://u:" + fuzzSecret + "@h/d\"}\n"))
	f.Add([]byte("contexts:\n  - name: a\n    regions:\n      - name: r\n        role: primary\n        postgres: {dsn: \"host=h password=" + fuzzSecret + " x\"}\n"))
	f.Add([]byte("a: &a [1, 2]\nb: [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		// A hang is a finding too: crash the worker so the input is kept.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", data)) })
		cfg, err := Parse("fuzz.yaml", data)
		watchdog.Stop()
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Parse took %s on %d bytes", took, len(data))
		}
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			for _, secret := range secretsIn(data) {
				if strings.Contains(msg, secret) {
					t.Fatalf("error shows the secret %q:\n%s", secret, msg)
				}
			}
			return
		}
		for _, c := range cfg.Contexts {
			if c.Name == "" || len(c.Regions) == 0 {
				t.Fatalf("accepted a context without a name or regions: %+v", c)
			}
		}
	})
}

// secretsIn is what a file holds in secret places: the values of password
// keys and the passwords of DSNs and URLs, in any field. Short ones are left
// out: masking "pw" everywhere would garble every message.
func secretsIn(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if strings.EqualFold(n.Content[i].Value, "password") && n.Content[i+1].Kind == yaml.ScalarNode {
					out = append(out, n.Content[i+1].Value)
				}
			}
		}
		if n.Kind == yaml.ScalarNode {
			if u, err := url.Parse(n.Value); err == nil && u.User != nil {
				if p, ok := u.User.Password(); ok {
					out = append(out, p)
				}
			}
			for _, m := range regexp.MustCompile(`password=([^\s'"&]+)`).FindAllStringSubmatch(n.Value, -1) {
				out = append(out, m[1])
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	var long []string
	for _, s := range out {
		if len(s) >= 4 {
			long = append(long, s)
		}
	}
	return long
}
