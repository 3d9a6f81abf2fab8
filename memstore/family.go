package memstore

import (
	"context"
	"slices"

	"github.com/patkit/patkit"
)

var _ patkit.FamilyRevoker = (*Store)(nil)

// RevokeDescendants revokes, under the write lock, every unrevoked token
// descending from token id through rotation (PreviousID links to larger
// IDs only) and returns their IDs in increasing order. An unknown or
// childless id revokes nothing and returns no error. It scans every
// token once.
func (s *Store) RevokeDescendants(ctx context.Context, id int64) ([]int64, error) {
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
				c.Revoked = true
				revoked = append(revoked, c.ID)
			}
			queue = append(queue, c.ID)
		}
	}
	slices.Sort(revoked)
	return revoked, nil
}
