package sqlitestore

import "context"

// Synchronous returns the synchronous setting of the connection the Store
// writes with: 1 NORMAL, 2 FULL.
func (s *Store) Synchronous(ctx context.Context) (int, error) {
	var n int
	err := s.w.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n)
	return n, err
}
