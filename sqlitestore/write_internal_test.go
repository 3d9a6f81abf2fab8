package sqlitestore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// A write that breaks the transaction of its batch (SQLite rolls a
// transaction back on some I/O errors; here the write rolls it back
// itself) fails alone: the writes of the batch before and after it are
// made again, each in a transaction of its own, and succeed.
func TestBrokenBatchRunsWritesAgainAlone(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	create := func(name string) *writeOp {
		args, err := insertArgs(&patkit.Token{UserID: 1, Name: name, CreatedAt: time.Now(), Digest: []byte(name)})
		if err != nil {
			t.Fatal(err)
		}
		return &writeOp{ctx: t.Context(), name: "create " + name, done: make(chan struct{}),
			run: func(tx *writeTx) (int64, error) { return tx.insert(args, "create "+name) }}
	}
	errBroke := errors.New("broke the transaction")
	breaker := &writeOp{ctx: t.Context(), name: "breaker", done: make(chan struct{}),
		run: func(tx *writeTx) (int64, error) {
			if _, err := tx.tx.ExecContext(context.Background(), "ROLLBACK"); err != nil {
				t.Errorf("ROLLBACK: %v", err)
			}
			return 0, errBroke
		}}
	before, after := create("before"), create("after")
	ops := []*writeOp{before, breaker, after}

	again := s.runBatch(ops)
	if len(again) != 3 {
		t.Fatalf("runBatch returned %d writes to run again, want 3 (every write of the broken transaction)", len(again))
	}
	for _, o := range again {
		if extra := s.runBatch([]*writeOp{o}); extra != nil {
			t.Errorf("a batch of one returned %d writes to run again", len(extra))
		}
	}
	for _, o := range ops {
		select {
		case <-o.done:
		default:
			t.Fatalf("%s was not answered", o.name)
		}
	}
	if !errors.Is(breaker.err, errBroke) {
		t.Errorf("breaker: %v, want its own error", breaker.err)
	}
	for _, o := range []*writeOp{before, after} {
		if o.err != nil {
			t.Errorf("%s: %v, want success", o.name, o.err)
			continue
		}
		if _, err := s.Get(t.Context(), o.id); err != nil {
			t.Errorf("%s: Get(%d): %v", o.name, o.id, err)
		}
	}
}

// BenchmarkWatchPoll is what Watch costs while nothing is revoked: one
// look at PRAGMA data_version on its connection, every pollInterval.
func BenchmarkWatchPoll(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "patkit.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f, err := s.openFeed(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer f.close()
	for b.Loop() {
		if changed, err := f.changed(b.Context()); err != nil || changed {
			b.Fatal(changed, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(pollInterval)*100, "%core")
}

// TestOpenFeedFails checks that a feed that cannot open (here: its context
// ends first, as when a server shuts down while Watch starts) returns the
// error and releases what it opened, without panicking.
func TestOpenFeedFails(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if f, err := s.openFeed(ctx); err == nil || f != nil {
		t.Fatalf("openFeed with a done context = %v, %v; want an error", f, err)
	}
}
