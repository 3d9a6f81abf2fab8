package pgstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
)

// List returns one page of the tokens matching q in q's order, and the
// number of matching tokens, or -1 when there are more than
// patkit.MaxCount. Filtering, ordering and paging all happen in SQL, on the
// indexes created by the migrations; counting stops after MaxCount+1 rows.
// The page and the count are sent in one round trip.
func (s *Store) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	page, count, args := s.listSQL(q)
	var b pgx.Batch
	b.Queue(page, args...)
	b.Queue(count, args...)
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

// listSQL returns the page query of q, its count query, and the arguments
// of both.
func (s *Store) listSQL(query *patkit.Query) (page, count string, args []any) {
	q := *query

	where, args := whereClause(&q)
	page = `SELECT ` + columns + ` FROM ` + s.q.tokens + where + orderBy(q.Sort) +
		` LIMIT ` + strconv.Itoa(q.PerPage) + ` OFFSET ` + strconv.FormatInt(q.Offset(), 10)
	count = `SELECT count(*) FROM (SELECT 1 FROM ` + s.q.tokens + where +
		` LIMIT ` + strconv.Itoa(patkit.MaxCount+1) + `) t`
	return page, count, args
}

// whereClause returns the WHERE clause selecting q's tokens ("" for all)
// and its positional arguments. Values are never written into the SQL.
func whereClause(q *patkit.Query) (string, []any) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.UserID != 0 {
		conds = append(conds, "user_id = "+arg(q.UserID))
	}
	if q.Impersonation != nil {
		conds = append(conds, "impersonation = "+arg(*q.Impersonation))
	}
	if q.ResourceType != "" {
		conds = append(conds, "resource_type = "+arg(string(q.ResourceType)), "resource_id = "+arg(q.ResourceID))
	}
	if q.PreviousID != 0 {
		conds = append(conds, "previous_id = "+arg(q.PreviousID))
	}
	if q.Revoked != nil {
		conds = append(conds, "revoked = "+arg(*q.Revoked))
	}
	switch q.State {
	case patkit.StateActive:
		conds = append(conds, "NOT revoked AND (expires_at IS NULL OR expires_at > "+arg(q.Now)+")")
	case patkit.StateInactive:
		conds = append(conds, "(revoked OR expires_at <= "+arg(q.Now)+")")
	}
	if !q.CreatedBefore.IsZero() {
		conds = append(conds, "created_at <= "+arg(q.CreatedBefore))
	}
	if !q.CreatedAfter.IsZero() {
		conds = append(conds, "created_at >= "+arg(q.CreatedAfter))
	}
	// NULL (never used, never expires) fails every comparison.
	if !q.LastUsedBefore.IsZero() {
		conds = append(conds, "last_used_at <= "+arg(q.LastUsedBefore))
	}
	if !q.LastUsedAfter.IsZero() {
		conds = append(conds, "last_used_at >= "+arg(q.LastUsedAfter))
	}
	if !q.ExpiresBefore.IsZero() {
		conds = append(conds, "expires_at < "+arg(q.ExpiresBefore))
	}
	if !q.ExpiresAfter.IsZero() {
		conds = append(conds, "expires_at >= "+arg(q.ExpiresAfter))
	}
	terms := patkit.ParseSearch(q.Search)
	if terms.Exact != "" {
		conds = append(conds, "lower(name) = "+arg(terms.Exact))
	}
	for _, w := range terms.Words {
		conds = append(conds, `name ILIKE `+arg("%"+escapeLike(w)+"%")+` ESCAPE '\'`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// escapeLike makes s match itself literally in a LIKE pattern.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

// orderBy returns the ORDER BY clause of a sort: the sort key, then id in
// the same direction. NULLs (never used, never expires) come last ascending
// and first descending, PostgreSQL's default, so the indexes serve both
// directions. Names order bytewise (COLLATE "C"), the same on every server.
func orderBy(s patkit.Sort) string {
	switch s {
	case patkit.SortCreatedAsc:
		return " ORDER BY created_at ASC, id ASC"
	case patkit.SortCreatedDesc:
		return " ORDER BY created_at DESC, id DESC"
	case patkit.SortExpiresAsc:
		return " ORDER BY expires_at ASC, id ASC"
	case patkit.SortExpiresDesc:
		return " ORDER BY expires_at DESC, id DESC"
	case patkit.SortLastUsedAsc:
		return " ORDER BY last_used_at ASC, id ASC"
	case patkit.SortLastUsedDesc:
		return " ORDER BY last_used_at DESC, id DESC"
	case patkit.SortNameAsc:
		return ` ORDER BY name COLLATE "C" ASC, id ASC`
	case patkit.SortNameDesc:
		return ` ORDER BY name COLLATE "C" DESC, id DESC`
	}
	return " ORDER BY id ASC"
}
