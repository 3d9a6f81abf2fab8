// Package memstore is an in-memory patkit.Store, for tests, examples and
// single-process deployments that can lose their tokens on restart.
//
// It passes the storetest conformance suite. Lists scan every token, so it
// suits thousands of tokens, not millions; GetByDigest is a map lookup.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patkit/patkit"
)

// Store is an in-memory patkit.Store. The zero value is not usable; call
// New. A Store is safe for concurrent use. It keeps and returns deep copies
// of tokens, so callers may modify what they pass in and get back.
type Store struct {
	mu       sync.RWMutex
	lastID   int64
	tokens   map[int64]*patkit.Token
	byDigest map[string]int64
}

var _ patkit.Store = (*Store)(nil)

// New returns an empty Store. The first token it creates gets ID 1.
func New() *Store {
	return &Store{
		tokens:   make(map[int64]*patkit.Token),
		byDigest: make(map[string]int64),
	}
}

// Create saves a copy of t and sets t.ID to the new ID. A Digest already
// held by another token is refused with an error wrapping
// patkit.ErrConflict.
func (s *Store) Create(ctx context.Context, t *patkit.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tokens[id]
	if !ok {
		return nil, notFound(id)
	}
	return t.Clone(), nil
}

// GetByDigest returns a copy of the token whose Digest equals digest, or an
// error wrapping patkit.ErrNotFound. It is a map lookup.
func (s *Store) GetByDigest(ctx context.Context, digest []byte) (*patkit.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byDigest[string(digest)]
	if !ok {
		return nil, fmt.Errorf("memstore: token by digest: %w", patkit.ErrNotFound)
	}
	return s.tokens[id].Clone(), nil
}

// List returns copies of one page of the tokens matching q, in q's order,
// and the number of matching tokens, or -1 when more than patkit.MaxCount
// match. Names sort by byte order; tokens that never expire or were never
// used sort after all others in ascending order and before them in
// descending order. An unknown Sort lists by ID ascending.
func (s *Store) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	terms := patkit.ParseSearch(q.Search)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var matched []*patkit.Token
	for _, t := range s.tokens {
		if match(t, q, terms) {
			matched = append(matched, t)
		}
	}
	slices.SortFunc(matched, order(q.Sort))

	total := len(matched)
	if total > patkit.MaxCount {
		total = -1
	}
	off := max(q.Offset(), 0)
	if off > len(matched) {
		off = len(matched)
	}
	end := len(matched)
	if q.PerPage > 0 {
		end = min(off+q.PerPage, len(matched))
	}
	page := make([]*patkit.Token, 0, end-off)
	for _, t := range matched[off:end] {
		page = append(page, t.Clone())
	}
	return page, total, nil
}

// match reports whether t passes every filter of q.
func match(t *patkit.Token, q *patkit.Query, terms patkit.SearchTerms) bool {
	switch {
	case q.UserID != 0 && t.UserID != q.UserID,
		q.Impersonation != nil && t.Impersonation != *q.Impersonation,
		q.ResourceType != "" && (t.ResourceType != q.ResourceType || t.ResourceID != q.ResourceID),
		q.Personal && t.ResourceType != "",
		q.PreviousID != 0 && t.PreviousID != q.PreviousID,
		q.Revoked != nil && t.Revoked != *q.Revoked,
		q.State == patkit.StateActive && !t.Active(q.Now),
		q.State == patkit.StateInactive && t.Active(q.Now),
		!q.CreatedBefore.IsZero() && t.CreatedAt.After(q.CreatedBefore),
		!q.CreatedAfter.IsZero() && t.CreatedAt.Before(q.CreatedAfter),
		!q.LastUsedBefore.IsZero() && (t.LastUsedAt.IsZero() || t.LastUsedAt.After(q.LastUsedBefore)),
		!q.LastUsedAfter.IsZero() && (t.LastUsedAt.IsZero() || t.LastUsedAt.Before(q.LastUsedAfter)),
		!q.ExpiresBefore.IsZero() && (t.ExpiresAt.IsZero() || !t.ExpiresAt.Before(q.ExpiresBefore)),
		!q.ExpiresAfter.IsZero() && (t.ExpiresAt.IsZero() || t.ExpiresAt.Before(q.ExpiresAfter)):
		return false
	}
	return terms.Match(t.Name)
}

// order returns the comparison of sort s, ties broken by ID in the same
// direction.
func order(s patkit.Sort) func(a, b *patkit.Token) int {
	var key func(a, b *patkit.Token) int
	desc := false
	switch s {
	case patkit.SortCreatedAsc, patkit.SortCreatedDesc:
		key = func(a, b *patkit.Token) int { return a.CreatedAt.Compare(b.CreatedAt) }
		desc = s == patkit.SortCreatedDesc
	case patkit.SortExpiresAsc, patkit.SortExpiresDesc:
		key = func(a, b *patkit.Token) int { return nullsLarge(a.ExpiresAt, b.ExpiresAt) }
		desc = s == patkit.SortExpiresDesc
	case patkit.SortLastUsedAsc, patkit.SortLastUsedDesc:
		key = func(a, b *patkit.Token) int { return nullsLarge(a.LastUsedAt, b.LastUsedAt) }
		desc = s == patkit.SortLastUsedDesc
	case patkit.SortNameAsc, patkit.SortNameDesc:
		key = func(a, b *patkit.Token) int { return strings.Compare(a.Name, b.Name) }
		desc = s == patkit.SortNameDesc
	default:
		key = func(a, b *patkit.Token) int { return 0 }
	}
	return func(a, b *patkit.Token) int {
		c := key(a, b)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			return -c
		}
		return c
	}
}

// nullsLarge compares two times, the zero Time (NULL) being larger than any
// other, as PostgreSQL orders NULLs.
func nullsLarge(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// Revoke marks the token revoked. Revoking a revoked token returns nil; a
// missing token returns an error wrapping patkit.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id int64) error {
	return s.update(ctx, id, func(t *patkit.Token) { t.Revoked = true })
}

// update applies fn to the stored token id under the write lock.
func (s *Store) update(ctx context.Context, id int64, fn func(*patkit.Token)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok {
		return notFound(id)
	}
	fn(t)
	return nil
}

// Rotate revokes the token oldID and saves a copy of next, setting next.ID,
// in one step. It changes nothing and returns an error wrapping
// patkit.ErrNotFound if oldID does not exist, patkit.ErrTokenRevoked if it
// is already revoked, or patkit.ErrConflict if next.Digest exists.
func (s *Store) Rotate(ctx context.Context, oldID int64, next *patkit.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	old.Revoked = true
	s.insert(next)
	return nil
}

// SetLastUsed sets the token's LastUsedAt to at and its LastUsedIPs to a
// copy of ips. A missing token returns an error wrapping
// patkit.ErrNotFound.
func (s *Store) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	return s.update(ctx, id, func(t *patkit.Token) {
		t.LastUsedAt = at
		t.LastUsedIPs = slices.Clone(ips)
	})
}

func notFound(id int64) error {
	return fmt.Errorf("memstore: token %d: %w", id, patkit.ErrNotFound)
}
