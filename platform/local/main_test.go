package local_test

import (
	"os"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/platform/local"
	"github.com/wotr/wotr-tui/platform/local/localtest"
)

// One platform for the whole package. WOTR_LOCAL_ONLY=kafka,postgres narrows it
// while working on one component.
func TestMain(m *testing.M) {
	var opts local.Options
	if only := os.Getenv("WOTR_LOCAL_ONLY"); only != "" {
		opts.Only = strings.Split(only, ",")
	}
	os.Exit(localtest.Main(m, opts))
}
