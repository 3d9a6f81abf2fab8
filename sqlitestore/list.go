package sqlitestore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/patkit/patkit"
)

// orders maps each sort to its ORDER BY clause. Every order ends with id in
// the same direction. NULL (never expires, never used) sorts as larger than
// any time, as in PostgreSQL: last ascending, first descending.
var orders = map[patkit.Sort]string{
	patkit.SortDefault:      "id ASC",
	patkit.SortCreatedAsc:   "created_at ASC, id ASC",
	patkit.SortCreatedDesc:  "created_at DESC, id DESC",
	patkit.SortExpiresAsc:   "expires_at ASC NULLS LAST, id ASC",
	patkit.SortExpiresDesc:  "expires_at DESC NULLS FIRST, id DESC",
	patkit.SortLastUsedAsc:  "last_used_at ASC NULLS LAST, id ASC",
	patkit.SortLastUsedDesc: "last_used_at DESC NULLS FIRST, id DESC",
	patkit.SortNameAsc:      "name ASC, id ASC",
	patkit.SortNameDesc:     "name DESC, id DESC",
}

// where builds the WHERE clause (empty when q filters nothing) and its
// arguments.
func where(q *patkit.Query) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if q.UserID != 0 {
		add("user_id = ?", q.UserID)
	}
	if q.Impersonation != nil {
		add("impersonation = ?", *q.Impersonation)
	}
	if q.ResourceType != "" {
		add("resource_type = ? AND resource_id = ?", string(q.ResourceType), q.ResourceID)
	}
	if q.PreviousID != 0 {
		add("previous_id = ?", q.PreviousID)
	}
	if q.Revoked != nil {
		add("revoked = ?", *q.Revoked)
	}
	switch now := q.Now.UnixMicro(); q.State {
	case patkit.StateActive:
		// expires_at IS NULL OR expires_at > now, written so that the
		// planner does not turn the OR into two index searches, several
		// times slower than the scan it replaces.
		add("revoked = 0 AND coalesce(expires_at, 9223372036854775807) > ?", now)
	case patkit.StateInactive:
		add("(revoked = 1 OR expires_at <= ?)", now)
	}
	// Inclusive bounds; NULL compares to nothing, so never-used and
	// never-expiring tokens fall outside every bound.
	if !q.CreatedBefore.IsZero() {
		add("created_at <= ?", q.CreatedBefore.UnixMicro())
	}
	if !q.CreatedAfter.IsZero() {
		add("created_at >= ?", q.CreatedAfter.UnixMicro())
	}
	if !q.LastUsedBefore.IsZero() {
		add("last_used_at <= ?", q.LastUsedBefore.UnixMicro())
	}
	if !q.LastUsedAfter.IsZero() {
		add("last_used_at >= ?", q.LastUsedAfter.UnixMicro())
	}
	if !q.ExpiresBefore.IsZero() {
		add("expires_at < ?", q.ExpiresBefore.UnixMicro())
	}
	if !q.ExpiresAfter.IsZero() {
		add("expires_at >= ?", q.ExpiresAfter.UnixMicro())
	}
	terms := patkit.ParseSearch(q.Search)
	if terms.Exact != "" {
		add("name_folded = ?", terms.Exact)
	}
	for _, w := range terms.Words {
		add(`name_folded LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(w)+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// List returns one page of the tokens matching q, in q's order, and their
// number, or -1 when more than patkit.MaxCount match. Filtering, ordering,
// paging and counting happen in SQL; the count stops at MaxCount+1 rows, and
// is skipped when the page itself shows where the results end. The page and
// the count read one snapshot of the database.
func (s *Store) List(ctx context.Context, q *patkit.Query) (_ []*patkit.Token, total int, err error) {
	cond, args := where(q)
	order, ok := orders[q.Sort]
	if !ok {
		order = orders[patkit.SortDefault]
	}
	perPage, offset := q.PerPage, int(q.Offset())
	if perPage < 1 {
		perPage = 20
	}
	if offset < 0 {
		offset = 0
	}

	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, wrap("list tokens: begin", err)
	}
	defer tx.Rollback() // read-only: nothing to commit

	page := "SELECT " + columns + " FROM " + s.q.table + cond +
		" ORDER BY " + order + " LIMIT " + strconv.Itoa(perPage) + " OFFSET " + strconv.Itoa(offset)
	rows, err := tx.QueryContext(ctx, page, args...)
	if err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	defer rows.Close()
	tokens := make([]*patkit.Token, 0, perPage)
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, 0, wrap("list tokens", err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("list tokens", err)
	}

	if n := len(tokens); n > 0 && n < perPage {
		// A short, non-empty page is the last one: it gives the total.
		total = offset + n
	} else {
		count := "SELECT count(*) FROM (SELECT 1 FROM " + s.q.table + cond +
			" LIMIT " + strconv.Itoa(patkit.MaxCount+1) + ")"
		if err := tx.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
			return nil, 0, wrap("count tokens", err)
		}
	}
	return tokens, total, nil
}
