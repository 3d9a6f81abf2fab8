package storetest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// raceGoroutines is the number of concurrent rotations of one token.
const raceGoroutines = 50

// RunRotationRace rotates one token concurrently from 50 goroutines, half
// of them through a and half through b, and checks that exactly one
// rotation wins: the others fail with an error wrapping
// patkit.ErrTokenRevoked and create nothing, exactly one new token has the
// old token as PreviousID and is active, and the old token is revoked.
//
// a and b must be handles on the same database (a == b is fine for a store
// with a single handle). The database need not be empty: the digests used
// are random.
func RunRotationRace(t *testing.T, a, b patkit.Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	salt := rand.Text()

	old := &patkit.Token{
		UserID:    7,
		Name:      "raced " + salt,
		Scopes:    []patkit.Scope{patkit.ScopeAPI},
		CreatedAt: now,
		ExpiresAt: patkit.Date(now.AddDate(0, 1, 0)),
		Digest:    digest("old " + salt),
	}
	if err := a.Create(ctx, old); err != nil {
		t.Fatalf("Create: %v", err)
	}

	nexts := make([]*patkit.Token, raceGoroutines)
	errs := make([]error, raceGoroutines)
	for i := range nexts {
		nexts[i] = &patkit.Token{
			UserID:     old.UserID,
			Name:       fmt.Sprintf("raced %s #%d", salt, i),
			Scopes:     old.Scopes,
			CreatedAt:  now,
			ExpiresAt:  patkit.Date(now.AddDate(0, 0, 7)),
			PreviousID: old.ID,
			Digest:     digest(fmt.Sprintf("next %s %d", salt, i)),
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range raceGoroutines {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			errs[i] = s.Rotate(ctx, old.ID, nexts[i])
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations #%d and #%d both succeeded; exactly one must win", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, patkit.ErrTokenRevoked):
			t.Errorf("losing rotation #%d: error = %v, want an error wrapping %v", i, err, patkit.ErrTokenRevoked)
		}
	}
	if winner < 0 {
		t.Fatalf("no rotation succeeded; errors: %v", errors.Join(errs...))
	}

	got, err := a.Get(ctx, old.ID)
	if err != nil {
		t.Fatalf("Get(old): %v", err)
	}
	if !got.Revoked {
		t.Errorf("old token not revoked after the race")
	}

	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 100}, PreviousID: old.ID}
	for _, s := range []patkit.Store{a, b} {
		list, total, err := s.List(ctx, q)
		if err != nil {
			t.Fatalf("List(PreviousID): %v", err)
		}
		if total != 1 || len(list) != 1 {
			t.Errorf("List(PreviousID=%d) returned %d tokens (total %d), want exactly 1", old.ID, len(list), total)
			continue
		}
		if list[0].ID != nexts[winner].ID || string(list[0].Digest) != string(nexts[winner].Digest) {
			t.Errorf("List(PreviousID=%d) returned token %d, want the winner's token %d", old.ID, list[0].ID, nexts[winner].ID)
		}
		if !list[0].Active(now) {
			t.Errorf("new token %d is not active: %+v", list[0].ID, list[0])
		}
	}
	for i, n := range nexts {
		if i == winner {
			continue
		}
		if tok, err := b.GetByDigest(ctx, n.Digest); !errors.Is(err, patkit.ErrNotFound) {
			t.Errorf("losing rotation #%d stored a token: GetByDigest = %+v, %v", i, tok, err)
		}
	}
}
