package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

var _ patkit.NoticeClaimer = (*Store)(nil)

// claimQuery is the statement of ClaimNotices for notice n on the table
// tokens: the tokens of the window ($3, $4] that may get n, through the
// partial index tokens_notice_idx (its condition repeated word for word,
// so that the planner sees that it serves the query), locked, skipping
// those another claim holds, then marked with n and its time $2 and
// returned. A token another claim marked meanwhile no longer matches.
func claimQuery(tokens string, n patkit.Notice, col string) string {
	earlier := make([]string, n)
	for i := range earlier {
		earlier[i] = strconv.Itoa(i)
	}
	return `UPDATE ` + tokens + ` SET notice = $1, ` + col + ` = $2
		WHERE id IN (
			SELECT id FROM ` + tokens + `
			WHERE NOT revoked AND expires_at IS NOT NULL AND notice < 4
				AND notice IN (` + strings.Join(earlier, ", ") + `) AND expires_at > $3 AND expires_at <= $4
			LIMIT $5
			FOR UPDATE SKIP LOCKED)
		AND NOT revoked AND notice < $1
		RETURNING ` + columns
}

// ClaimNotices implements patkit.NoticeClaimer in one UPDATE: its rows are
// locked by the first claim that reaches them, which others skip, so that
// of concurrent claims on any number of instances each token goes to
// exactly one.
func (s *Store) ClaimNotices(ctx context.Context, n patkit.Notice, after, until, at time.Time, limit int) ([]*patkit.Token, error) {
	const op = "claim notices"
	col, ok := sqlq.NoticeColumn(n)
	if !ok {
		return nil, fmt.Errorf("pgstore: %s: unknown notice %d", op, n)
	}
	lo := pgtype.Timestamptz{Time: after, Valid: true}
	if after.IsZero() {
		lo = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	if err := s.pool.check(ctx); err != nil {
		return nil, wrap(op, err)
	}
	rows, err := s.pool.p.Query(ctx, claimQuery(s.q.tokens, n, col), int16(n), at, lo, until, max(limit, 0))
	if err != nil {
		return nil, wrap(op, err)
	}
	claimed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*patkit.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, wrap(op, err)
	}
	slices.SortFunc(claimed, func(a, b *patkit.Token) int { return cmp.Compare(a.ID, b.ID) })
	return claimed, nil
}
