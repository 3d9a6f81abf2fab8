package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// rotateChain makes a chain of n tokens by Rotate, each successor created
// an hour after its predecessor, and returns them, oldest first, as
// stored.
func rotateChain(t *testing.T, s patkit.Store, name string, n int) []*patkit.Token {
	t.Helper()
	chain := []*patkit.Token{create(t, s, simple(name+" 0"))}
	for i := 1; i < n; i++ {
		old := chain[i-1]
		nx := next(old, fmt.Sprintf("%s %d", name, i))
		if err := s.Rotate(ctx(t), old.ID, nx); err != nil {
			t.Fatalf("Rotate(%d): %v", old.ID, err)
		}
		old.Revoked, old.RevokedAt, old.Rotated = true, nx.CreatedAt, true
		chain = append(chain, nx.Clone())
	}
	return chain
}

// checkAll checks that every token of toks is stored as it is.
func checkAll(t *testing.T, s patkit.Store, toks ...*patkit.Token) {
	t.Helper()
	for _, tok := range toks {
		checkStored(t, s, tok)
	}
}

// testRevokeEndsGrace checks that Revoke clears Rotated on the token and
// on its rotated-out ancestors, and on nothing else.
func testRevokeEndsGrace(t *testing.T, s patkit.Store) {
	at := base.Add(100 * time.Hour)

	// a0 → a1 → a2 → a3: revoking the live end ends every predecessor's
	// grace; their RevokedAt stays that of their rotation.
	a := rotateChain(t, s, "a", 4)
	if err := s.Revoke(ctx(t), a[3].ID, at); err != nil {
		t.Fatal(err)
	}
	a[3].Revoked, a[3].RevokedAt = true, at
	for _, tok := range a[:3] {
		tok.Rotated = false
	}
	checkAll(t, s, a...)

	// b0 → b1 → b2: revoking the rotated-out b1 ends its grace and b0's,
	// and leaves the live b2 alone.
	b := rotateChain(t, s, "b", 3)
	if err := s.Revoke(ctx(t), b[1].ID, at); err != nil {
		t.Fatal(err)
	}
	b[0].Rotated, b[1].Rotated = false, false // b1 keeps the time of its rotation
	checkAll(t, s, b...)

	// x0 (rotated) ← x1 (revoked, not rotated) ← x2 (rotated) ← x3: the
	// walk stops at x1, whose own revocation ended x0's grace already (a
	// state made by hand here).
	x0 := simple("x0")
	x0.Revoked, x0.RevokedAt, x0.Rotated = true, base, true
	x0 = create(t, s, x0)
	x1 := child(x0, "x1", true)
	x1.RevokedAt = base.Add(time.Hour)
	x1 = create(t, s, x1)
	x2 := child(x1, "x2", true)
	x2.RevokedAt, x2.Rotated = base.Add(2*time.Hour), true
	x2 = create(t, s, x2)
	x3 := create(t, s, child(x2, "x3", false))
	if err := s.Revoke(ctx(t), x3.ID, at); err != nil {
		t.Fatal(err)
	}
	x3.Revoked, x3.RevokedAt = true, at
	x2.Rotated = false
	checkAll(t, s, x0, x1, x2, x3)
}

// testRevokeDescendantsEndsGrace checks that RevokeDescendants ends the
// grace of the whole family: the rotated descendants, the token itself
// and its rotated-out ancestors.
func testRevokeDescendantsEndsGrace(t *testing.T, s patkit.Store) {
	fr := implementation[patkit.FamilyRevoker](t, s)
	c := rotateChain(t, s, "c", 5) // c0 → c1 → c2 → c3 → c4
	other := rotateChain(t, s, "other", 2)
	got := revokeDescendants(t, fr, c[2].ID)
	if len(got) != 1 || got[0] != c[4].ID {
		t.Errorf("RevokeDescendants(%d) = %v, want [%d]", c[2].ID, got, c[4].ID)
	}
	c[4].Revoked, c[4].RevokedAt = true, familyAt
	for _, tok := range c {
		tok.Rotated = false
	}
	checkAll(t, s, c...)
	checkAll(t, s, other...)
}
