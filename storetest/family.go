package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// revokeDescendants calls RevokeDescendants(id), failing the test if it
// errs or has not returned within eventTimeout (a walk that loops).
func revokeDescendants(t *testing.T, fr patkit.FamilyRevoker, id int64) []int64 {
	t.Helper()
	type result struct {
		ids []int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		ids, err := fr.RevokeDescendants(ctx(t), id, familyAt)
		done <- result{ids, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("RevokeDescendants(%d): %v", id, r.err)
		}
		return r.ids
	case <-time.After(eventTimeout):
		t.Fatalf("RevokeDescendants(%d) has not returned within %v", id, eventTimeout)
		return nil
	}
}

// familyAt is the time the family tests revoke at.
var familyAt = base.Add(48*time.Hour + 5*time.Microsecond)

// familyState is the revoked flag each token of a test should have.
type familyState map[int64]bool

// create stores tok through s and records its revoked flag.
func (st familyState) create(t *testing.T, s patkit.Store, tok *patkit.Token) *patkit.Token {
	t.Helper()
	c := create(t, s, tok)
	st[c.ID] = c.Revoked
	return c
}

// child returns a token named name whose PreviousID is parent.
func child(parent *patkit.Token, name string, revoked bool) *patkit.Token {
	c := simple(name)
	c.PreviousID = parent.ID
	c.Revoked = revoked
	return c
}

// revoke calls RevokeDescendants(id), checks that it returned want, in
// increasing order, records them revoked and checks every token's flag:
// exactly those were revoked.
func (st familyState) revoke(t *testing.T, s patkit.Store, fr patkit.FamilyRevoker, id int64, want ...int64) {
	t.Helper()
	got := revokeDescendants(t, fr, id)
	if len(got) == 0 {
		got = nil
	}
	if len(want) == 0 {
		want = nil
	}
	if !slices.Equal(got, want) {
		t.Errorf("RevokeDescendants(%d) = %v, want %v", id, got, want)
	}
	for _, r := range want {
		st[r] = true
		if got := get(t, s, r).RevokedAt; !got.Equal(familyAt) {
			t.Errorf("token %d revoked by RevokeDescendants: RevokedAt = %v, want %v", r, got, familyAt)
		}
	}
	st.check(t, s)
}

// check compares every token's revoked flag with st.
func (st familyState) check(t *testing.T, s patkit.Store) {
	t.Helper()
	for id, revoked := range st {
		if got := get(t, s, id).Revoked; got != revoked {
			t.Errorf("token %d: Revoked = %v, want %v", id, got, revoked)
		}
	}
}

// testRevokeDescendants checks RevokeDescendants on a chain made by
// Rotate, with branches made by Create, some members revoked already,
// and tokens outside the family.
func testRevokeDescendants(t *testing.T, s patkit.Store) {
	fr := implementation[patkit.FamilyRevoker](t, s)
	st := familyState{}
	// a0 → a1 → a2 → a3 by rotation: a0, a1 and a2 are revoked.
	a0 := st.create(t, s, simple("a0"))
	chain := []*patkit.Token{a0}
	for i := 1; i <= 3; i++ {
		n := next(chain[i-1], fmt.Sprintf("a%d", i))
		if err := s.Rotate(ctx(t), chain[i-1].ID, n); err != nil {
			t.Fatalf("Rotate(%d): %v", chain[i-1].ID, err)
		}
		st[chain[i-1].ID] = true
		st[n.ID] = false
		chain = append(chain, n)
	}
	a1, a3 := chain[1], chain[3]
	// Branches: b1 from a1, then b2 (revoked) and b3 below it; c from a0.
	b1 := st.create(t, s, child(a1, "b1", false))
	b2 := st.create(t, s, child(b1, "b2", true))
	b3 := st.create(t, s, child(b2, "b3", false))
	c := st.create(t, s, child(a0, "c", false))
	// Another family, untouched throughout.
	u := st.create(t, s, simple("unrelated"))
	st.create(t, s, child(u, "unrelated child", false))
	st.check(t, s)

	st.revoke(t, s, fr, u.ID+1000) // unknown: nothing, no error
	st.revoke(t, s, fr, a3.ID)     // childless
	// a1's descendants: a2 (revoked), a3, b1, b2 (revoked), b3; not a1
	// itself, nor a0 or its other child c.
	st.revoke(t, s, fr, a1.ID, a3.ID, b1.ID, b3.ID)
	st.revoke(t, s, fr, a1.ID) // nothing left to revoke
	st.revoke(t, s, fr, a0.ID, c.ID)
	st.revoke(t, s, fr, b3.ID) // revoked and childless

	// A long chain, every member but the last revoked, as a token rotated
	// weekly for two years, and a wide family.
	root := st.create(t, s, simple("long root"))
	prev := root
	for i := range 100 {
		prev = st.create(t, s, child(prev, fmt.Sprintf("long %d", i), i < 99))
	}
	last := prev
	wide := st.create(t, s, simple("wide root"))
	var kids []int64
	for i := range 30 {
		kids = append(kids, st.create(t, s, child(wide, fmt.Sprintf("wide %d", i), false)).ID)
	}
	st.revoke(t, s, fr, root.ID, last.ID)
	st.revoke(t, s, fr, wide.ID, kids...)
}

// testRevokeDescendantsCycle checks that links to smaller IDs are not
// followed, so that a cycle made by hand ends the walk. Create keeps any
// PreviousID, so the cycle is made by predicting the IDs Create assigns;
// if the store skips IDs, the test skips.
func testRevokeDescendantsCycle(t *testing.T, s patkit.Store) {
	fr := implementation[patkit.FamilyRevoker](t, s)
	st := familyState{}
	p := st.create(t, s, simple("cycle parent"))
	x := simple("x")
	x.PreviousID = p.ID + 2 // y, below
	st.create(t, s, x)
	y := st.create(t, s, child(x, "y", false))
	self := simple("self")
	self.PreviousID = y.ID + 1 // itself
	st.create(t, s, self)
	if x.ID != p.ID+1 || y.ID != p.ID+2 || self.ID != y.ID+1 {
		t.Skipf("IDs %d, %d, %d, %d are not consecutive: no cycle can be made through Create", p.ID, x.ID, y.ID, self.ID)
	}
	// x and y name each other as PreviousID; self names itself.
	st.revoke(t, s, fr, self.ID) // a link to itself is no descendant
	st.revoke(t, s, fr, y.ID)    // x has a smaller ID: not y's descendant
	st.revoke(t, s, fr, x.ID, y.ID)
	st.revoke(t, s, fr, p.ID)
}

// testRevokeDescendantsLifecycle checks the error contract: with a done
// context, RevokeDescendants returns an error wrapping ctx.Err() (and not
// patkit.ErrUnavailable) and revokes nothing; after Close, if the store
// is an io.Closer, it returns an error and does not panic.
func testRevokeDescendantsLifecycle(t *testing.T, s patkit.Store) {
	fr := implementation[patkit.FamilyRevoker](t, s)
	st := familyState{}
	parent := st.create(t, s, simple("parent"))
	st.create(t, s, child(parent, "child", false))

	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	expired, cancel2 := context.WithDeadline(ctx(t), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []context.Context{canceled, expired} {
		ids, err := fr.RevokeDescendants(c, parent.ID, familyAt)
		if !errors.Is(err, c.Err()) || errors.Is(err, patkit.ErrUnavailable) {
			t.Errorf("RevokeDescendants with a done context (%v) = %v, %v; want an error wrapping %v and not %v",
				c.Err(), ids, err, c.Err(), patkit.ErrUnavailable)
		}
		st.check(t, s)
	}

	checkFailsAfterClose(t, s, call{"RevokeDescendants", func(c context.Context) error {
		_, err := fr.RevokeDescendants(c, parent.ID, familyAt)
		return err
	}})
}

// testWatchFamily checks that a Watch running on w reports every token
// revoked through b by RevokeDescendants: a chain and a branch below a
// new token. newToken returns an unsaved token with a fresh digest.
func testWatchFamily(t *testing.T, w patkit.Watcher, b patkit.Store, newToken func(name string) *patkit.Token) {
	fr := implementation[patkit.FamilyRevoker](t, b)
	f := startWatch(t, w)
	f.expectStale(t)
	f.expectAllRevoked(t, "RevokeDescendants through b", func() []int64 {
		createInB := func(name string, parent int64) *patkit.Token {
			tok := newToken(name)
			tok.PreviousID = parent
			if err := b.Create(t.Context(), tok); err != nil {
				t.Fatalf("Create through b: %v", err)
			}
			return tok
		}
		root := createInB("family root", 0)
		c1 := createInB("family child", root.ID)
		c2 := createInB("family grandchild", c1.ID)
		c3 := createInB("family branch", root.ID)
		ids := revokeDescendants(t, fr, root.ID)
		if want := []int64{c1.ID, c2.ID, c3.ID}; !slices.Equal(ids, want) {
			t.Fatalf("RevokeDescendants(%d) through b = %v, want %v", root.ID, ids, want)
		}
		return ids
	})
}

// expectAllRevoked makes revocations with revoke, which returns the IDs
// of the tokens it revoked, and waits until the feed has reported each,
// ignoring other IDs. A stale call before that says a revocation may have
// been missed: they are then made again with new tokens, twice at most.
func (f *feed) expectAllRevoked(t *testing.T, what string, revoke func() []int64) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ids := revoke()
		missing := make(map[int64]bool, len(ids))
		for _, id := range ids {
			missing[id] = true
		}
		deadline := time.Now().Add(eventTimeout)
		for len(missing) > 0 {
			e, ok := f.next(deadline)
			if !ok {
				f.failStopped(t)
				t.Fatalf("%s of tokens %v: Watch has not reported %v within %v", what, ids, keys(missing), eventTimeout)
			}
			if e.stale && attempt < 3 {
				t.Logf("%s of tokens %v: stale reported before %v, revoking again", what, ids, keys(missing))
				break
			}
			if !e.stale {
				delete(missing, e.id)
			}
		}
		if len(missing) == 0 {
			return
		}
	}
}

// keys returns the keys of m in increasing order.
func keys(m map[int64]bool) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
