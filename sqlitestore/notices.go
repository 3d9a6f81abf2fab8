package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

var _ patkit.NoticeClaimer = (*Store)(nil)

// claimable is the query of the tokens of the window (?3, ?4] that may
// get notice n, at most ?5, through the partial index tokens_notice (its
// condition repeated word for word, so that SQLite sees that the index
// serves the query; one seek per earlier notice).
func claimable(table string, n patkit.Notice) string {
	earlier := make([]string, n)
	for i := range earlier {
		earlier[i] = strconv.Itoa(i)
	}
	return `SELECT id FROM ` + table + `
			WHERE revoked = 0 AND expires_at IS NOT NULL AND notice < 4
				AND notice IN (` + strings.Join(earlier, ", ") + `) AND expires_at > ?3 AND expires_at <= ?4
			LIMIT ?5`
}

// claimQuery is the statement of ClaimNotices for notice n on table: the
// claimable tokens marked with n and its time ?2 (in column col), and
// returned.
func claimQuery(table string, n patkit.Notice, col string) string {
	return `UPDATE ` + table + ` SET notice = ?1, ` + col + ` = ?2
		WHERE id IN (` + claimable(table, n) + `)
		RETURNING ` + columns
}

// ClaimNotices implements patkit.NoticeClaimer in one UPDATE, one write of
// the group commit: SQLite's write lock makes it atomic across every
// Store and process on the file. It returns the tokens claimed once the
// write has committed. It first reads whether any token is due, and
// writes only then: most sweeps find nothing, and would otherwise take
// the write lock of every process on the file each time.
func (s *Store) ClaimNotices(ctx context.Context, n patkit.Notice, after, until, at time.Time, limit int) ([]*patkit.Token, error) {
	name := fmt.Sprintf("claim %v notices", n)
	col, ok := sqlq.NoticeColumn(n)
	if !ok {
		return nil, fmt.Errorf("sqlitestore: %s: unknown notice %d", name, n)
	}
	lo := int64(math.MinInt64)
	if !after.IsZero() {
		lo = after.UnixMicro()
	}
	args := []any{int64(n), at.UnixMicro(), lo, until.UnixMicro(), max(limit, 0)}
	if err := s.r.check(ctx); err != nil {
		return nil, err
	}
	var id int64
	switch err := s.r.db.QueryRowContext(ctx, claimable(s.q.table, n), args...).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, wrap(name, err)
	}
	query := claimQuery(s.q.table, n, col)
	var claimed []*patkit.Token
	_, err := s.write(ctx, name, func(tx *writeTx) (int64, error) {
		claimed = claimed[:0] // a write that runs again, alone, starts over
		rows, err := tx.tx.QueryContext(bg, query, args...)
		if err != nil {
			return 0, wrap(name, err)
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return 0, wrap(name, err)
			}
			claimed = append(claimed, t)
		}
		if err := rows.Err(); err != nil {
			return 0, wrap(name, err)
		}
		return 0, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b *patkit.Token) int { return cmp.Compare(a.ID, b.ID) })
	return claimed, nil
}
