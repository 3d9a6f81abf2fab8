package sqlitestore_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// TestTwoProcessesRevocationBound runs two Services on two Stores over one
// file, as two processes would. SQLite has no notification feed, so a
// revocation on one reaches the other's authentication cache only when the
// cached entry's lifetime (Options.CacheTTL) ends.
func TestTwoProcessesRevocationBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	key := []byte("a shared instance key of 32 bytes")
	opts := &patkit.Options{CacheTTL: 30 * time.Second, Now: clock}
	a, err := patkit.New(openPath(t, path, nil), dir, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := patkit.New(openPath(t, path, nil), dir, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Watch(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Watch on sqlitestore = %v, want ErrUnsupported", err)
	}
	root, err := a.Principal(t.Context(), 1, false)
	if err != nil {
		t.Fatal(err)
	}
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
