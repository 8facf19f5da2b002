package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// NoConfigError is a first run: no config file yet. It says how to get one.
type NoConfigError struct{ Path string }

func (e *NoConfigError) Error() string {
	return fmt.Sprintf("no config at %s: run `wotr-tui demo` (or `make demo` in a clone of the repository) to start a local platform with its own context, "+
		"or `wotr-tui config init --kubeconfig K --context C --namespace N` to find the platform in a cluster", e.Path)
}

// Unwrap lets errors.Is(err, os.ErrNotExist) hold.
func (e *NoConfigError) Unwrap() error { return os.ErrNotExist }

// IsNoConfig reports a missing config file.
func IsNoConfig(err error) bool {
	var nc *NoConfigError
	return errors.As(err, &nc)
}

// ColorNames are the header colours a context may name.
var ColorNames = map[string]string{
	"black": "0", "red": "1", "green": "2", "yellow": "3", "blue": "4", "magenta": "5", "cyan": "6", "white": "7",
	"gray": "8", "orange": "208", "purple": "93",
}

var hexColorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// CheckColor validates a header colour.
func CheckColor(c string) error {
	if _, ok := ColorNames[c]; ok || hexColorRe.MatchString(c) {
		return nil
	}
	if n, err := strconv.Atoi(c); err == nil && n >= 0 && n <= 255 {
		return nil
	}
	names := make([]string, 0, len(ColorNames))
	for n := range ColorNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("colour %q must be one of %s, #rrggbb or an ANSI number 0-255", c, strings.Join(names, ", "))
}

// TerminalColor is c as a terminal colour: names become their ANSI number.
func TerminalColor(c string) string {
	if n, ok := ColorNames[c]; ok {
		return n
	}
	return c
}

// ContextNames are the contexts of the file, in file order.
func (c *Config) ContextNames() []string {
	out := make([]string, 0, len(c.Contexts))
	for _, ctx := range c.Contexts {
		out = append(out, ctx.Name)
	}
	return out
}

// UseContext sets current-context of the file at path to name, which must
// be one of its contexts; everything else in the file stays as it was.
func UseContext(path, name string) error {
	if path == "" {
		path = DefaultPath()
	}
	cfg, err := Load(path)
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("config: use-context needs a context name")
	}
	found := false
	for _, c := range cfg.Contexts {
		found = found || c.Name == name
	}
	if !found {
		return fmt.Errorf("config: context %q not found in %s (have: %s)", name, path, strings.Join(cfg.ContextNames(), ", "))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	root := doc.Content[0]
	if cur := mapValue(root, "current-context"); cur != nil {
		cur.Value = name
		cur.Tag, cur.Style = "!!str", 0
	} else {
		root.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "current-context"}, {Kind: yaml.ScalarNode, Value: name}}, root.Content...)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("config: encode: %w", err)
	}
	return WritePrivate(path, buf.Bytes())
}

// MaskedFile is the config file at path as written, with every secret
// (DSN passwords, password keys, URL credentials) masked: `config view`.
func MaskedFile(path string) (string, error) {
	if path == "" {
		path = DefaultPath()
	}
	if _, err := Load(path); err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("config: %s: %w", path, err)
	}
	secrets := secretsOf(&doc)
	maskValues(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	return MaskSecrets(buf.String(), secrets...), nil
}

// maskValues replaces the values of secret keys: a DSN keeps its shape with
// the password hidden, a password is hidden whole.
func maskValues(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !secretKeys[strings.ToLower(k.Value)] || v.Kind != yaml.ScalarNode {
				continue
			}
			if strings.Contains(strings.ToLower(k.Value), "dsn") {
				v.Value = MaskDSN(v.Value)
			} else if v.Value != "" {
				v.Value = masked
			}
		}
	}
	for _, c := range n.Content {
		maskValues(c)
	}
}
