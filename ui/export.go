package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/config"
	"github.com/wotr/wotr-tui/ops/present"
)

// exporter is a view that can hand over what it shows as a table.
type exporter interface {
	Export() (present.Table, bool)
}

type exportedMsg struct {
	path string
	err  error
}

// export writes the current view, filtered and sorted as shown, to CSV under
// $XDG_STATE_HOME/wotr/exports; the file is written in a command, off the
// update loop.
func (m *Model) export() tea.Cmd {
	var t present.Table
	e, ok := m.Current().(exporter)
	if ok {
		t, ok = e.Export()
	}
	if !ok {
		m.status = "nothing to export on this screen"
		return nil
	}
	name, now := m.Current().Name(), m.opts.Clock()
	return func() tea.Msg {
		path, err := writeExport(filepath.Join(config.StateHome(), "wotr", "exports"), name, now, t)
		return exportedMsg{path, err}
	}
}

// writeExport creates a new file (0600, in a 0700 dir) and never overwrites
// an earlier export of the same second.
func writeExport(dir, name string, now time.Time, t present.Table) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	base := name + "-" + now.UTC().Format("20060102-150405")
	for n := 1; n < 100; n++ {
		path := filepath.Join(dir, base+".csv")
		if n > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.csv", base, n))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		err = present.WriteCSV(f, t)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("export: %s: too many exports this second", filepath.Join(dir, base))
}
