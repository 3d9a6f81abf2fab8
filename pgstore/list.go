package pgstore

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// dialect is PostgreSQL's part of the translation of a Query. Each
// expression is the one an index of the migrations serves (see Indexes
// and EXPLAIN in the package documentation).
var dialect = sqlq.Dialect{
	Param: func(n int) string { return "$" + strconv.Itoa(n) },
	Time:  func(t time.Time) any { return t },
	Unexpired: func(now string) string {
		return "(expires_at IS NULL OR expires_at > " + now + ")"
	},
	// tokens_lower_name_idx.
	FoldedName: "lower(name)",
	// The trigram index of names, where Migrate could create it.
	NameLike: "name ILIKE",
	// Bytewise on every server whatever its locale: tokens_name_id_idx.
	SortName: `name COLLATE "C"`,
}

// List returns one page of the tokens q.Match keeps, in the order of
// q.Sort.Compare, and their number, which stops at patkit.MaxCount+1.
// Filtering, ordering and paging all happen in SQL, on the indexes created
// by the migrations. The count sums the counters of token_counts when q's
// filters do not depend on time (see the package documentation). The page
// and the count are sent in one round trip.
// q must be normalized.
func (s *Store) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	page, args := s.pageSQL(q)
	count, countArgs, _ := dialect.Count(s.q.tokens, s.q.counts, q)
	var b pgx.Batch
	b.Queue(page, args...)
	b.Queue(count, countArgs...)
	res := s.pool.SendBatch(ctx, &b)
	defer res.Close()

	rows, err := res.Query()
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	tokens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*patkit.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	var total int
	if err := res.QueryRow().Scan(&total); err != nil {
		return nil, 0, wrap("list: count", err)
	}
	if err := res.Close(); err != nil {
		return nil, 0, wrap("list", err)
	}
	return tokens, total, nil
}

// pageSQL returns the page query of q and its arguments.
func (s *Store) pageSQL(q *patkit.Query) (page string, args []any) {
	page, _, args = dialect.List(columns, s.q.tokens, q)
	return page, args
}
