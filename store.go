package patkit

import (
	"context"
	"time"
)

// Store persists tokens. It holds no business rules: the Service validates,
// authorizes, hashes and decides; a Store only saves and finds. All methods
// must be safe for concurrent use.
//
// Errors: the outcomes named below are the sentinels of this package
// (ErrNotFound, ErrConflict, ErrTokenRevoked), wrapped with %w where a
// driver error explains more. A store that cannot reach its database wraps
// ErrUnavailable. A method called with a done ctx returns an error wrapping
// ctx.Err() (context.Canceled or context.DeadlineExceeded), never
// ErrUnavailable, and changes nothing. After Close every method returns an
// error and none panics. Any other error is a fault the Service passes on
// wrapped, and httpapi answers 500.
//
// The conformance suite in package storetest is the full contract.
type Store interface {
	// Create saves t, assigns t.ID (IDs increase) and returns nil. A token
	// whose Digest already exists is refused with ErrConflict and nothing is
	// saved.
	Create(ctx context.Context, t *Token) error

	// Get returns the token with the given ID, or ErrNotFound.
	Get(ctx context.Context, id int64) (*Token, error)

	// GetByDigest returns the token whose Digest equals digest, or
	// ErrNotFound. It is the authentication lookup and must be O(1) or
	// O(log n).
	GetByDigest(ctx context.Context, digest []byte) (*Token, error)

	// List returns one page of the tokens that q.Match keeps, in the order of
	// q.Sort.Compare, skipping q.Offset() of them, and the number of matching
	// tokens. Counting may stop once it passes MaxCount: any count above
	// MaxCount means "more than MaxCount". q arrives normalized (see
	// Query.Normalize); a page past the last match is empty.
	List(ctx context.Context, q *Query) ([]*Token, int, error)

	// Revoke marks the token revoked at the time at (its RevokedAt; the
	// Service passes its own clock's time, a Store never reads a clock),
	// and clears Rotated on it and on every token it descends from
	// through rotation: revoking a token ends the grace of its rotated-out
	// predecessors (see Options.RotationGrace). The ancestors are walked
	// by PreviousID towards smaller IDs only, and the walk stops at a
	// token that is not Rotated. Revoking a revoked token keeps its
	// RevokedAt, clears Rotated as above, and returns nil; a missing
	// token returns ErrNotFound.
	Revoke(ctx context.Context, id int64, at time.Time) error

	// Rotate atomically revokes the token oldID and creates next (assigning
	// next.ID), or does neither. oldID is revoked at next.CreatedAt (its
	// RevokedAt) and marked Rotated. It returns ErrNotFound if oldID does
	// not exist, ErrTokenRevoked if it is already revoked (so that of
	// several concurrent rotations of one token exactly one succeeds), and
	// ErrConflict if next.Digest exists.
	Rotate(ctx context.Context, oldID int64, next *Token) error

	// SetLastUsed records the last use of a token: its time and the list of
	// recent client addresses, replacing the stored list. A missing token
	// returns ErrNotFound.
	SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error
}
