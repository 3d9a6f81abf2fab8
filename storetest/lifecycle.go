package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

// eventTimeout bounds every wait of the suite for something a store does
// asynchronously. It is a failure bound for a loaded machine, not a
// measure of speed: the suite never asserts how fast anything is.
const eventTimeout = 10 * time.Second

// A call is one call of a Store method, made with ctx.
type call struct {
	name string
	do   func(ctx context.Context) error
}

// calls returns a call of every method of s. The calls that change
// something act on tok, an existing token, and store tokens with the
// digests fresh and freshNext, which no token has.
func calls(s patkit.Store, tok *patkit.Token, fresh, freshNext []byte) []call {
	created := simple("created with a done context")
	created.Digest = fresh
	successor := next(tok, "rotated with a done context")
	successor.Digest = freshNext
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}
	return []call{
		{"Create", func(ctx context.Context) error { return s.Create(ctx, created.Clone()) }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, tok.ID); return err }},
		{"GetByDigest", func(ctx context.Context) error { _, err := s.GetByDigest(ctx, tok.Digest); return err }},
		{"List", func(ctx context.Context) error { _, _, err := s.List(ctx, q); return err }},
		{"Revoke", func(ctx context.Context) error { return s.Revoke(ctx, tok.ID, base) }},
		{"Rotate", func(ctx context.Context) error { return s.Rotate(ctx, tok.ID, successor.Clone()) }},
		{"SetLastUsed", func(ctx context.Context) error {
			return s.SetLastUsed(ctx, tok.ID, base.Add(time.Hour), []string{"192.0.2.99"})
		}},
	}
}

// safely runs c, turning a panic into an error that fails the test.
func safely(t *testing.T, c call, ctx context.Context) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", c.name, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.do(ctx)
}

// testDoneContext calls every method with a context already canceled, and
// with one whose deadline has passed: each must return an error wrapping
// ctx.Err(), not patkit.ErrUnavailable (the database is not at fault), and
// change nothing.
func testDoneContext(t *testing.T, s patkit.Store) {
	tok := create(t, s, simple("target"))
	other := create(t, s, simple("bystander"))
	before, total := listAll(t, s)
	if total != 2 {
		t.Fatalf("List total = %d after two Creates, want 2", total)
	}
	canceled, cancel := context.WithCancel(ctx(t))
	cancel()
	expired, cancel := context.WithDeadline(ctx(t), time.Unix(0, 0))
	defer cancel()
	for _, done := range []context.Context{canceled, expired} {
		want := done.Err()
		t.Run(fmt.Sprint(want), func(t *testing.T) {
			fresh, freshNext := digest("fresh "+want.Error()), digest("fresh next "+want.Error())
			for _, c := range calls(s, tok, fresh, freshNext) {
				err := safely(t, c, done)
				switch {
				case !errors.Is(err, want):
					t.Errorf("%s with a done context: error = %v, want an error wrapping %v", c.name, err, want)
				case errors.Is(err, patkit.ErrUnavailable):
					t.Errorf("%s with a done context: error = %v wraps %v; a done context is the caller's doing", c.name, err, patkit.ErrUnavailable)
				}
			}
			// Nothing changed: checked with a live context.
			after, _ := listAll(t, s)
			if diff := cmp.Diff(before, after, cmpOpts); diff != "" {
				t.Errorf("tokens changed by calls with a done context (-before +after):\n%s", diff)
			}
			checkStored(t, s, tok)
			checkStored(t, s, other)
			checkNoDigest(t, s, fresh)
			checkNoDigest(t, s, freshNext)
		})
	}
}

// testUseAfterClose closes s, if it is an io.Closer, and checks that every
// method then returns an error, and none panics.
func testUseAfterClose(t *testing.T, s patkit.Store) {
	c, ok := s.(io.Closer)
	if !ok {
		t.Skipf("%T is not an io.Closer", s)
	}
	tok := create(t, s, simple("before close"))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, c := range calls(s, tok, digest("after close"), digest("after close next")) {
		if err := safely(t, c, ctx(t)); err == nil {
			t.Errorf("%s after Close returned nil, want an error", c.name)
		}
	}
	if w, ok := s.(patkit.Watcher); ok {
		checkWatchAfterClose(t, w)
	}
	// Closing again must not panic; what it returns is the store's own
	// business.
	safely(t, call{"second Close", func(context.Context) error { return c.Close() }}, ctx(t))
}

// checkFailsAfterClose closes s, if it is an io.Closer, and checks that c
// then returns an error without panicking, as testUseAfterClose checks
// the methods of every Store.
func checkFailsAfterClose(t *testing.T, s patkit.Store, c call) {
	t.Helper()
	cl, ok := s.(io.Closer)
	if !ok {
		return
	}
	if err := cl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := safely(t, c, ctx(t)); err == nil {
		t.Errorf("%s after Close returned nil, want an error", c.name)
	}
}

// checkWatchAfterClose checks that Watch on a closed store returns an
// error rather than block.
func checkWatchAfterClose(t *testing.T, w patkit.Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- safely(t, call{"Watch", func(ctx context.Context) error {
			return w.Watch(ctx, func(int64) {}, func() {})
		}}, ctx)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("Watch after Close returned nil, want an error")
		}
	case <-time.After(eventTimeout):
		cancel()
		<-done
		t.Errorf("Watch after Close has not returned within %v", eventTimeout)
	}
}
