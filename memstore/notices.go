package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/patkit/patkit"
)

var _ patkit.NoticeClaimer = (*Store)(nil)

// ClaimNotices claims notice n, under the write lock, for up to limit
// tokens that are not revoked, expire after `after` (no bound when zero)
// and not after until, and have had no notice n or later; it sets their
// notice n to at and returns copies of them in increasing ID order,
// claiming the smallest IDs first. It scans every token.
func (s *Store) ClaimNotices(ctx context.Context, n patkit.Notice, after, until, at time.Time, limit int) ([]*patkit.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "claim notices"); err != nil {
		return nil, err
	}
	var due []*patkit.Token
	for _, t := range s.tokens {
		if !t.Revoked && !t.ExpiresAt.IsZero() && (after.IsZero() || t.ExpiresAt.After(after)) &&
			!t.ExpiresAt.After(until) && t.Notices.Last() < n {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b *patkit.Token) int { return cmp.Compare(a.ID, b.ID) })
	due = due[:min(len(due), max(limit, 0))]
	claimed := make([]*patkit.Token, len(due))
	for i, t := range due {
		t.Notices.Set(n, at)
		claimed[i] = t.Clone()
	}
	return claimed, nil
}
