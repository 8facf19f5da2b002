package runbook

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"

	"github.com/wotr/wotr-tui/ops/action"
	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/state"
)

//go:embed runbooks/*.yaml
var shippedRunbooks embed.FS

// Runbook kinds: a checklist reports every step; a diagnosis names the likely
// causes (the failing steps' causes) with their evidence.
const (
	RunbookChecklist = "checklist"
	RunbookDiagnosis = "diagnosis"
)

// Runbook is one file.
type Runbook struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`
	Steps       []Step `json:"steps"`
	// Source is where it was loaded from ("builtin" or a path); Hash identifies
	// the exact content so a resumed run never mixes two versions.
	Source string `json:"-"`
	Hash   string `json:"-"`
}

// Step is one of: a built-in check, a PromQL query, a SQL query, a Kubernetes
// query, an action, or a manual instruction. Exactly one of those fields is set.
type Step struct {
	ID    string `json:"id"`
	Title string `json:"title"`

	Check  string            `json:"check,omitempty"`
	PromQL string            `json:"promql,omitempty"`
	SQL    *SQLStep          `json:"sql,omitempty"`
	Kube   *KubeStep         `json:"kube,omitempty"`
	Action *action.Request   `json:"action,omitempty"`
	Manual string            `json:"manual,omitempty"`
	Args   map[string]string `json:"args,omitempty"`
	// Expect compares each value a query returns: "< 0.8", ">= 1", "== 0".
	Expect string `json:"expect,omitempty"`
	// Severity of a failed expectation: fail (default) or warn.
	Severity string `json:"severity,omitempty"`
	// Cause names what a failure of this step means (diagnoses); Fix what to do.
	Cause string `json:"cause,omitempty"`
	Fix   string `json:"fix,omitempty"`
}

// SQLStep runs a query on a store: "postgres" (the region that accepts
// writes now, so a drill follows a promotion), "clickhouse", or one region's
// server with "postgres@REGION" / "clickhouse@REGION".
type SQLStep struct {
	Store string `json:"store"`
	Query string `json:"query"`
}

// KubeStep reads one object and one field path of it (dot-separated; a list
// index or "*" for every element), e.g. spec.template.spec.containers.*.readinessProbe.
type KubeStep struct {
	Resource string `json:"resource"` // deployments, hpa, pdb, nodes, pods
	Name     string `json:"name"`
	Path     string `json:"path"`
}

// Kind of step, for display.
func (s Step) Kind() string {
	switch {
	case s.Check != "":
		return "check"
	case s.PromQL != "":
		return "promql"
	case s.SQL != nil:
		return "sql"
	case s.Kube != nil:
		return "kube"
	case s.Action != nil:
		return "action"
	case s.Manual != "":
		return "manual"
	}
	return "invalid"
}

// MaxFileSize bounds a runbook file: steps, not data.
const MaxFileSize = 1 << 20

// Parse parses and validates one runbook file. YAML anchors and aliases are
// refused: a few lines of them can expand to billions of nodes.
func Parse(source string, data []byte) (*Runbook, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("runbook %s: file is %d bytes; a runbook is at most %d", source, len(data), MaxFileSize)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("runbook %s: not valid YAML: %w", source, err)
	}
	if aerr := config.RefuseAliases(&doc); aerr != nil {
		return nil, fmt.Errorf("runbook %s:%d: %s", source, aerr.Line, aerr.Rule)
	}
	var rb Runbook
	if err := yaml.UnmarshalStrict(data, &rb); err != nil {
		return nil, fmt.Errorf("runbook %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	rb.Source, rb.Hash = source, hex.EncodeToString(sum[:8])
	if err := rb.validate(); err != nil {
		return nil, fmt.Errorf("runbook %s: %w", source, err)
	}
	return &rb, nil
}

func (rb *Runbook) validate() error {
	if rb.Name == "" {
		return fmt.Errorf("name is required")
	}
	if err := config.FileNamePart("runbook name", rb.Name); err != nil {
		return err
	}
	if rb.Kind == "" {
		rb.Kind = RunbookChecklist
	}
	if rb.Kind != RunbookChecklist && rb.Kind != RunbookDiagnosis {
		return fmt.Errorf("kind %q: must be %s or %s", rb.Kind, RunbookChecklist, RunbookDiagnosis)
	}
	if len(rb.Steps) == 0 {
		return fmt.Errorf("no steps")
	}
	seen := map[string]bool{}
	for i, s := range rb.Steps {
		if s.ID == "" {
			return fmt.Errorf("step %d: id is required", i+1)
		}
		if seen[s.ID] {
			return fmt.Errorf("step %q: duplicate id", s.ID)
		}
		seen[s.ID] = true
		n := 0
		for _, set := range []bool{s.Check != "", s.PromQL != "", s.SQL != nil, s.Kube != nil, s.Action != nil, s.Manual != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("step %q: exactly one of check, promql, sql, kube, action, manual must be set (found %d)", s.ID, n)
		}
		if s.Check != "" {
			if _, ok := runbookChecks[s.Check]; !ok {
				return fmt.Errorf("step %q: unknown check %q (known: %s)", s.ID, s.Check, strings.Join(CheckNames(), ", "))
			}
		}
		if s.Action != nil {
			// The action's own specs: a step cannot pass what the CLI and the
			// console could not.
			if _, err := action.ParseParams(s.Action.Kind, s.Action.Params); err != nil {
				return fmt.Errorf("step %q: %w", s.ID, err)
			}
			if err := action.RunbookRule(*s.Action); err != nil {
				return fmt.Errorf("step %q: %w", s.ID, err)
			}
		}
		if s.Expect != "" {
			if _, _, err := parseExpect(s.Expect); err != nil {
				return fmt.Errorf("step %q: %w", s.ID, err)
			}
		}
		if (s.PromQL != "" || s.SQL != nil) && s.Expect == "" {
			return fmt.Errorf("step %q: a query step needs expect (e.g. \"< 0.8\")", s.ID)
		}
		if s.SQL != nil {
			store, region, hasRegion := strings.Cut(s.SQL.Store, "@")
			if (state.System(store) != state.SystemPostgres && state.System(store) != state.SystemClickHouse) || (hasRegion && region == "") {
				return fmt.Errorf("step %q: sql store %q: must be postgres or clickhouse, optionally @REGION (postgres@secondary)", s.ID, s.SQL.Store)
			}
		}
		if s.Severity != "" && s.Severity != "fail" && s.Severity != "warn" {
			return fmt.Errorf("step %q: severity %q: must be fail or warn", s.ID, s.Severity)
		}
	}
	return nil
}

// LoadAll returns the shipped runbooks overridden and extended by the
// *.yaml files in overrideDir (which may not exist), sorted by name.
func LoadAll(overrideDir string) ([]*Runbook, error) {
	byName := map[string]*Runbook{}
	entries, err := shippedRunbooks.ReadDir("runbooks")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := shippedRunbooks.ReadFile("runbooks/" + e.Name())
		if err != nil {
			return nil, err
		}
		rb, err := Parse("builtin:"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		byName[rb.Name] = rb
	}
	if overrideDir != "" {
		files, _ := filepath.Glob(filepath.Join(overrideDir, "*.yaml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			rb, err := Parse(f, data)
			if err != nil {
				return nil, err
			}
			byName[rb.Name] = rb
		}
	}
	out := make([]*Runbook, 0, len(byName))
	for _, rb := range byName {
		out = append(out, rb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Find picks one by name, naming the known ones when it is missing.
func Find(all []*Runbook, name string) (*Runbook, error) {
	var names []string
	for _, rb := range all {
		if rb.Name == name {
			return rb, nil
		}
		names = append(names, rb.Name)
	}
	return nil, fmt.Errorf("unknown runbook %q (known: %s)", name, strings.Join(names, ", "))
}
