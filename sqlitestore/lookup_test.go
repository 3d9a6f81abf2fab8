package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"strconv"
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

// TestReadersMapTheFile checks that Open's read connections map the
// database file, and that a Store on a caller's *sql.DB is left as the
// caller opened it.
func TestReadersMapTheFile(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("the read pool maps the file on 64-bit platforms only")
	}
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	if n, err := s.ReadMmapSize(t.Context()); err != nil || n < 1<<30 {
		t.Errorf("read pool's mmap_size = %d, %v; want at least 1 GiB", n, err)
	}
	n, err := newStore(t, openDB(t, path), nil).ReadMmapSize(t.Context())
	if err != nil || n != 0 {
		t.Errorf("mmap_size on the caller's *sql.DB = %d, %v; want 0, SQLite's default", n, err)
	}
}
