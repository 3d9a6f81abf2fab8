package sqlitestore

import (
	"context"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// Synchronous returns the synchronous setting of the connection the Store
// writes with: 1 NORMAL, 2 FULL.
func (s *Store) Synchronous(ctx context.Context) (int, error) {
	var n int
	err := s.w.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n)
	return n, err
}

// WALAutocheckpoint returns the wal_autocheckpoint setting of the
// connection the Store writes with: the pages of log that trigger a
// checkpoint.
func (s *Store) WALAutocheckpoint(ctx context.Context) (int, error) {
	var n int
	err := s.w.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&n)
	return n, err
}

// ReadMmapSize returns the mmap_size of a connection the Store reads with.
func (s *Store) ReadMmapSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.db.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&n)
	return n, err
}

// Queued returns the number of writes waiting to be committed (not those
// in the transaction being committed).
func (s *Store) Queued() int {
	s.wr.mu.Lock()
	defer s.wr.mu.Unlock()
	return len(s.wr.queue)
}

// Committing reports whether a goroutine (a caller's or the writer
// goroutine) is committing writes.
func (s *Store) Committing() bool {
	s.wr.mu.Lock()
	defer s.wr.mu.Unlock()
	return s.wr.busy
}

// WriterRunning reports whether the Store's writer goroutine is running.
func (s *Store) WriterRunning() bool {
	s.wr.mu.Lock()
	running := s.wr.running
	s.wr.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-s.wr.exited:
		return false
	default:
		return true
	}
}

// SetPollFault makes every read of Watch's feed first call fault, and
// fail with its error if it returns one; nil removes it.
func (s *Store) SetPollFault(fault func() error) {
	if fault == nil {
		s.pollFault.Store(nil)
		return
	}
	s.pollFault.Store(&fault)
}

// SetRevocationLog makes the Store keep the newest keep revocations of
// the log, pruning it after every prune it commits. Call it before the
// Store's first write.
func (s *Store) SetRevocationLog(keep, every int64) {
	s.keep, s.pruneEvery = keep, every
}

// ListSQL exposes the SQL of List to the plan tests: the page query and
// its arguments, the count query and its.
func (s *Store) ListSQL(q *patkit.Query) (page string, pageArgs []any, count string, countArgs []any) {
	page, pageArgs = dialect.Page(columns, s.q.table, q)
	count, countArgs, _ = dialect.Count(s.q.tables, q)
	return page, pageArgs, count, countArgs
}

// ClaimableSQL exposes the read of ClaimNotices to the plan tests.
func (s *Store) ClaimableSQL(n patkit.Notice) string {
	return claimable(s.q.table, n)
}

// ClaimSQL exposes the statement of ClaimNotices to the plan tests.
func (s *Store) ClaimSQL(n patkit.Notice) string {
	col, _ := sqlq.NoticeColumn(n)
	return claimQuery(s.q.table, n, col)
}

// SetBudgets sets the Budgets of s's BoundPlans, for tests of each plan
// on few tokens.
func (s *Store) SetBudgets(b sqlq.Budgets) { s.bounds = b }

// BoundSQL exposes List's BoundPlan of q to the plan tests.
func (s *Store) BoundSQL(q *patkit.Query) (*sqlq.BoundPlan, bool) {
	return s.boundPlan(q)
}

// SearchSQL exposes List's SearchPlan of q to the plan tests.
func (s *Store) SearchSQL(q *patkit.Query) (*sqlq.SearchPlan, bool) {
	return dialect.Search(columns, s.q.table, q, s.bounds)
}

// SetNamesEvery sets how many tokens s creates between two indexings of
// their names, for tests of the trigram index with few tokens.
func (s *Store) SetNamesEvery(n int64) { s.namesEvery = n }
