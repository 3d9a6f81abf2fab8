package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestHeaderLimit checks that the server refuses request lines and headers
// far beyond what a GitLab client sends, instead of the 1 MiB net/http
// accepts by default.
func TestHeaderLimit(t *testing.T) {
	s := start(t, t.TempDir())
	for _, tt := range []struct {
		name, path string
		header     string
	}{
		{"huge header", "/api/v4/personal_access_tokens", strings.Repeat("x", 200<<10)},
		{"huge URL", "/api/v4/personal_access_tokens?search=" + strings.Repeat("x", 200<<10), ""},
	} {
		r, err := http.NewRequestWithContext(t.Context(), "GET", s.url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.header != "" {
			r.Header.Set("X-Padding", tt.header)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: status %d, want 431", tt.name, res.StatusCode)
		}
	}
}
