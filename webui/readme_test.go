package webui_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeMountLines keeps the README's two mounting lines those of
// Example, which runs.
func TestReadmeMountLines(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`ui := webui.New(svc, &webui.Options{Principal: signedIn})`,
		`mux.Handle("/", ui)`,
	} {
		if !strings.Contains(string(readme), line) || !strings.Contains(string(example), line) {
			t.Errorf("README.md and Example must both hold %q", line)
		}
	}
}
