package sqlitestore_test

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
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

// TestLookupConnections stores tokens with every field set, and odd
// texts, and reads each back by digest through the connections Open
// gives GetByDigest, and through the *sql.DB of a Store from New on the
// same file: both read back what was stored.
func TestLookupConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	viaDB := newStore(t, openDB(t, path), nil)
	ctx := t.Context()
	full := token("full")
	full.Description = "a description"
	full.Scopes = []patkit.Scope{"api", "read_api", "write_repository"}
	full.ResourceType, full.ResourceID, full.AccessLevel = patkit.ResourceProject, 1<<40, patkit.Maintainer
	full.Revoked, full.RevokedAt, full.Rotated = true, base.Add(time.Hour), true
	full.LastUsedAt, full.LastUsedIPs = base.Add(time.Minute), []string{"10.0.0.1", "2001:db8::1"}
	full.PreviousID = 1 << 50
	full.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for n := patkit.NoticeSixtyDays; n <= patkit.NoticeExpired; n++ {
		full.Notices.Set(n, base.Add(time.Duration(n)*time.Second))
	}
	imp := token("impersonation")
	imp.Impersonation, imp.ExpiresAt = true, time.Time{}
	odd := token("a\x00name, \"quoted\" [] é")
	odd.Description = "\x00"
	odd.Scopes = []patkit.Scope{`a"b`, ""}
	for _, tok := range []*patkit.Token{full, imp, odd} {
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		for name, st := range map[string]*sqlitestore.Store{"Open": s, "New": viaDB} {
			got, err := st.GetByDigest(ctx, tok.Digest)
			if err != nil {
				t.Fatalf("%s: GetByDigest(%q): %v", name, tok.Digest, err)
			}
			if diff := cmp.Diff(tok, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("%s: read back (-stored +read):\n%s", name, diff)
			}
		}
	}
	for name, st := range map[string]*sqlitestore.Store{"Open": s, "New": viaDB} {
		if _, err := st.GetByDigest(ctx, []byte("unknown")); !errors.Is(err, patkit.ErrNotFound) {
			t.Errorf("%s: GetByDigest of an unknown digest: %v, want ErrNotFound", name, err)
		}
	}
}

// TestLookupBadColumn checks that a lookup fails, rather than guessing,
// on a value of a type the Store never writes, as Scan does for the
// Store from New.
func TestLookupBadColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	db := openDB(t, path)
	viaDB := newStore(t, db, nil)
	ctx := t.Context()
	for i, set := range []string{"impersonation = 2", "user_id = 'one'", "expires_at = 1.5", "name = x'00ff'", "scopes = 7"} {
		tok := token(fmt.Sprint("bad ", i))
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "UPDATE tokens SET "+set+" WHERE id = ?", tok.ID); err != nil {
			t.Fatal(err)
		}
		for name, st := range map[string]*sqlitestore.Store{"Open": s, "New": viaDB} {
			got, err := st.GetByDigest(ctx, tok.Digest)
			if set == "name = x'00ff'" { // a blob read as text, by Scan too
				if err != nil || got.Name != "\x00\xff" {
					t.Errorf("%s after %s: %v, %v; want the name \"\\x00\\xff\"", name, set, got, err)
				}
				continue
			}
			if err == nil || errors.Is(err, patkit.ErrNotFound) {
				t.Errorf("%s after %s: GetByDigest = %v, %v; want an error other than ErrNotFound", name, set, got, err)
			}
		}
	}
}

// TestLookupClose runs lookups while the Store closes: each returns the
// token or an error, none panics, and after Close every one fails with
// ErrUnavailable. Under -race it checks the pool's locking.
func TestLookupClose(t *testing.T) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tok := token("t")
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, err := s.GetByDigest(ctx, tok.Digest); err != nil && !errors.Is(err, patkit.ErrUnavailable) {
					t.Errorf("GetByDigest while closing: %v", err)
					return
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := s.GetByDigest(ctx, tok.Digest); !errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("GetByDigest after Close: %v, want ErrUnavailable", err)
	}
}
