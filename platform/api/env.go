package api

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Env reads typed settings from environment-style variables and collects every
// invalid value, so a misconfigured service reports all its mistakes at once.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
	vars   []EnvVar
}

// EnvVar describes one setting as it was read: its default and the values
// it accepts (empty for free text).
type EnvVar struct {
	Name, Default, Accepts string
}

// Vars lists the settings read so far, in reading order.
func (e *Env) Vars() []EnvVar { return e.vars }

// describe records a setting; a later, more specific reader of the same
// name (List over String) replaces what the earlier one said.
func (e *Env) describe(name, def, accepts string) {
	for i := range e.vars {
		if e.vars[i].Name == name {
			e.vars[i] = EnvVar{name, def, accepts}
			return
		}
	}
	e.vars = append(e.vars, EnvVar{name, def, accepts})
}

// NewEnv reads from lookup; nil means os.LookupEnv.
func NewEnv(lookup func(string) (string, bool)) *Env {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Env{lookup: lookup}
}

// MapLookup adapts a map for NewEnv (tests, embedding).
func MapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Err returns every invalid value seen so far, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }

func (e *Env) get(name string) (string, bool) {
	v, ok := e.lookup(name)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (e *Env) fail(name, value, rule string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: %s", name, value, rule))
}

// String returns the value or def when unset or empty.
func (e *Env) String(name, def string) string {
	e.describe(name, def, "")
	if v, ok := e.get(name); ok {
		return v
	}
	return def
}

// Int returns an integer within [min, max].
func (e *Env) Int(name string, def, min, max int) int {
	e.describe(name, strconv.Itoa(def), fmt.Sprintf("integer from %d to %d", min, max))
	v, ok := e.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.fail(name, v, fmt.Sprintf("must be an integer from %d to %d", min, max))
		return def
	}
	return n
}

// Port returns a TCP port number.
func (e *Env) Port(name string, def int) int {
	e.describe(name, strconv.Itoa(def), "TCP port")
	v, ok := e.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		e.fail(name, v, "must be a TCP port number from 1 to 65535")
		return def
	}
	return n
}

// Duration returns a Go duration (e.g. "250ms", "5s") within [min, max].
func (e *Env) Duration(name string, def, min, max time.Duration) time.Duration {
	e.describe(name, def.String(), fmt.Sprintf("duration from %s to %s", min, max))
	v, ok := e.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		e.fail(name, v, fmt.Sprintf("must be a duration (like 500ms or 5s) from %s to %s", min, max))
		return def
	}
	return d
}

// List returns a comma-separated list with empty items dropped.
func (e *Env) List(name, def string) []string {
	var out []string
	for _, s := range strings.Split(e.String(name, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	e.describe(name, def, "comma-separated list")
	if len(out) == 0 {
		e.fail(name, "", "must list at least one host:port")
	}
	return out
}

// HostPorts checks that each item is host:port with a valid port.
func (e *Env) HostPorts(name, def string) []string {
	items := e.List(name, def)
	e.describe(name, def, "comma-separated host:port list")
	for _, it := range items {
		i := strings.LastIndexByte(it, ':')
		if i <= 0 {
			e.fail(name, it, "each item must be host:port")
			continue
		}
		if p, err := strconv.Atoi(it[i+1:]); err != nil || p < 1 || p > 65535 {
			e.fail(name, it, "each item must be host:port with a port from 1 to 65535")
		}
	}
	return items
}

// Bool accepts true/false, 1/0, yes/no.
func (e *Env) Bool(name string, def bool) bool {
	e.describe(name, strconv.FormatBool(def), "true or false")
	v, ok := e.get(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	e.fail(name, v, "must be true or false")
	return def
}

// WriteEnvHelp prints settings as a help section: name, default, accepted values.
func WriteEnvHelp(w io.Writer, vars []EnvVar) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tACCEPTS")
	for _, v := range vars {
		def, accepts := v.Default, v.Accepts
		if def == "" {
			def = "(empty)"
		}
		if accepts == "" {
			accepts = "text"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, accepts)
	}
	_ = tw.Flush()
}

// WriteServiceHelp prints a service's --help: synopsis, what it does, its
// flags and its environment.
func WriteServiceHelp(w io.Writer, flags *flag.FlagSet, synopsis, about string, vars []EnvVar) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, about)
	flags.SetOutput(w)
	flags.PrintDefaults()
	fmt.Fprintln(w, "\nEnvironment (an invalid value stops startup with the variable and its rule):")
	WriteEnvHelp(w, vars)
}
