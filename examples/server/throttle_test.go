package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestFailedAuthThrottled checks that the server throttles failed
// authentication by default: 30 failures from one address, then 429.
func TestFailedAuthThrottled(t *testing.T) {
	s := start(t, t.TempDir())
	get := func(token string) (int, string) {
		t.Helper()
		r, err := http.NewRequestWithContext(t.Context(), "GET", s.url+"/api/v4/personal_access_tokens/self", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Private-Token", token)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	bad := "glpat-" + strings.Repeat("x", 34)
	for i := range 30 {
		if code, body := get(bad); code != 401 {
			t.Fatalf("failure %d: %d %s", i+1, code, body)
		}
	}
	if code, body := get(bad); code != 429 || body != "Retry later\n" {
		t.Errorf("31st failure: %d %q, want 429 \"Retry later\\n\"", code, body)
	}
}
