package pools

import (
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/ops/state"
	"github.com/wotr/wotr-tui/ui/common"
)

// The same store in two regions: each server line says which.
func TestServerLinesNameTheirRegion(t *testing.T) {
	d := &common.Data{Snap: state.Snapshot{Pools: state.Pools{Stores: []state.StorePool{
		{Meta: state.Meta{Region: "primary"}, Store: state.SystemPostgres, Connections: 8, Limit: 200},
		{Meta: state.Meta{Region: "secondary"}, Store: state.SystemPostgres, Connections: 2, Limit: 200},
	}}}}
	lines := summary(common.NewContext(common.NoColorTheme()), d, 100)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], " postgres primary ") || !strings.HasPrefix(lines[1], " postgres secondary ") {
		t.Errorf("lines %q", lines)
	}
	if !strings.Contains(lines[0], "8/200") || !strings.Contains(lines[1], "2/200") {
		t.Errorf("figures lost: %q", lines)
	}
}
