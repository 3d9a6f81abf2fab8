package sqlitestore_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// testDirectory holds user 1, an administrator, and user 2.
func testDirectory() *patkit.MemDirectory {
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	return dir
}

// sharedKey is the instance key of the Services on a shared file.
var sharedKey = []byte("a shared instance key of 32 bytes")

// serviceOn returns a Service on a Store of its own (Open) on path, with
// testDirectory and sharedKey. The Store is closed at the end of the test.
func serviceOn(tb testing.TB, path string, opts *patkit.Options) *patkit.Service {
	tb.Helper()
	s, err := sqlitestore.Open(tb.Context(), path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	svc, err := patkit.New(s, testDirectory(), sharedKey, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// admin returns user 1 of testDirectory, an administrator.
func admin(tb testing.TB, svc *patkit.Service) *patkit.Principal {
	tb.Helper()
	p, err := svc.Principal(tb.Context(), 1, false)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestTwoProcessesRevocationBound runs two Services on two Stores over one
// file, as two processes would, neither running Service.Watch: a
// revocation on one reaches the other's authentication cache when the
// cached entry's lifetime (Options.CacheTTL) ends, the bound that remains
// when Watch is not running.
func TestTwoProcessesRevocationBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	opts := &patkit.Options{CacheTTL: 30 * time.Second, Now: func() time.Time { return now }}
	a, b := serviceOn(t, path, opts), serviceOn(t, path, opts)
	root := admin(t, a)
	tok, secret, err := a.CreateToken(t.Context(), root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Fatal(err) // b now caches the token
	}
	if err := a.RevokeToken(t.Context(), root, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(t.Context(), secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Fatalf("a after its own revocation: %v", err)
	}
	now = now.Add(29 * time.Second)
	if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Fatalf("b within CacheTTL: %v (the documented bound says it may still accept)", err)
	}
	now = now.Add(time.Second)
	if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Fatalf("b after CacheTTL: %v, want ErrTokenRevoked", err)
	}
}
