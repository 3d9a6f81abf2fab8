package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// RunWatcher checks that a implements the contract of patkit.Watcher, with
// b a second handle on the same database (a == b is fine for a store with
// a single handle): a Watch running on a calls stale first, when its feed
// starts; it then reports the ID of a token revoked through b by Revoke,
// of the old token of a rotation through b, of that old token again when
// revoking its successor ends its grace (EndGrace), and, if b is a
// patkit.FamilyRevoker, of each token RevokeDescendants revokes through b
// (that subtest skips otherwise), each at least once; it returns once its
// ctx is canceled, also when ctx is done before Watch is called; and its
// callbacks never run concurrently nor after it has returned.
//
// Revocations of other tokens, and further stale calls, may be reported at
// any time and are ignored; after a stale call a revocation may have been
// missed, and the check makes it again with a new token. The database need
// not be empty: the digests used are random. Waits are bounded by 10
// seconds, as failures, never as timings.
func RunWatcher(t *testing.T, a, b patkit.Store) {
	t.Helper()
	w, ok := a.(patkit.Watcher)
	if !ok {
		t.Fatalf("%T is not a patkit.Watcher", a)
	}
	salt := rand.Text()
	var n atomic.Int64
	newToken := func(name string) *patkit.Token {
		return simple(fmt.Sprintf("%s %s #%d", name, salt, n.Add(1)))
	}
	createInB := func(t *testing.T, name string) *patkit.Token {
		t.Helper()
		tok := newToken(name)
		if err := b.Create(t.Context(), tok); err != nil {
			t.Fatalf("Create through b: %v", err)
		}
		return tok
	}

	t.Run("Revoke", func(t *testing.T) {
		f := startWatch(t, w)
		f.expectStale(t)
		f.expectRevoked(t, "Revoke through b", func() int64 {
			tok := createInB(t, "revoked")
			if err := b.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
				t.Fatalf("Revoke through b: %v", err)
			}
			return tok.ID
		})
	})

	t.Run("Rotate", func(t *testing.T) {
		f := startWatch(t, w)
		f.expectStale(t)
		f.expectRevoked(t, "Rotate through b", func() int64 {
			old := createInB(t, "rotated")
			next := newToken("successor")
			next.PreviousID = old.ID
			if err := b.Rotate(t.Context(), old.ID, next); err != nil {
				t.Fatalf("Rotate through b: %v", err)
			}
			return old.ID
		})
	})

	t.Run("EndGrace", func(t *testing.T) {
		f := startWatch(t, w)
		f.expectStale(t)
		f.expectRevoked(t, "Revoke of a successor through b", func() int64 {
			old := createInB(t, "rotated out")
			next := newToken("successor")
			next.PreviousID = old.ID
			if err := b.Rotate(t.Context(), old.ID, next); err != nil {
				t.Fatalf("Rotate through b: %v", err)
			}
			// The rotation's report of old first; then ending old's
			// grace window is reported for old again.
			f.skipTo(old.ID)
			if err := b.Revoke(t.Context(), next.ID, time.Now()); err != nil {
				t.Fatalf("Revoke through b: %v", err)
			}
			return old.ID
		})
	})

	t.Run("RevokeDescendants", func(t *testing.T) { testWatchFamily(t, w, b, newToken) })

	t.Run("ReturnsWhenCanceled", func(t *testing.T) {
		f := startWatch(t, w)
		f.expectStale(t)
		t.Logf("Watch returned %v once its context was canceled", f.stop(t))
	})

	t.Run("ReturnsOnDoneContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		done := make(chan error, 1)
		go func() { done <- w.Watch(ctx, func(int64) {}, func() {}) }()
		select {
		case err := <-done:
			t.Logf("Watch with a done context returned %v", err)
		case <-time.After(eventTimeout):
			t.Fatalf("Watch with a done context has not returned within %v", eventTimeout)
		}
	})
}

// watchEvent is one call of a Watch callback: stale, or revoked(id).
type watchEvent struct {
	stale bool
	id    int64
}

// feed is a Watch running in a goroutine of its own, its callbacks
// recorded in order.
type feed struct {
	mu     sync.Mutex
	events []watchEvent
	read   int           // events before read have been looked at
	signal chan struct{} // an event was recorded (capacity 1)

	busy     atomic.Bool // a callback is running
	returned atomic.Bool // Watch has returned
	cancel   context.CancelFunc
	done     chan error // Watch's result
	stopped  bool
}

// startWatch runs w.Watch until stop or the end of the test.
func startWatch(t *testing.T, w patkit.Watcher) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &feed{signal: make(chan struct{}, 1), cancel: cancel, done: make(chan error, 1)}
	record := func(e watchEvent) {
		if f.returned.Load() {
			t.Errorf("Watch called a callback (%+v) after it returned", e)
		}
		if f.busy.Swap(true) {
			t.Errorf("Watch callbacks ran concurrently")
		}
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
		select {
		case f.signal <- struct{}{}:
		default:
		}
		f.busy.Store(false)
	}
	go func() {
		err := w.Watch(ctx, func(id int64) { record(watchEvent{id: id}) }, func() { record(watchEvent{stale: true}) })
		f.returned.Store(true)
		f.done <- err
	}()
	t.Cleanup(func() {
		if !f.stopped {
			f.stop(t)
		}
	})
	return f
}

// next returns the next event not looked at yet, waiting for it until
// deadline; ok is false if none came by then.
func (f *feed) next(deadline time.Time) (e watchEvent, ok bool) {
	for {
		f.mu.Lock()
		if f.read < len(f.events) {
			e = f.events[f.read]
			f.read++
			f.mu.Unlock()
			return e, true
		}
		f.mu.Unlock()
		wait := time.Until(deadline)
		if wait <= 0 {
			return watchEvent{}, false
		}
		timer := time.NewTimer(wait)
		select {
		case <-f.signal:
			timer.Stop()
		case err := <-f.done:
			timer.Stop()
			f.done <- err // for stop
			f.mu.Lock()
			more := f.read < len(f.events)
			f.mu.Unlock()
			if !more {
				return watchEvent{}, false
			}
		case <-timer.C:
		}
	}
}

// expectStale checks that the first callback is stale: the feed started.
func (f *feed) expectStale(t *testing.T) {
	t.Helper()
	e, ok := f.next(time.Now().Add(eventTimeout))
	switch {
	case !ok:
		f.failStopped(t)
		t.Fatalf("Watch has not called stale within %v of starting", eventTimeout)
	case !e.stale:
		t.Fatalf("Watch's first callback is revoked(%d), want stale: the feed must call stale when it starts", e.id)
	}
}

// expectRevoked makes a revocation with revoke, which returns the ID of
// the token it revoked, and waits until the feed reports it, ignoring
// other IDs. A stale call before that says the revocation may have been
// missed: it is then made again with a new token, twice at most.
func (f *feed) expectRevoked(t *testing.T, what string, revoke func() int64) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		id := revoke()
		deadline := time.Now().Add(eventTimeout)
		for {
			e, ok := f.next(deadline)
			if !ok {
				f.failStopped(t)
				t.Fatalf("%s of token %d: Watch has not reported it within %v", what, id, eventTimeout)
			}
			if !e.stale && e.id == id {
				return
			}
			if e.stale && attempt < 3 {
				t.Logf("%s of token %d: stale reported before it, revoking again", what, id)
				break
			}
		}
	}
}

// skipTo reads events until one reports id (or a stale, or none comes
// within eventTimeout: expectRevoked then tells).
func (f *feed) skipTo(id int64) {
	deadline := time.Now().Add(eventTimeout)
	for {
		e, ok := f.next(deadline)
		if !ok || e.stale || e.id == id {
			return
		}
	}
}

// failStopped fails the test if Watch has returned, with its error.
func (f *feed) failStopped(t *testing.T) {
	t.Helper()
	select {
	case err := <-f.done:
		f.done <- err
		t.Fatalf("Watch returned early: %v", err)
	default:
	}
}

// stop cancels Watch's context, waits until it returns and returns its
// error.
func (f *feed) stop(t *testing.T) error {
	t.Helper()
	f.stopped = true
	f.cancel()
	select {
	case err := <-f.done:
		f.done <- err
		return err
	case <-time.After(eventTimeout):
		t.Errorf("Watch has not returned within %v of its context being canceled", eventTimeout)
		return nil
	}
}
