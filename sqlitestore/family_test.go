package sqlitestore_test

import (
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// A cycle of previous_id links edited into the table by hand (a → b → c
// → a) ends the walk: only links to larger IDs are followed.
func TestRevokeDescendantsHandEditedCycle(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
	s := newStore(t, db, &sqlitestore.Options{TablePrefix: "patkit_"})
	ctx := t.Context()
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		tok := token(name)
		if len(ids) > 0 {
			tok.PreviousID = ids[len(ids)-1]
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	a, b, c := ids[0], ids[1], ids[2]
	if _, err := db.ExecContext(ctx, "UPDATE patkit_tokens SET previous_id = ? WHERE id = ?", c, a); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		id   int64
		want []int64
	}{{c, nil}, {b, []int64{c}}, {a, []int64{b}}, {a, nil}} {
		got, err := s.RevokeDescendants(ctx, step.id, time.Now())
		if err != nil {
			t.Fatalf("RevokeDescendants(%d): %v", step.id, err)
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("RevokeDescendants(%d) = %v, want %v", step.id, got, step.want)
		}
	}
	if tok, err := s.Get(ctx, a); err != nil || tok.Revoked {
		t.Errorf("token %d, the start of the cycle: %+v, %v; want it unrevoked", a, tok, err)
	}
}

// Reuse detection on one Service revokes the family in one write, and a
// second Service on the file, watching, with the active member cached and
// its clock frozen (so CacheTTL never ends), refuses that member: the
// feed reported the family's revocation.
func TestFamilyRevocationWatched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	opts := &patkit.Options{CacheTTL: time.Hour, Now: func() time.Time { return now }}
	a, b := serviceOn(t, path, opts), serviceOn(t, path, opts)
	watching := make(chan error, 1)
	var wg sync.WaitGroup
	ctx, cancel := contextWithCancel(t)
	wg.Go(func() { watching <- b.Watch(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	root := admin(t, a)
	tok, first, err := a.CreateToken(t.Context(), root, 2, patkit.TokenOptions{Name: "weekly", Scopes: []patkit.Scope{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	secret := first
	for range 10 {
		if tok, secret, err = a.RotateToken(t.Context(), root, tok.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Fatal(err) // b now caches the active member
	}
	if _, err := a.Authenticate(t.Context(), first, patkit.AuthRequest{Rotate: true}); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Fatalf("reuse of the first token: %v, want ErrTokenRevoked", err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		_, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{})
		if errors.Is(err, patkit.ErrTokenRevoked) {
			return
		}
		if err != nil {
			t.Fatalf("b: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("b still accepts the active member %v after the family was revoked", waitLimit)
		}
		select {
		case err := <-watching:
			t.Fatalf("Watch returned: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
}
