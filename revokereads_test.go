package patkit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/patkit/patkit"
)

// getCounting counts the reads of tokens by ID.
type getCounting struct {
	patkit.Store
	gets atomic.Int64
}

func (s *getCounting) Get(ctx context.Context, id int64) (*patkit.Token, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

// An administrator may revoke any token, so RevokeToken has nothing to read
// before it revokes: the revocation itself tells whether the token exists.
// With events, the event needs the token as it was, which is read first.
func TestRevokeTokenAdministratorReadsNothing(t *testing.T) {
	ctx := t.Context()
	for _, events := range []bool{false, true} {
		w := newWorld(t, nil)
		store := &getCounting{Store: w.store}
		var revokedEvents atomic.Int64
		opts := &patkit.Options{Now: w.clock.Now}
		if events {
			opts.OnEvent = func(e patkit.Event) {
				if e.Type == patkit.EventRevoked && e.Token.ID != 0 {
					revokedEvents.Add(1)
				}
			}
		}
		svc, err := patkit.New(store, w.dir, testKey, opts)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := w.pat(t, 2)
		wantErr(t, svc.RevokeToken(ctx, w.root, tok.ID), nil, "")
		if !w.get(t, tok.ID).Revoked {
			t.Fatalf("events %v: token not revoked", events)
		}
		wantErr(t, svc.RevokeToken(ctx, w.root, tok.ID), nil, "") // again: succeeds
		wantErr(t, svc.RevokeToken(ctx, w.root, tok.ID+1000), patkit.ErrNotFound, "Not found")
		wantGets := int64(0)
		if events {
			wantGets = 3
			if err := svc.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if n := revokedEvents.Load(); n != 1 {
				t.Errorf("events: %d revocation events, want 1", n)
			}
		}
		if n := store.gets.Load(); n != wantGets {
			t.Errorf("events %v: %d reads by ID, want %d", events, n, wantGets)
		}

		// Anyone else is refused as before: a missing token is "Not
		// found", another's is not theirs to revoke.
		other, _ := w.pat(t, 3)
		wantErr(t, svc.RevokeToken(ctx, w.alice, other.ID), patkit.ErrBadRequest, "Not permitted to revoke")
		wantErr(t, svc.RevokeToken(ctx, w.alice, other.ID+1000), patkit.ErrNotFound, "Not found")
		if w.get(t, other.ID).Revoked {
			t.Fatalf("events %v: alice revoked bob's token", events)
		}
	}
}
