// Package sqlq translates a patkit.Query into SQL for the SQL stores
// (sqlitestore, pgstore): the WHERE clause of Query.Match, the ORDER BY of
// Sort.Compare, and the page and count queries of List. It holds the
// translation once; what differs between the databases (placeholders, how
// times and case folding are stored, the expression the planner serves
// best) is a Dialect.
//
// A Query is translated as it arrives in Store.List: normalized (see
// patkit.Query.Normalize), which the translation relies on and does not
// repeat.
package sqlq

import (
	"strconv"
	"strings"
	"time"

	"github.com/patkit/patkit"
)

// Dialect is what a database's SQL needs besides the shared translation.
// The table has the columns of the stores' migrations; revoked and
// impersonation are booleans (or 0 and 1) and the times NULL or instants
// at microsecond precision.
type Dialect struct {
	// Param returns the placeholder of the n-th argument, from 1.
	Param func(n int) string
	// Time returns the argument value of t, whole microseconds.
	Time func(t time.Time) any
	// Never is the literal of an instant later than every stored time.
	// The nullable times are sorted and compared as coalesce(column,
	// Never), their sort key: NULL (never expires, never used) is then
	// larger than every time, as Sort.Compare wants, without NULLS FIRST
	// or LAST, and the state and bound filters are ranges of the same
	// expression, so that one index (the key, then id) serves both.
	Never string
	// FoldedName is the expression of the name lower-cased, compared with
	// = to an exact search.
	FoldedName string
	// NameLike is a LIKE of the name that ignores case, without its
	// pattern: "name ILIKE". The pattern is lower case, and escapes its
	// wildcards with \.
	NameLike string
	// SortName is the expression of the name that orders bytewise.
	SortName string
	// Unindexed, if set, returns a column or expression written so that
	// the planner uses no index for a condition on it (SQLite: +expr). The
	// page query applies it to every condition but the scope (owner,
	// resource, previous token) and the sort key, so that the planner,
	// which has no statistics, always reads the index that serves the
	// order instead of sorting the rows of another; for an exact name
	// search, to every condition but the name, whose tokens are few and
	// are sorted.
	Unindexed func(expr string) string
	// IDsFirst makes the page query find the IDs of the page first, in a
	// subquery that reads the index of the order and the filtered columns
	// it includes (an index-only scan in PostgreSQL), and only then the
	// page's rows, in the order of the subquery. Without it, PostgreSQL
	// reads the table for each index entry it filters, kept or not.
	IDsFirst bool
}

// ExpiresKey returns the sort key of expires_at.
func (d *Dialect) ExpiresKey() string { return "coalesce(expires_at, " + d.Never + ")" }

// LastUsedKey returns the sort key of last_used_at.
func (d *Dialect) LastUsedKey() string { return "coalesce(last_used_at, " + d.Never + ")" }

// List returns the page query of q on table, selecting columns, the
// count query of its matches, which stops counting after
// patkit.MaxCount+1, and the arguments of each.
func (d *Dialect) List(columns, table string, q *patkit.Query) (page string, pageArgs []any, count string, countArgs []any) {
	where, pageArgs := d.where(q, true)
	limit := " LIMIT " + strconv.Itoa(q.PerPage) + " OFFSET " + strconv.FormatInt(q.Offset(), 10)
	if !d.IDsFirst {
		page = "SELECT " + columns + " FROM " + table + where + d.OrderBy(q.Sort) + limit
	} else {
		// SELECT t.id, ... FROM (SELECT id, key AS k FROM table WHERE ...
		// ORDER BY key, id LIMIT ...) AS p JOIN table AS t ON t.id = p.id
		// ORDER BY p.k, p.id: a nested loop keeps the subquery's order.
		cols := strings.Split(columns, ",")
		for i, c := range cols {
			cols[i] = "t." + strings.TrimSpace(c)
		}
		key, order := d.sortKey(q.Sort), d.OrderBy(q.Sort)
		sel, outer := "id", " ORDER BY p.id"
		if key != "id" {
			sel, outer = "id, "+key+" AS k", " ORDER BY p.k"+direction(q.Sort)+", p.id"
		}
		page = "SELECT " + strings.Join(cols, ", ") + " FROM (SELECT " + sel + " FROM " + table + where + order + limit +
			") AS p JOIN " + table + " AS t ON t.id = p.id" + outer + direction(q.Sort)
	}
	where, countArgs = d.where(q, false)
	count = "SELECT count(*) FROM (SELECT 1 FROM " + table + where +
		" LIMIT " + strconv.Itoa(patkit.MaxCount+1) + ") AS matches"
	return page, pageArgs, count, countArgs
}

// Where returns the WHERE clause keeping the tokens q.Match keeps ("" when
// q filters nothing) and its arguments, as the count query has it. Values
// are never written into the SQL.
func (d *Dialect) Where(q *patkit.Query) (string, []any) { return d.where(q, false) }

// where returns the WHERE clause of q. For a page (page true), the
// conditions on anything but the scope and the sort key are Unindexed.
func (d *Dialect) where(q *patkit.Query, page bool) (string, []any) {
	var (
		conds []string
		args  []any
	)
	// arg adds an argument and returns its placeholder.
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	// col returns expr as the page query's conditions on it are written:
	// Unindexed but for the scope and the sort key, or, for an exact
	// search, for the name alone (the tokens of one name are few).
	terms := q.Terms()
	sortKey := d.sortKey(q.Sort)
	col := func(expr string, scope bool) string {
		switch {
		case !page || d.Unindexed == nil:
		case terms.Exact != "", !scope && expr != sortKey:
			return d.Unindexed(expr)
		}
		return expr
	}
	if q.UserID != 0 {
		conds = append(conds, col("user_id", true)+" = "+arg(q.UserID))
	}
	if q.Impersonation != nil {
		conds = append(conds, col("impersonation", false)+" = "+arg(*q.Impersonation))
	}
	if q.ResourceType != "" {
		conds = append(conds, col("resource_type", true)+" = "+arg(string(q.ResourceType)),
			col("resource_id", true)+" = "+arg(q.ResourceID))
	}
	if q.PreviousID != 0 {
		conds = append(conds, col("previous_id", true)+" = "+arg(q.PreviousID))
	}
	if q.Revoked != nil {
		conds = append(conds, col("revoked", false)+" = "+arg(*q.Revoked))
	}
	// A token is active when it is not revoked and now is before its
	// expiry: expires_at > now, and stored instants are whole
	// microseconds, so now rounds down. NULL expiry is Never, after every
	// now.
	expires, lastUsed := col(d.ExpiresKey(), false), col(d.LastUsedKey(), false)
	// The expiry comes first: where an index holds the expiry key but not
	// revoked, a token it decides is judged from the index entry alone.
	switch now := d.Time(floor(q.Now)); q.State {
	case patkit.StateActive:
		conds = append(conds, expires+" > "+arg(now)+" AND NOT revoked")
	case patkit.StateInactive:
		conds = append(conds, "("+expires+" <= "+arg(now)+" OR revoked)")
	}
	// Inclusive bounds but ExpiresBefore. NULL (never used, never
	// expires) compares to nothing, so it falls outside every bound: its
	// key, Never, is above every upper bound, and the lower bounds keep
	// the keys below Never. A bound finer than a microsecond rounds to the
	// stored instants that the exact bound keeps: down for x <= b, up for
	// x >= b and x < b.
	bound := func(zero bool, cond string, t time.Time) {
		if !zero {
			conds = append(conds, cond+arg(d.Time(t)))
		}
	}
	created := col("created_at", false)
	bound(q.CreatedBefore.IsZero(), created+" <= ", floor(q.CreatedBefore))
	bound(q.CreatedAfter.IsZero(), created+" >= ", ceil(q.CreatedAfter))
	bound(q.LastUsedBefore.IsZero(), lastUsed+" <= ", floor(q.LastUsedBefore))
	bound(q.LastUsedAfter.IsZero(), lastUsed+" < "+d.Never+" AND "+lastUsed+" >= ", ceil(q.LastUsedAfter))
	bound(q.ExpiresBefore.IsZero(), expires+" < ", ceil(q.ExpiresBefore))
	bound(q.ExpiresAfter.IsZero(), expires+" < "+d.Never+" AND "+expires+" >= ", ceil(q.ExpiresAfter))
	if terms.Exact != "" {
		conds = append(conds, d.FoldedName+" = "+arg(terms.Exact))
	}
	for _, w := range terms.Words {
		conds = append(conds, d.NameLike+" "+arg("%"+likeEscaper.Replace(w)+"%")+` ESCAPE '\'`)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likeEscaper makes a string match itself in a LIKE pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// floor rounds t down to a whole microsecond.
func floor(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// ceil rounds t up to a whole microsecond.
func ceil(t time.Time) time.Time {
	if f := floor(t); f.Before(t) {
		return f.Add(time.Microsecond)
	}
	return t
}

// OrderBy returns the ORDER BY clause of s, as Sort.Compare defines it: the
// sort key, then id, both in the sort's direction. The keys of the
// nullable times are coalesce(column, Never), so NULL (never expires,
// never used) sorts after every time ascending and before every time
// descending, and one index on the key and id, read forwards or
// backwards, serves both directions. An unknown Sort orders as
// SortDefault, by id ascending.
func (d *Dialect) OrderBy(s patkit.Sort) string {
	dir := direction(s)
	if key := d.sortKey(s); key != "id" {
		return " ORDER BY " + key + dir + ", id" + dir
	}
	return " ORDER BY id" + dir
}

// direction returns the direction of s, " ASC" or " DESC".
func direction(s patkit.Sort) string {
	if s.Descending() {
		return " DESC"
	}
	return " ASC"
}

// sortKey returns the expression s orders by before id.
func (d *Dialect) sortKey(s patkit.Sort) string {
	switch s {
	case patkit.SortCreatedAsc, patkit.SortCreatedDesc:
		return "created_at"
	case patkit.SortExpiresAsc, patkit.SortExpiresDesc:
		return d.ExpiresKey()
	case patkit.SortLastUsedAsc, patkit.SortLastUsedDesc:
		return d.LastUsedKey()
	case patkit.SortNameAsc, patkit.SortNameDesc:
		return d.SortName
	}
	return "id"
}
