package sqlitestore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// waitLimit bounds the waits of these tests for something another
// goroutine does: a failure bound, never a measure of speed.
const waitLimit = 10 * time.Second

// holdWriteLock takes SQLite's write lock on the database at path through
// a connection of its own, as another process would, and returns the
// function that releases it.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db := openDB(t, path)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// walCommits counts the transactions committed to the write-ahead log of
// the database at path since it was last reset: the frames of the current
// generation (their salts are the header's) that end a transaction.
func walCommits(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		return 0
	}
	frame := 24 + int(binary.BigEndian.Uint32(b[8:12]))
	n := 0
	for off := 32; off+frame <= len(b); off += frame {
		h := b[off : off+24]
		if !bytes.Equal(h[8:16], b[16:24]) {
			break // a frame of an older generation
		}
		if binary.BigEndian.Uint32(h[4:8]) != 0 { // database size after commit
			n++
		}
	}
	return n
}

// waitQueued waits until n writes of s are queued.
func waitQueued(t *testing.T, s *sqlitestore.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for s.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after %v, want %d", s.Queued(), waitLimit, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitTaken waits until the first write made through s, the only one
// queued, is being committed: it is then in a transaction, which waits for
// the write lock.
func waitTaken(t *testing.T, s *sqlitestore.Store) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !s.Committing() || s.Queued() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the writer has not taken the first write within %v", waitLimit)
		}
		time.Sleep(time.Millisecond)
	}
}

// A write that finds no commit in progress is committed by its caller's
// goroutine: sequential writes never start the writer goroutine.
func TestLoneWritesCommitOnTheirGoroutine(t *testing.T) {
	s := open(t, nil)
	for i := range 3 {
		tok := token(fmt.Sprint("lone ", i))
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if s.WriterRunning() || s.Committing() {
		t.Errorf("sequential writes started the writer goroutine, or left a commit in progress")
	}
}

// Writes that arrive while one is committing are committed together, in
// one transaction, not one transaction (and one wait for the disk) each.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	// A first write starts the log over after Migrate's checkpoint: the
	// commits below are counted in one generation of it.
	if err := s.Create(t.Context(), token("warm")); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, path)
	before := walCommits(t, path)

	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = s.Create(t.Context(), token("first")) })
	waitTaken(t, s) // it waits for the lock in BEGIN
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = s.Create(t.Context(), token(fmt.Sprint("batched ", i))) })
	}
	waitQueued(t, s, n-1)
	release()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	commits := walCommits(t, path) - before
	t.Logf("%d concurrent creates committed in %d transactions", n, commits)
	if commits != 2 {
		t.Errorf("%d concurrent creates made %d commits, want 2: the first alone, the %d queued behind it together", n, commits, n-1)
	}
	if _, total, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}); err != nil || total != n+1 {
		t.Errorf("List: total %d, %v; want %d", total, err, n+1)
	}
}

// In a group commit, a write that fails is rolled back alone and fails
// only its caller: a rotation whose new digest exists keeps its token
// unrevoked, and the other writes of the transaction commit.
func TestFailedWriteFailsOnlyItsCaller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	setup, s := openPath(t, path, nil), openPath(t, path, nil) // s writes first below
	rotated, revoked, taken := token("rotated"), token("revoked"), token("taken")
	for _, tok := range []*patkit.Token{rotated, revoked, taken} {
		if err := setup.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	release := holdWriteLock(t, path)
	before := walCommits(t, path)

	dup := token("duplicate")
	dup.Digest = taken.Digest
	next := token("successor")
	next.Digest = taken.Digest
	next.PreviousID = rotated.ID
	a, c := token("a"), token("c")
	writes := []struct {
		name string
		do   func(ctx context.Context) error
		want error // nil: success
	}{
		{"Create a", func(ctx context.Context) error { return s.Create(ctx, a) }, nil},
		{"Create with a taken digest", func(ctx context.Context) error { return s.Create(ctx, dup) }, patkit.ErrConflict},
		{"Rotate to a taken digest", func(ctx context.Context) error { return s.Rotate(ctx, rotated.ID, next) }, patkit.ErrConflict},
		{"Revoke", func(ctx context.Context) error { return s.Revoke(ctx, revoked.ID, time.Now()) }, nil},
		{"Revoke a missing token", func(ctx context.Context) error { return s.Revoke(ctx, 999, time.Now()) }, patkit.ErrNotFound},
		{"SetLastUsed of a missing token", func(ctx context.Context) error { return s.SetLastUsed(ctx, 999, base, nil) }, patkit.ErrNotFound},
		{"Rotate a missing token", func(ctx context.Context) error { return s.Rotate(ctx, 999, token("orphan")) }, patkit.ErrNotFound},
		{"Create c", func(ctx context.Context) error { return s.Create(ctx, c) }, nil},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = writes[0].do(t.Context()) })
	waitTaken(t, s)
	for i := 1; i < len(writes); i++ {
		wg.Go(func() { errs[i] = writes[i].do(t.Context()) })
	}
	waitQueued(t, s, len(writes)-1)
	release()
	wg.Wait()

	for i, w := range writes {
		switch {
		case w.want == nil && errs[i] != nil:
			t.Errorf("%s: %v, want success", w.name, errs[i])
		case w.want != nil && !errors.Is(errs[i], w.want):
			t.Errorf("%s: %v, want an error wrapping %v", w.name, errs[i], w.want)
		}
	}
	if commits := walCommits(t, path) - before; commits != 2 {
		t.Errorf("%d commits, want 2 (the first write, then the others together)", commits)
	}
	for _, tc := range []struct {
		tok     *patkit.Token
		revoked bool
	}{{rotated, false}, {revoked, true}, {taken, false}, {a, false}, {c, false}} {
		got, err := s.Get(t.Context(), tc.tok.ID)
		if err != nil {
			t.Errorf("Get(%q): %v", tc.tok.Name, err)
			continue
		}
		if got.Revoked != tc.revoked {
			t.Errorf("%q: revoked = %v, want %v", tc.tok.Name, got.Revoked, tc.revoked)
		}
	}
	if _, total, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}); err != nil || total != 5 {
		t.Errorf("List: total %d, %v; want 5", total, err)
	}
}

// A write whose context ends while it waits in the queue returns at once
// with the context's error, and is never made.
func TestWriteCanceledWhileQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	release := holdWriteLock(t, path)

	first := make(chan error, 1)
	go func() { first <- s.Create(t.Context(), token("first")) }()
	waitTaken(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	queued := make(chan error, 1)
	tok := token("canceled")
	go func() { queued <- s.Create(ctx, tok) }()
	waitQueued(t, s, 1)
	cancel()
	select {
	case err := <-queued:
		if !errors.Is(err, context.Canceled) || errors.Is(err, patkit.ErrUnavailable) {
			t.Errorf("Create canceled while queued: %v, want an error wrapping context.Canceled only", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Create canceled while queued has not returned within %v, with the write lock still held", waitLimit)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := s.Create(t.Context(), token("after")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetByDigest(t.Context(), tok.Digest); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("the canceled write was made: %+v, %v", got, err)
	}
}

// Close lets the writes already queued commit and refuses the others with
// ErrUnavailable: every caller learns the truth, and the writer goroutine
// is gone once Close returns.
func TestCloseDrainsWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, err := sqlitestore.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.WriterRunning() || s.Committing() {
		t.Errorf("Open started committing; the first write should")
	}
	release := holdWriteLock(t, path)
	const n = 32
	toks := make([]*patkit.Token, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		toks[i] = token(fmt.Sprint("closing ", i))
		wg.Go(func() { errs[i] = s.Create(t.Context(), toks[i]) })
	}
	waitQueued(t, s, 1)
	if !s.Committing() {
		t.Errorf("nothing commits after a write")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(10 * time.Millisecond) // some writes may come after Close: either way is checked
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s.WriterRunning() || s.Committing() {
		t.Errorf("the writer goroutine still runs, or a write commits, after Close returned")
	}
	wg.Wait()

	s2 := openPath(t, path, nil)
	made := 0
	for i, tok := range toks {
		_, gerr := s2.GetByDigest(t.Context(), tok.Digest)
		switch {
		case errs[i] == nil && gerr != nil:
			t.Errorf("Create #%d succeeded but the token is not there: %v", i, gerr)
		case errs[i] == nil:
			made++
		case !errors.Is(errs[i], patkit.ErrUnavailable):
			t.Errorf("Create #%d around Close: %v, want success or an error wrapping ErrUnavailable", i, errs[i])
		case !errors.Is(gerr, patkit.ErrNotFound):
			t.Errorf("Create #%d failed (%v) but the token is there: %v", i, errs[i], gerr)
		}
	}
	t.Logf("%d of %d writes around Close were made", made, n)
	if err := s.Create(t.Context(), token("after close")); !errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("Create after Close: %v, want ErrUnavailable", err)
	}
}

// Writes through a caller's *sql.DB (New) are grouped too, and Close
// leaves that database open.
func TestGroupCommitNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openDB(t, path)
	s := newStore(t, db, nil)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Create(t.Context(), token(fmt.Sprint("new ", i))) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM tokens").Scan(&n); err != nil || n != 16 {
		t.Errorf("tokens in the caller's database: %d, %v; want 16", n, err)
	}
}
