package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/patkit/patkit"
)

var _ patkit.FamilyRevoker = (*Store)(nil)

// RevokeDescendants revokes at the time at, under the write lock, every
// unrevoked token descending from token id through rotation (PreviousID
// links to larger IDs only), clears Rotated across the family (the
// descendants, id and its rotated-out ancestors), and returns the IDs it
// revoked in increasing order. An unknown or
// childless id revokes nothing and returns no error. It scans every
// token once.
func (s *Store) RevokeDescendants(ctx context.Context, id int64, at time.Time) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx, "revoke token family"); err != nil {
		return nil, err
	}
	children := make(map[int64][]*patkit.Token)
	for _, t := range s.tokens {
		if t.PreviousID != 0 && t.ID > t.PreviousID {
			children[t.PreviousID] = append(children[t.PreviousID], t)
		}
	}
	var revoked []int64
	for queue := []int64{id}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			if !c.Revoked {
				revoked = append(revoked, c.ID)
			}
			s.revoke(c, at)
			queue = append(queue, c.ID)
		}
	}
	if t, ok := s.tokens[id]; ok {
		t.Rotated = false
		s.endGrace(t)
	}
	slices.Sort(revoked)
	return revoked, nil
}
