package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedAuthThrottled checks that the server throttles failed
// authentication by default: 30 failures from one address, then 429.
func TestFailedAuthThrottled(t *testing.T) {
	s := start(t, t.TempDir())
	bad := "glpat-" + strings.Repeat("x", 34)
	for i := range 30 {
		if code, body := s.getSelf(t, bad); code != 401 {
			t.Fatalf("failure %d: %d %s", i+1, code, body)
		}
	}
	if code, body := s.getSelf(t, bad); code != 429 || body != "Retry later\n" {
		t.Errorf("31st failure: %d %q, want 429 \"Retry later\\n\"", code, body)
	}
}

// TestFailedAuthLimitFlag checks -failed-auth-limit: 2 bans an address
// after its second failure, and 0 never does.
func TestFailedAuthLimitFlag(t *testing.T) {
	bad := "glpat-" + strings.Repeat("x", 34)
	dir := t.TempDir()
	s := startArgs(t, "-db", filepath.Join(dir, "two.db"), "-root-token-file", filepath.Join(dir, "two.token"), "-failed-auth-limit", "2")
	for i, want := range []int{401, 401, 429} {
		if code, body := s.getSelf(t, bad); code != want {
			t.Fatalf("failure %d: %d %s, want %d", i+1, code, body, want)
		}
	}
	s = startArgs(t, "-db", filepath.Join(dir, "off.db"), "-root-token-file", filepath.Join(dir, "off.token"), "-failed-auth-limit", "0")
	for i := range 40 {
		if code, body := s.getSelf(t, bad); code != 401 {
			t.Fatalf("failure %d without a limit: %d %s", i+1, code, body)
		}
	}
}

// getSelf sends GET /api/v4/personal_access_tokens/self with token and
// returns the status and body.
func (s *server) getSelf(t *testing.T, token string) (int, string) {
	t.Helper()
	code, _, body := s.send(t, "GET", "/api/v4/personal_access_tokens/self", token, nil)
	return code, string(body)
}
