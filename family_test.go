package patkit_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// familyStore is a countingStore that is a patkit.FamilyRevoker, counting
// the calls of List and RevokeDescendants.
type familyStore struct {
	*countingStore
	revoker         patkit.FamilyRevoker
	lists, families atomic.Int64
	// fail, when set, is returned by RevokeDescendants after the family
	// was revoked: a commit whose acknowledgement was lost.
	fail error
}

func (s *familyStore) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	s.lists.Add(1)
	return s.countingStore.List(ctx, q)
}

func (s *familyStore) RevokeDescendants(ctx context.Context, id int64, at time.Time) ([]int64, error) {
	s.families.Add(1)
	ids, err := s.revoker.RevokeDescendants(ctx, id, at)
	if s.fail != nil {
		return nil, s.fail
	}
	return ids, err
}

// listCountingStore is a countingStore, not a FamilyRevoker, that counts
// the calls of List.
type listCountingStore struct {
	*countingStore
	lists atomic.Int64
}

func (s *listCountingStore) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	s.lists.Add(1)
	return s.countingStore.List(ctx, q)
}

// family is a token rotated n times through svc: its members in order
// (the first is the original) and the secret of each.
type family struct {
	tokens  []*patkit.Token
	secrets []string
}

func newFamily(t *testing.T, w *world, svc *patkit.Service, n int) *family {
	t.Helper()
	tok, secret, err := svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "weekly", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	f := &family{tokens: []*patkit.Token{tok}, secrets: []string{secret}}
	for range n {
		id := tok.ID
		tok, secret, err = svc.RotateToken(t.Context(), w.alice, id, time.Time{})
		if err != nil {
			t.Fatalf("RotateToken(%d): %v", id, err)
		}
		f.tokens = append(f.tokens, tok)
		f.secrets = append(f.secrets, secret)
	}
	return f
}

// last returns the active member and its secret.
func (f *family) last() (*patkit.Token, string) {
	return f.tokens[len(f.tokens)-1], f.secrets[len(f.secrets)-1]
}

// checkRevoked checks that every member of f is revoked in the store.
func (f *family) checkRevoked(t *testing.T, w *world) {
	t.Helper()
	for _, tok := range f.tokens {
		if !w.get(t, tok.ID).Revoked {
			t.Errorf("token %d of the family is not revoked", tok.ID)
		}
	}
}

// A Store that is a FamilyRevoker revokes a long family in one call: no
// List, no Revoke, and the active member is dropped from the cache at
// once.
func TestFamilyRevocationInOneCall(t *testing.T) {
	w := newWorld(t, nil)
	store := &familyStore{countingStore: w.store, revoker: w.store.Store.(patkit.FamilyRevoker)}
	svc := mustNew(t, store, w.dir, w)
	ctx := t.Context()
	f := newFamily(t, w, svc, 60) // a weekly rotation for more than a year
	active, secret := f.last()
	unrelated, su, err := svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: "other", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	wantErr(t, err, nil, "")
	for _, s := range []string{secret, su} {
		if _, err := svc.Authenticate(ctx, s, patkit.AuthRequest{}); err != nil {
			t.Fatalf("Authenticate before the reuse: %v", err) // cached; the clock stands still
		}
	}
	store.lists.Store(0)
	writes := store.writes.Load()

	_, err = svc.Authenticate(ctx, f.secrets[0], patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if n := store.families.Load(); n != 1 {
		t.Errorf("RevokeDescendants called %d times, want 1", n)
	}
	if n := store.lists.Load(); n != 0 {
		t.Errorf("List called %d times, want 0", n)
	}
	if n := store.writes.Load() - writes; n != 0 {
		t.Errorf("%d other writes, want 0", n)
	}
	f.checkRevoked(t, w)
	_, err = svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if w.get(t, unrelated.ID).Revoked {
		t.Error("unrelated token revoked")
	}
	if _, err := svc.Authenticate(ctx, su, patkit.AuthRequest{}); err != nil {
		t.Errorf("unrelated token after the reuse: %v", err)
	}
	if active.ID <= f.tokens[0].ID {
		t.Fatalf("IDs do not grow along the family: %d then %d", f.tokens[0].ID, active.ID)
	}

	// A second reuse, of a member in the middle, finds nothing to revoke.
	_, err = svc.Authenticate(ctx, f.secrets[30], patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if n, l := store.families.Load(), store.lists.Load(); n != 2 || l != 0 {
		t.Errorf("after the second reuse: RevokeDescendants called %d times, List %d; want 2 and 0", n, l)
	}
}

// A Store without the ability gets the walk through List and Revoke.
func TestFamilyRevocationFallback(t *testing.T) {
	w := newWorld(t, nil)
	store := &listCountingStore{countingStore: w.store}
	if _, ok := patkit.Store(store).(patkit.FamilyRevoker); ok {
		t.Fatal("the test store must not be a FamilyRevoker")
	}
	svc := mustNew(t, store, w.dir, w)
	ctx := t.Context()
	f := newFamily(t, w, svc, 60)
	_, secret := f.last()
	if _, err := svc.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Fatal(err)
	}
	writes := store.writes.Load()

	_, err := svc.Authenticate(ctx, f.secrets[0], patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	f.checkRevoked(t, w)
	_, err = svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	if n := store.writes.Load() - writes; n != 1 {
		t.Errorf("%d writes, want 1 (the Revoke of the active member)", n)
	}
	if n := store.lists.Load(); n < int64(len(f.tokens)) {
		t.Errorf("List called %d times, want one per member (%d)", n, len(f.tokens))
	}
}

// When RevokeDescendants fails, which tokens it revoked is unknown: a
// token cached before must be read from the store again.
func TestFamilyRevocationFailureDropsCache(t *testing.T) {
	w := newWorld(t, nil)
	fault := errors.New("commit acknowledgement lost")
	store := &familyStore{countingStore: w.store, revoker: w.store.Store.(patkit.FamilyRevoker), fail: fault}
	svc := mustNew(t, store, w.dir, w)
	ctx := t.Context()
	f := newFamily(t, w, svc, 3)
	_, secret := f.last()
	_, su, err := svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: "other", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	wantErr(t, err, nil, "")
	for _, s := range []string{secret, su} {
		if _, err := svc.Authenticate(ctx, s, patkit.AuthRequest{}); err != nil {
			t.Fatal(err)
		}
	}

	_, err = svc.Authenticate(ctx, f.secrets[0], patkit.AuthRequest{Rotate: true})
	if !errors.Is(err, fault) {
		t.Fatalf("reuse with a failing RevokeDescendants: %v, want the store's error", err)
	}
	_, err = svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	reads := store.getByDigest.Load()
	if _, err := svc.Authenticate(ctx, su, patkit.AuthRequest{}); err != nil {
		t.Fatalf("unrelated token: %v", err)
	}
	if store.getByDigest.Load() == reads {
		t.Error("the unrelated token was served from the cache after the failure")
	}
}
