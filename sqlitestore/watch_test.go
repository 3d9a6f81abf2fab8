package sqlitestore_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
	"github.com/patkit/patkit/storetest"
)

func TestWatcher(t *testing.T) {
	t.Run("OneHandle", func(t *testing.T) {
		s := open(t, nil)
		storetest.RunWatcher(t, s, s)
	})
	t.Run("TwoHandles", func(t *testing.T) {
		// Two Opens on one file, as two processes would.
		path := filepath.Join(t.TempDir(), "patkit.db")
		storetest.RunWatcher(t, openPath(t, path, nil), openPath(t, path, nil))
	})
	t.Run("Memory", func(t *testing.T) {
		s := openPath(t, ":memory:", nil)
		storetest.RunWatcher(t, s, s)
	})
	t.Run("TablePrefix", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "patkit.db")
		opts := &sqlitestore.Options{TablePrefix: "patkit_"}
		storetest.RunWatcher(t, openPath(t, path, opts), openPath(t, path, opts))
	})
	t.Run("New", func(t *testing.T) {
		// Two Stores on one caller's pool: Watch holds a connection of it.
		db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
		storetest.RunWatcher(t, newStore(t, db, nil), newStore(t, db, nil))
	})
	t.Run("NewOneConnection", func(t *testing.T) {
		// A pool of one connection, which Watch cannot hold: it reads
		// through the pool, also what another handle commits.
		path := filepath.Join(t.TempDir(), "patkit.db")
		db := openDB(t, path)
		db.SetMaxOpenConns(1)
		storetest.RunWatcher(t, newStore(t, db, nil), newStore(t, openDB(t, path), nil))
	})
}

// Revocations through one handle reach a Service watching through another
// with its clock frozen, so the cached entry's CacheTTL never ends: the
// feed, not the lifetime, drops it.
func TestTwoHandlesRevocationWatched(t *testing.T) {
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
	for i := range 10 {
		tok, secret, err := a.CreateToken(t.Context(), root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
			t.Fatal(err) // b now caches the token
		}
		if i%2 == 0 {
			err = a.RevokeToken(t.Context(), root, tok.ID)
		} else {
			_, _, err = a.RotateToken(t.Context(), root, tok.ID, time.Time{})
		}
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(waitLimit)
		for {
			_, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{})
			if errors.Is(err, patkit.ErrTokenRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("b: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("trial %d: b still accepts the revoked token %v after the revocation", i, waitLimit)
			}
			select {
			case err := <-watching:
				t.Fatalf("Watch returned: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
	}
}

// The feed reads the revocations through a connection of its own; when a
// read fails, Watch calls stale at once (the cache may hold a token
// revoked meanwhile), reconnects, calls stale again, and goes on
// reporting revocations.
func TestWatchStaleOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, other := openPath(t, path, nil), openPath(t, path, nil)
	events := make(chan string, 100)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func(id int64) { events <- "revoked" }, func() { events <- "stale" })
	}()
	t.Cleanup(func() { cancel(); <-done })
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		case <-time.After(waitLimit):
			t.Fatalf("no %q within %v", want, waitLimit)
		}
	}
	expect("stale") // started
	fail := make(chan struct{})
	s.SetPollFault(func() error {
		select {
		case <-fail:
			return nil
		default:
			close(fail)
			return errors.New("injected: the connection broke")
		}
	})
	expect("stale") // lost
	expect("stale") // reconnected
	tok := token("after reconnecting")
	if err := other.Create(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if err := other.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	expect("revoked")
}

// A feed that fell so far behind that the revocations it had not read
// were pruned from the log calls stale: it cannot tell which they were.
func TestWatchStaleWhenPrunedPast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, other := openPath(t, path, nil), openPath(t, path, nil)
	other.SetRevocationLog(3, 1) // keep 3 revocations, prune after every one
	events := make(chan string, 100)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	pause := make(chan struct{})
	paused := make(chan struct{})
	var once sync.Once
	go func() {
		done <- s.Watch(ctx, func(id int64) {}, func() {
			events <- "stale"
			once.Do(func() { close(paused); <-pause }) // holds the feed after its first call
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-paused
	for i := range 10 { // more than are kept, while the feed is held
		tok := token(string(rune('a' + i)))
		if err := other.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := other.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if n := revocationRows(t, path); n > 4 {
		t.Fatalf("%d revocations in the log, want at most 4 (3 kept, pruned after each)", n)
	}
	close(pause)
	<-events // the first stale
	select {
	case <-events:
	case <-time.After(waitLimit):
		t.Fatalf("no stale within %v of the feed finding its revocations pruned", waitLimit)
	}
}

func revocationRows(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := openDB(t, path).QueryRowContext(t.Context(), "SELECT count(*) FROM patkit_revocations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
