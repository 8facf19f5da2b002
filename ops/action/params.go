package action

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParamType is how a parameter's text is parsed.
type ParamType string

const (
	ParamInt      ParamType = "int"
	ParamBool     ParamType = "bool"
	ParamDuration ParamType = "duration"
	ParamString   ParamType = "string"
)

// ParamSpec declares one parameter of an action. The CLI's flags, the
// console dialog's inputs and the runbooks' action steps are derived from it,
// so a parameter is named, typed and defaulted in one place.
type ParamSpec struct {
	Name string
	Type ParamType
	// Default applies when the parameter is not given; "" means the action's
	// own default, described in Help.
	Default string
	Help    string
	// OperatorOnly marks a parameter that overrides a safety check (a PDB, a
	// refusal to delete data): only an operator at the CLI or the console may
	// set it, never a runbook.
	OperatorOnly bool
}

// regionParam is common to every action.
var regionParam = ParamSpec{Name: ParamRegion, Type: ParamString, Help: "region to act in (default: the primary)"}

// ParamRegion names the region an action acts in.
const ParamRegion = "region"

// Params lists the parameters of an action kind.
func Params(kind Kind) ([]ParamSpec, error) {
	impl, err := implFor(kind)
	if err != nil {
		return nil, err
	}
	return append(impl.params(), regionParam), nil
}

// ParamOf returns one parameter's spec.
func ParamOf(kind Kind, name string) (ParamSpec, bool) {
	specs, err := Params(kind)
	if err != nil {
		return ParamSpec{}, false
	}
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return ParamSpec{}, false
}

// RunbookRule is what a runbook's action step may not do, whatever the
// action: override a failed preflight check (force, reason) or set an
// operator-only parameter. Nil when req is allowed in a runbook.
func RunbookRule(req Request) error {
	if req.Force {
		return Invalidf("action %s: force overrides failed preflight checks; a runbook cannot set it, only an operator's --force --reason", req.Kind)
	}
	if req.Reason != "" {
		return Invalidf("action %s: reason goes with an operator's --force; a runbook cannot set it", req.Kind)
	}
	specs, err := Params(req.Kind)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if _, given := req.Params[s.Name]; given && s.OperatorOnly {
			return Invalidf("action %s: parameter %q overrides a safety check (%s); a runbook cannot set it, only an operator at the CLI or the console", req.Kind, s.Name, s.Help)
		}
	}
	return nil
}

// ParseParams checks raw parameters against the kind's specs: every name
// known, every value of its type. It returns the typed values (int, bool,
// time.Duration or string), defaults applied.
func ParseParams(kind Kind, raw map[string]string) (map[string]any, error) {
	specs, err := Params(kind)
	if err != nil {
		return nil, err
	}
	byName := map[string]ParamSpec{}
	var names []string
	for _, s := range specs {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	var unknown []string
	for k := range raw {
		if _, ok := byName[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, Invalidf("%s has no parameter %s (parameters: %s)", kind, strings.Join(quoteAll(unknown), ", "), strings.Join(names, ", "))
	}
	out := map[string]any{}
	for _, s := range specs {
		v, given := raw[s.Name]
		if !given || v == "" {
			v = s.Default
		}
		if v == "" {
			continue
		}
		typed, err := s.parse(v)
		if err != nil {
			return nil, Invalidf("%s parameter %s: %v", kind, s.Name, err)
		}
		out[s.Name] = typed
	}
	return out, nil
}

func (s ParamSpec) parse(v string) (any, error) {
	switch s.Type {
	case ParamInt:
		n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", v)
		}
		return n, nil
	case ParamBool:
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			return true, nil
		case "false", "0", "no":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false", v)
	case ParamDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", v)
		}
		return d, nil
	}
	return v, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// params are a request's parsed parameters; the accessors say whether the
// parameter was given (or defaulted).
type params map[string]any

func (p params) int(name string) (int, bool) {
	v, ok := p[name].(int)
	return v, ok
}

func (p params) bool(name string) bool {
	v, _ := p[name].(bool)
	return v
}

func (p params) duration(name string) (time.Duration, bool) {
	v, ok := p[name].(time.Duration)
	return v, ok
}

// paramsOf parses a request's parameters; Plan has already rejected bad ones.
func paramsOf(req Request) (params, error) {
	p, err := ParseParams(req.Kind, req.Params)
	return params(p), err
}
