package sqlitestore_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
)

// TestListsRoundTrip stores scope and address lists that the fast decoder
// leaves to encoding/json (escapes, non-ASCII, empty strings) next to the
// usual ones, and reads them back by ID and by digest.
func TestListsRoundTrip(t *testing.T) {
	s := open(t, nil)
	ctx := t.Context()
	for i, c := range []struct {
		scopes []patkit.Scope
		ips    []string
	}{
		{nil, nil},
		{[]patkit.Scope{"api"}, []string{"127.0.0.1"}},
		{[]patkit.Scope{"api", "read_api"}, []string{"10.0.0.1", "::1", "2001:db8::1"}},
		{[]patkit.Scope{`a"b`, `c\d`, "é", ""}, []string{"<script>", "tab\there", "ünï"}},
	} {
		tok := token(t.Name())
		tok.Scopes, tok.LastUsedIPs = c.scopes, c.ips
		tok.Digest = fmt.Appendf(nil, "digest %d", i)
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		byID, err := s.Get(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		byDigest, err := s.GetByDigest(ctx, tok.Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*patkit.Token{byID, byDigest} {
			if diff := cmp.Diff(tok, got); diff != "" {
				t.Errorf("read back (-stored +read):\n%s", diff)
			}
		}
	}
}
