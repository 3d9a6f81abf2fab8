//go:build !race

// The race detector changes what allocates: these counts hold only without
// it.

package sqlitestore_test

import (
	"fmt"
	"testing"

	"github.com/patkit/patkit"
)

// TestGetByDigestAllocations holds an uncached authentication's lookup to
// its allocations: the token, its name, its scopes (text and slice) and
// the copy of the digest; the empty lists allocate nothing.
func TestGetByDigestAllocations(t *testing.T) {
	s := open(t, nil)
	ctx := t.Context()
	tok := token("a token name")
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got := testing.AllocsPerRun(100, func() {
		if _, err := s.GetByDigest(ctx, tok.Digest); err != nil {
			t.Fatal(err)
		}
	})
	if want := 5.0; got != want {
		t.Errorf("GetByDigest: %v allocations, want %v", got, want)
	}
}

// TestListAllocations holds a page of 20 on a Store from Open to its
// allocations, which do not grow with the page but for the scopes of each
// token (20): the tokens, their texts and their digests are allocated
// together, and the rest is building the statements' SQL (33) and watching
// ctx. Through database/sql, a page allocated 483 times.
func TestListAllocations(t *testing.T) {
	s := open(t, nil)
	ctx := t.Context()
	for i := range 30 {
		if err := s.Create(ctx, token(fmt.Sprint("token ", i))); err != nil {
			t.Fatal(err)
		}
	}
	q := patkit.Query{Filter: patkit.Filter{PerPage: 20}}
	q.Normalize()
	got := testing.AllocsPerRun(100, func() {
		q := q
		if toks, _, err := s.List(ctx, &q); err != nil || len(toks) != 20 {
			t.Fatal(len(toks), err)
		}
	})
	if want := 63.0; got > want {
		t.Errorf("List: %v allocations, want at most %v", got, want)
	}
}
