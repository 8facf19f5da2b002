// Package config loads, validates and saves config.yaml: named contexts, their
// regions and each region's endpoints; it also owns the XDG paths (config and
// state homes) and DSN masking.
package config
