package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// TestLookupConnFails checks that a lookup connection that cannot be
// opened (a file that cannot be created, a statement that does not
// prepare) fails with SQLite's error and leaves nothing behind.
func TestLookupConnFails(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ path, query string }{
		{filepath.Join(dir, "missing", "patkit.db"), "SELECT 1"},
		{filepath.Join(dir, "patkit.db"), "SELECT id FROM no_such_table WHERE digest = ?"},
	} {
		p := newLookupPool(c.path, c.query, 1)
		_, err := p.byDigest(t.Context(), []byte("digest"))
		var e *cError
		if !errors.As(err, &e) || e.Code() == 0 {
			t.Errorf("lookup on %s with %q: %v, want SQLite's error", c.path, c.query, err)
		}
		p.close()
	}
}

// heldTx reports whether an idle lookup connection of s holds a read
// transaction.
func heldTx(s *Store) bool {
	s.lookups.mu.Lock()
	defer s.lookups.mu.Unlock()
	for _, c := range s.lookups.idle {
		if c.inTx {
			return true
		}
	}
	return false
}

func lookupToken(name string) *patkit.Token {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &patkit.Token{UserID: 1, Name: name, Scopes: []patkit.Scope{patkit.ScopeAPI},
		CreatedAt: now, ExpiresAt: patkit.Date(now.AddDate(0, 1, 0)), Digest: []byte("digest of " + name)}
}

// TestHeldLookupSeesCommits checks that a lookup reading in the read
// transaction of an earlier one sees every commit made since, by this
// Store or another on the same file: a revocation applies at once.
func TestHeldLookupSeesCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	ctx := t.Context()
	a, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 20 {
		tok := lookupToken(fmt.Sprint("t", i))
		if err := a.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second reads in the first one's transaction
			if got, err := a.GetByDigest(ctx, tok.Digest); err != nil || got.Revoked {
				t.Fatalf("before the revocation: %v, %v", got, err)
			}
		}
		if !heldTx(a) {
			t.Fatal("no read transaction is held: the test tests nothing")
		}
		revoker := map[bool]*Store{false: a, true: b}[i%2 == 1]
		if err := revoker.Revoke(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, err := a.GetByDigest(ctx, tok.Digest); err != nil || !got.Revoked {
			t.Fatalf("revoked by store %d: %v, %v; want the token revoked", i%2, got, err)
		}
	}
}

// TestHeldLookupLetsLogRestart checks that lookups sharing read
// transactions do not keep the log from starting over: with lookups
// running all the time, as on a busy server, the log of 1,500 creates
// stays within a few times the automatic checkpoint.
func TestHeldLookupLetsLogRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	ctx := t.Context()
	s, err := Open(ctx, path, &Options{RelaxedDurability: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := lookupToken("first")
	if err := s.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan bool)
	go func() {
		held := false
		for {
			select {
			case <-stop:
				done <- held
				return
			default:
			}
			for range 2 {
				if _, err := s.GetByDigest(ctx, first.Digest); err != nil {
					t.Error(err)
				}
			}
			held = held || heldTx(s)
		}
	}()
	for i := range 1500 {
		if err := s.Create(ctx, lookupToken(fmt.Sprint("t", i))); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if !<-done {
		t.Fatal("no read transaction was held: the test tests nothing")
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Held without bound, the read transactions kept the log from starting
	// over: 65 MB after 1,500 creates. Bounded, it starts over after about
	// walHoldFrames frames (a page and a 24-byte header each).
	if max := int64(2 * walHoldFrames * (4096 + 24)); fi.Size() > max {
		t.Errorf("log of %d bytes after 1,500 creates, want at most %d", fi.Size(), max)
	}
}

// TestHeldLookupEnds checks that a read transaction left open on an idle
// connection ends.
func TestHeldLookupEnds(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := lookupToken("t")
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.GetByDigest(ctx, tok.Digest); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); heldTx(s); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection still holds its read transaction")
		}
	}
}
