package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// WritePrivate replaces path with data atomically (temp file, fsync,
// rename): 0600, in a directory created 0700. The console's files (config,
// run state, reports) hold endpoints and incident detail: owner only.
func WritePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // created 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var fileNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:+=-]{0,99}$`)

// FileNamePart checks a name that becomes part of a file name: 1-100 of
// letters, digits and . _ @ : + = -, starting with a letter or digit, with
// no "..", so it cannot leave its directory.
func FileNamePart(what, v string) error {
	if !fileNameRe.MatchString(v) || strings.Contains(v, "..") {
		return fmt.Errorf("%s %q: it names a file, so it must be 1-100 letters, digits or . _ @ : + = -, start with a letter or digit, and contain no '/' or '..'", what, v)
	}
	return nil
}
