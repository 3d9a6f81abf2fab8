package patkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly proves the root package imports nothing outside
// the standard library, so embedding patkit costs a host no dependencies.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/patkit/patkit" {
			t.Errorf("root package depends on %s", p)
		}
	}
}
