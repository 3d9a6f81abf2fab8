//go:build !race

// The race detector changes what allocates: these counts hold only without
// it.

package sqlitestore_test

import "testing"

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
