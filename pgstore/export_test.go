package pgstore

import (
	"context"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// ListSQL exposes the SQL of List to the EXPLAIN test: the page query and
// its arguments, the count query and its.
func (s *Store) ListSQL(q *patkit.Query) (page string, args []any, count string, countArgs []any) {
	page, args = s.pageSQL(q)
	count, countArgs, _ = dialect.Count(s.q.tables, q)
	return page, args, count, countArgs
}

// ChannelName exposes the NOTIFY channel of a schema.
var ChannelName = channelName

// ListenerPID returns the backend PID of Watch's connection while it
// listens, 0 otherwise.
func (s *Store) ListenerPID() uint32 { return s.listener.Load() }

// SetWatchTimings shortens Watch's timings; call it before Watch.
func (s *Store) SetWatchTimings(heartbeat, minBackoff, maxBackoff time.Duration) {
	s.timings.heartbeat = heartbeat
	s.timings.minBackoff = minBackoff
	s.timings.maxBackoff = maxBackoff
}

// ClaimSQL exposes the statement of ClaimNotices to the EXPLAIN test.
func (s *Store) ClaimSQL(n patkit.Notice) string {
	col, _ := sqlq.NoticeColumn(n)
	return claimQuery(s.q.tokens, n, col)
}

// ListDecodesRows reports whether List decodes the rows of q's page
// itself, rather than through pgx's Scan.
func (s *Store) ListDecodesRows(ctx context.Context, q *patkit.Query) (bool, error) {
	page, args := s.pageSQL(q)
	rows, err := s.pool.p.Query(ctx, page, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	return rawColumns(rows), nil
}

// SetWordsEvery sets how many token IDs apart the creates are that count
// the words of new names (wordsEvery).
func (s *Store) SetWordsEvery(n int64) { s.wordsEvery = n }

// SetBudgets sets the Budgets of s's BoundPlans, for tests of each plan
// on few tokens.
func (s *Store) SetBudgets(b sqlq.Budgets) { s.bounds = b }

// BoundSQL exposes List's BoundPlan of q to the plan tests.
func (s *Store) BoundSQL(q *patkit.Query) (*sqlq.BoundPlan, bool) {
	return s.boundPlan(q)
}

// Estimate exposes the planner's estimate of a BoundPlan's Probe.
func (s *Store) Estimate(ctx context.Context, count string, args []any) (int, error) {
	return s.estimate(ctx, count, args)
}

// WithoutZones makes s list as it did before migration 0015, without
// the zones' seek nor the use counts of 0019 nor the words of 0020, until restore is called: a
// schema of an earlier migration has neither token_zones nor
// token_use_counts.
func (s *Store) WithoutZones() (restore func()) {
	old := s.q
	s.q.zonesNamed = ""
	s.q.tables.Zones, s.q.tables.Uses, s.q.tables.Words = "", "", ""
	return func() { s.q = old }
}
