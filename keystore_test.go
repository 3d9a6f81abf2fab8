package patkit_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

var otherKey = bytes.Repeat([]byte("o"), 32)

// TestWrongKeyRefused starts a Service with another key over a store that
// holds tokens: it must fail clearly, not answer 401 to every token.
func TestWrongKeyRefused(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	store := memstore.New()
	right := mustNew(t, store, w.dir, w)
	root, err := right.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := right.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err) // the store now remembers testKey
	}

	wrong, err := patkit.New(store, w.dir, otherKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.VerifyKey(ctx); !errors.Is(err, patkit.ErrKeyMismatch) {
		t.Fatalf("VerifyKey with another key = %v, want ErrKeyMismatch", err)
	}
	if _, err := wrong.Authenticate(ctx, secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrKeyMismatch) {
		t.Errorf("Authenticate with another key = %v, want ErrKeyMismatch", err)
	}
	if _, _, err := wrong.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}}); !errors.Is(err, patkit.ErrKeyMismatch) {
		t.Errorf("CreateToken with another key = %v, want ErrKeyMismatch", err)
	}
	// The right key still works.
	if _, err := right.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("the right key: %v", err)
	}
}

// TestKeyRotation rotates the instance key: tokens digested with the old
// one keep working and are re-digested under the new one on their next
// use; after that, the old key alone is refused.
func TestKeyRotation(t *testing.T) {
	w := newWorld(t, nil)
	store := memstore.New()
	old := mustNew(t, store, w.dir, w)
	root, err := old.Principal(t.Context(), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok, secret, err := old.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	oldDigest := tok.Digest

	rotated, err := patkit.New(store, w.dir, otherKey, &patkit.Options{PreviousKeys: [][]byte{testKey}, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := rotated.VerifyKey(ctx); err != nil {
		t.Fatalf("VerifyKey with the old key as previous: %v", err)
	}
	if _, err := rotated.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Fatalf("a token under the previous key: %v", err)
	}
	got, err := store.Get(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got.Digest, oldDigest) {
		t.Error("the token was not re-digested under the new key")
	}
	// Re-digested, it works without the previous key too.
	fresh, err := patkit.New(store, w.dir, otherKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("after re-digesting, the new key alone: %v", err)
	}
	// The store now remembers the new key: the old one alone is refused.
	back, err := patkit.New(store, w.dir, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.VerifyKey(ctx); !errors.Is(err, patkit.ErrKeyMismatch) {
		t.Errorf("VerifyKey with the replaced key = %v, want ErrKeyMismatch", err)
	}
	if _, err := patkit.New(store, w.dir, otherKey, &patkit.Options{PreviousKeys: [][]byte{[]byte("short")}}); err == nil {
		t.Error("a short previous key was accepted")
	}
}
