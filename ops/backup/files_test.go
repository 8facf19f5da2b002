package backup

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wotr/wotr-tui/ops/state"
)

func TestCatalogIsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups", "ctx")
	e := Entry{Backup: state.Backup{ID: NewSetID(time.Now()), Store: state.SystemPostgres}}
	if err := PutEntry(dir, e); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, CatalogFile): 0o600, dir: 0o700, filepath.Dir(dir): 0o700,
	} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
}
