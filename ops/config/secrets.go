package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

const masked = "xxxxx"

var (
	// [scheme:]//user:password@ anywhere in a text (a DSN or URL in any field).
	urlCredsRe = regexp.MustCompile(`((?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^\s/:@"']*):[^@\s"']*@`)
	// password=... in a keyword=value DSN or a URL query, quoted or not.
	passwordKVRe = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s"'&]+)`)
)

// secretKeys are config keys whose values are secret, or hold one.
var secretKeys = map[string]bool{"password": true, "dsn": true, "query-dsn": true}

// MaskSecrets returns text with URL credentials and password=... values
// masked, and with the passwords of the given secrets (DSNs or plain
// passwords) masked wherever they appear.
func MaskSecrets(text string, secrets ...string) string {
	var words []string
	for _, s := range secrets {
		words = append(words, passwordsIn(s)...)
	}
	// Longest first, so a password containing another is masked whole.
	sort.Slice(words, func(i, j int) bool { return len(words[i]) > len(words[j]) })
	for _, w := range words {
		if len(w) >= 4 {
			text = strings.ReplaceAll(text, w, masked)
			// As a rule's %q quotes it.
			text = strings.ReplaceAll(text, strings.Trim(strconv.Quote(w), `"`), masked)
		} else {
			// A short one masked everywhere would garble the message; it is
			// masked where a rule quotes a value.
			text = strings.ReplaceAll(text, fmt.Sprintf("%q", w), `"`+masked+`"`)
		}
	}
	text = urlCredsRe.ReplaceAllString(text, "${1}:"+masked+"@")
	return passwordKVRe.ReplaceAllString(text, "${1}"+masked)
}

// passwordsIn is the secret part of s: a DSN's password (URL userinfo,
// ?password= or password=), or s itself when it is not a DSN.
func passwordsIn(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	if strings.Contains(s, "//") {
		if u, err := url.Parse(s); err == nil {
			if p, ok := u.User.Password(); ok && p != "" {
				out = append(out, p, url.PathEscape(p), url.QueryEscape(p))
			}
			if p := u.Query().Get("password"); p != "" {
				out = append(out, p, url.QueryEscape(p))
			}
		}
		if m := urlCredsRe.FindStringSubmatchIndex(s); m != nil {
			// An unparsable URL: the text between "user:" and "@".
			rest := s[m[3]+1 : m[1]-1]
			if rest != "" {
				out = append(out, rest)
			}
		}
	}
	for _, m := range passwordKVRe.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Trim(m[2], "'"), m[2])
	}
	if len(out) == 0 && !strings.Contains(s, "://") && !strings.Contains(s, "=") {
		out = append(out, s) // a plain password
	}
	return out
}

// secretsOf collects the values of secret keys anywhere in doc.
func secretsOf(doc *yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if secretKeys[strings.ToLower(k.Value)] && v.Kind == yaml.ScalarNode {
					out = append(out, v.Value)
				}
			}
		}
		if n.Kind == yaml.AliasNode {
			return // never followed: RefuseAliases reports it
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// AliasError is an anchor or alias found where none is allowed.
type AliasError struct {
	Line int
	Rule string
}

func (e *AliasError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Rule) }

// RefuseAliases reports the first YAML anchor (&name) or alias (*name) in
// doc, walked without following aliases: a few lines of aliases can expand
// to billions of nodes, and no config or runbook needs them.
func RefuseAliases(doc *yaml.Node) *AliasError {
	var found *AliasError
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil {
			return
		}
		switch {
		case n.Kind == yaml.AliasNode:
			found = &AliasError{Line: n.Line, Rule: fmt.Sprintf("YAML alias *%s is not allowed: write the value out", n.Value)}
			return
		case n.Anchor != "":
			found = &AliasError{Line: n.Line, Rule: fmt.Sprintf("YAML anchor &%s is not allowed: anchors and aliases are refused (write each value out)", n.Anchor)}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	return found
}
