// Package memstore is an in-memory patkit.Store, for tests, examples and
// single-process deployments that can lose their tokens on restart.
//
// It passes the storetest conformance suite. Lists scan every token, so it
// suits thousands of tokens, not millions; GetByDigest is a map lookup.
//
// Its lifecycle is that of every patkit store, less what has no object in
// memory: [New] does no I/O, there is nothing to migrate, and after
// [Store.Close] every method returns an error wrapping
// [patkit.ErrUnavailable], as a closed database would. A method called with
// a done context returns an error wrapping ctx.Err() and changes nothing.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/patkit/patkit"
)

// Store is an in-memory patkit.Store. The zero value is not usable; call
// New. A Store is safe for concurrent use. It keeps and returns deep copies
// of tokens, so callers may modify what they pass in and get back.
type Store struct {
	mu       sync.RWMutex
	closed   bool
	lastID   int64
	tokens   map[int64]*patkit.Token
	byDigest map[string]int64
	keyCheck []byte
}

var (
	_ patkit.Store    = (*Store)(nil)
	_ patkit.KeyStore = (*Store)(nil)
)

// New returns an empty Store. The first token it creates gets ID 1.
func New() *Store {
	return &Store{
		tokens:   make(map[int64]*patkit.Token),
		byDigest: make(map[string]int64),
	}
}

// Close drops the tokens. Every method called afterwards returns an error
// wrapping patkit.ErrUnavailable. Close returns nil, also when called again.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	clear(s.tokens)
	clear(s.byDigest)
	return nil
}

// usable returns the error of a call made with a done ctx or after Close.
// The caller holds s.mu.
func (s *Store) usable(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	if s.closed {
		return fmt.Errorf("memstore: %s: %w: store closed", op, patkit.ErrUnavailable)
	}
	return nil
}

// Create saves a copy of t and sets t.ID to the new ID. A Digest already
// held by another token is refused with an error wrapping
// patkit.ErrConflict.
func (s *Store) Create(ctx context.Context, t *patkit.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "create token"); err != nil {
		return err
	}
	if _, ok := s.byDigest[string(t.Digest)]; ok {
		return fmt.Errorf("memstore: create token: digest exists: %w", patkit.ErrConflict)
	}
	s.insert(t)
	return nil
}

// insert stores a copy of t under a new ID. The caller holds s.mu and has
// checked the digest.
func (s *Store) insert(t *patkit.Token) {
	s.lastID++
	t.ID = s.lastID
	c := t.Clone()
	s.tokens[c.ID] = c
	s.byDigest[string(c.Digest)] = c.ID
}

// Get returns a copy of the token with the given ID, or an error wrapping
// patkit.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*patkit.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx, "get token"); err != nil {
		return nil, err
	}
	t, ok := s.tokens[id]
	if !ok {
		return nil, notFound(id)
	}
	return t.Clone(), nil
}

// GetByDigest returns a copy of the token whose Digest equals digest, or an
// error wrapping patkit.ErrNotFound. It is a map lookup.
func (s *Store) GetByDigest(ctx context.Context, digest []byte) (*patkit.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx, "get token by digest"); err != nil {
		return nil, err
	}
	id, ok := s.byDigest[string(digest)]
	if !ok {
		return nil, fmt.Errorf("memstore: token by digest: %w", patkit.ErrNotFound)
	}
	return s.tokens[id].Clone(), nil
}

// List returns copies of one page of the tokens q.Match keeps, in the
// order of q.Sort.Compare, and their number. It scans every token: memstore
// is for tests and small embeddings.
func (s *Store) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx, "list tokens"); err != nil {
		return nil, 0, err
	}
	var matched []*patkit.Token
	for _, t := range s.tokens {
		if q.Match(t) {
			matched = append(matched, t)
		}
	}
	slices.SortFunc(matched, q.Sort.Compare)
	off := min(q.Offset(), int64(len(matched)))
	end := min(off+int64(q.PerPage), int64(len(matched)))
	page := make([]*patkit.Token, 0, end-off)
	for _, t := range matched[off:end] {
		page = append(page, t.Clone())
	}
	return page, len(matched), nil
}

// Revoke marks the token revoked at the time at, and clears Rotated on it
// and on its rotated-out ancestors (see patkit.Store). Revoking a revoked
// token keeps its RevokedAt and returns nil; a missing token returns an
// error wrapping patkit.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id int64, at time.Time) error {
	return s.update(ctx, "revoke token", id, func(t *patkit.Token) {
		s.revoke(t, at)
		s.endGrace(t)
	})
}

// revoke revokes t at the time at, unless it is revoked already, and
// clears Rotated. The caller holds the write lock.
func (s *Store) revoke(t *patkit.Token, at time.Time) {
	if !t.Revoked {
		t.Revoked, t.RevokedAt = true, at
	}
	t.Rotated = false
}

// endGrace clears Rotated on the tokens t descends from through
// rotation, walking PreviousID towards smaller IDs while they are
// Rotated. The caller holds the write lock.
func (s *Store) endGrace(t *patkit.Token) {
	for t.PreviousID != 0 && t.PreviousID < t.ID {
		p, ok := s.tokens[t.PreviousID]
		if !ok || !p.Rotated {
			return
		}
		p.Rotated = false
		t = p
	}
}

// update applies fn to the stored token id under the write lock.
func (s *Store) update(ctx context.Context, op string, id int64, fn func(*patkit.Token)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, op); err != nil {
		return err
	}
	t, ok := s.tokens[id]
	if !ok {
		return notFound(id)
	}
	fn(t)
	return nil
}

// Rotate revokes the token oldID at next.CreatedAt, marking it Rotated,
// and saves a copy of next, setting next.ID, in one step. It changes nothing and returns an error wrapping
// patkit.ErrNotFound if oldID does not exist, patkit.ErrTokenRevoked if it
// is already revoked, or patkit.ErrConflict if next.Digest exists.
func (s *Store) Rotate(ctx context.Context, oldID int64, next *patkit.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "rotate token"); err != nil {
		return err
	}
	old, ok := s.tokens[oldID]
	if !ok {
		return notFound(oldID)
	}
	if old.Revoked {
		return fmt.Errorf("memstore: rotate token %d: %w", oldID, patkit.ErrTokenRevoked)
	}
	if _, ok := s.byDigest[string(next.Digest)]; ok {
		return fmt.Errorf("memstore: rotate token %d: digest exists: %w", oldID, patkit.ErrConflict)
	}
	old.Revoked, old.RevokedAt, old.Rotated = true, next.CreatedAt, true
	s.insert(next)
	return nil
}

// SetLastUsed sets the token's LastUsedAt to at and its LastUsedIPs to a
// copy of ips. A missing token returns an error wrapping
// patkit.ErrNotFound.
func (s *Store) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	return s.update(ctx, "set last used", id, func(t *patkit.Token) {
		t.LastUsedAt = at
		t.LastUsedIPs = slices.Clone(ips)
	})
}

func notFound(id int64) error {
	return fmt.Errorf("memstore: token %d: %w", id, patkit.ErrNotFound)
}
