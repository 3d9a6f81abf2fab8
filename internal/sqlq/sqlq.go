// Package sqlq translates a patkit.Query into SQL for the SQL stores
// (sqlitestore, pgstore): the WHERE clause of Query.Match, the ORDER BY of
// Sort.Compare, and the page and count queries of a Store's List, the
// count reading the stores' counters where they answer it. It holds the
// translation once; what differs between the databases (placeholders, how
// times and case folding are stored, the expression the planner serves
// best) is a Dialect.
//
// A Query is translated as it arrives in Store.List: normalized (see
// patkit.Query.Normalize), which the translation relies on and does not
// repeat.
package sqlq

import (
	"slices"
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
	// NameContains returns the condition that the name contains word,
	// ignoring case, written with placeholder for its one argument, and
	// that argument. word is lower case. See LikePattern.
	NameContains func(word, placeholder string) (cond string, arg any)
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
	// reads the table for each index entry it filters, kept or not. A
	// page that filters on nothing but its scope has no entry to reject,
	// and reads its rows directly.
	IDsFirst bool
	// ImpersonationIndex, if set, returns the name of the partial index
	// of one owner's impersonation tokens on table, which every query of
	// them then reads (SQLite: INDEXED BY, since its planner, without
	// statistics, rates the owner's index of all tokens the same). Unset,
	// the planner chooses (PostgreSQL, whose statistics tell it that the
	// partial index holds few tokens).
	ImpersonationIndex func(table string) string
	// NameIndex, if set, returns the name of the index of table that
	// holds the folded names of q's scope (all tokens, q's owner, or q's
	// project or group), which a search by words then reads its matches
	// from when they are few (see Search). Unset, the planner chooses
	// (PostgreSQL, whose trigram index of names it reads).
	NameIndex func(table string, q *patkit.Query) string
	// NameCandidates, if set, returns a query of the IDs, as cid, of the
	// tokens of table whose names may hold every word (a superset of
	// them, from an index of trigrams), its arguments added with arg, and
	// true; false if the index cannot serve the words. A SearchPlan of
	// all tokens then counts its first matches (Probe) and reads its
	// Range from them.
	NameCandidates func(table string, words []string, arg func(any) string) (string, bool)
	// PageArgs makes the page's LIMIT and OFFSET arguments rather than
	// literals, so that the text of a page query depends on its shape
	// only and one prepared statement serves every page (SQLite). Off,
	// the server plans with the values in the text (PostgreSQL, where a
	// parameterized LIMIT measured a third slower).
	PageArgs bool
	// RowSeek makes the zones' seek of Bound a comparison of the row of
	// the sort key and the ID, (key, id) >= (least key, least ID) of the
	// zones that meet the bounds (<= and the greatest descending), which
	// the planner seeks the index of the key and ID by (PostgreSQL): in a
	// tie of the key, the tokens that never expire or were never used,
	// the walk then starts at the first zone's IDs too, not at the first
	// of the tie; and Near reads its entries under a LIMIT, stopping at
	// the page. Off, the seek compares the key alone (SQLite, whose
	// planner seeks an index on an expression by its first column only),
	// Near reads up to a cutoff that takes a tie whole, and in a
	// descending order of a nullable time, which begins with the tie of
	// Never, the tie from the zones' greatest ID is read first.
	RowSeek bool
	// Fence ends a subquery so that the planner plans it on its own,
	// neither merging it into the query around it nor reading it in that
	// query's order: "OFFSET 0" (PostgreSQL), "LIMIT -1 OFFSET 0" (SQLite).
	Fence string
	// UsedDay, if set, is the expression of the day of a token's last
	// use, in whole days from 1970-01-01 UTC, that the indexes of recent
	// use lead with: one for each order but last use's (id, created_at,
	// the expiry key and SortName, each followed by id), of the tokens
	// that were used (WHERE last_used_at IS NOT NULL). Bound then reads a
	// list of all tokens used after a time of the last RecentDays days
	// day by day (see Bound).
	UsedDay string
	// ScopeBounds gives one owner's or one resource's lists bounded in
	// time against their order a BoundPlan too (see Bound), where the
	// planner reads a scope's Range from the bound's range of the scope's
	// index of its key (SQLite). Off, they walk their order.
	ScopeBounds bool
}

// ExpiresKey returns the sort key of expires_at.
func (d *Dialect) ExpiresKey() string { return "coalesce(expires_at, " + d.Never + ")" }

// LastUsedKey returns the sort key of last_used_at.
func (d *Dialect) LastUsedKey() string { return "coalesce(last_used_at, " + d.Never + ")" }

// Page returns the page query of q on table, selecting columns, and its
// arguments: the walk of the index of q's order. A list of all tokens
// bounded on another key than its order has a BoundPlan instead (see
// Bound), whose Walk is this query.
func (d *Dialect) Page(columns, table string, q *patkit.Query) (string, []any) {
	where, args := d.where(q, true, nil)
	return d.page(columns, table, q, where, args)
}

// page returns the page query of q that reads the index of its order,
// keeping the rows where keeps, and its arguments (args, those of where,
// then the page's).
func (d *Dialect) page(columns, table string, q *patkit.Query, where string, args []any) (string, []any) {
	n, offset, args := d.limit(q, args)
	limit := " LIMIT " + n + " OFFSET " + offset
	// A search by words is served by a trigram index, not in order: the
	// ordered walk of IDsFirst, cheap as it looks index-only, reads every
	// name until 20 match.
	// A page that filters on nothing but its scope rejects no index
	// entry: it reads its rows in the index's order directly.
	if !d.IDsFirst || len(q.Terms().Words) > 0 || scopeOnly(q) {
		return "SELECT " + columns + " FROM " + d.from(table, q) + where + d.OrderBy(q.Sort) + limit, args
	}
	// SELECT t.id, ... FROM (SELECT id, key AS k FROM table WHERE ...
	// ORDER BY key, id LIMIT ...) AS p JOIN table AS t ON t.id = p.id
	// ORDER BY p.k, p.id: a nested loop keeps the subquery's order.
	return d.join(columns, table, q, "SELECT "+d.keyColumns(q.Sort)+" FROM "+d.from(table, q)+where+d.OrderBy(q.Sort)+limit), args
}

// keyColumns returns the columns of the IDs and sort keys of a page in
// order s: id, and the key as k unless the order is by id.
func (d *Dialect) keyColumns(s patkit.Sort) string {
	if key := d.sortKey(s); key != "id" {
		return "id, " + key + " AS k"
	}
	return "id"
}

// keyOrder returns the ORDER BY, in order s, of the columns that
// keyColumns names, each prefixed with p ("p." outside their subquery).
func (d *Dialect) keyOrder(s patkit.Sort, p string) string {
	dir := direction(s)
	if d.sortKey(s) == "id" {
		return " ORDER BY " + p + "id" + dir
	}
	return " ORDER BY " + p + "k" + dir + ", " + p + "id" + dir
}

// limit returns the LIMIT and the OFFSET of q's page as the SQL writes
// them, and args with theirs where the dialect passes them as arguments.
// The caller writes them into its query: a string made here would be one
// more allocation of every List.
func (d *Dialect) limit(q *patkit.Query, args []any) (limit, offset string, _ []any) {
	if d.PageArgs {
		return d.Param(len(args) + 1), d.Param(len(args) + 2), append(args, q.PerPage, q.Offset())
	}
	return strconv.Itoa(q.PerPage), strconv.FormatInt(q.Offset(), 10), args
}

// join returns the query of the rows whose IDs, and sort keys (as k,
// unless the order is by id), ids selects in the order of q, in that
// order.
func (d *Dialect) join(columns, table string, q *patkit.Query, ids string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = "t." + strings.TrimSpace(c)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (" + ids + ") AS p JOIN " + table + " AS t ON t.id = p.id" + d.keyOrder(q.Sort, "p.")
}

// ownImpersonation reports whether q keeps one owner's impersonation
// tokens only: a partial index of the migrations holds those, whose
// predicate the query repeats word for word (impersonation), so that the
// planner sees that the index serves it.
func ownImpersonation(q *patkit.Query) bool {
	return q.UserID != 0 && q.Impersonation != nil && *q.Impersonation
}

// from returns what a query of q reads: table, and the index it must
// read it by, where the dialect names one. An exact search reads the
// index of the name (see where).
func (d *Dialect) from(table string, q *patkit.Query) string {
	if d.ImpersonationIndex != nil && ownImpersonation(q) && q.Terms().Exact == "" {
		return table + " INDEXED BY " + d.ImpersonationIndex(table)
	}
	return table
}

// scopeOnly reports whether q keeps every token of its scope (all, one
// owner, one project or group): it filters on nothing else.
func scopeOnly(q *patkit.Query) bool {
	f := q.Filter
	f.Sort, f.Page, f.PerPage = "", 0, 0
	return f == patkit.Filter{} && q.Impersonation == nil && q.PreviousID == 0
}

// walk returns the query that counts the rows of table that where keeps,
// stopping after upTo+1.
func walk(table, where string, upTo int) string {
	return "SELECT count(*) FROM (SELECT 1 FROM " + table + where +
		" LIMIT " + strconv.Itoa(upTo+1) + ") AS matches"
}

// A BoundPlan is the page of a list of all tokens (or of one owner's or
// resource's) bounded in time on another key than its order: created
// after a day and sorted by expiry, say. Two plans give that page, and
// which is cheaper depends on the data: walking the index of the order until the page is full (Page's
// query), which reads the tokens outside the bound that come first in the
// order, and reading the bound's range of the index of its key and
// sorting it, which reads every token in the bound. Times are correlated
// (a token is created, used and expires in that order, and its id grows
// with its creation), so the walk can read most of the tokens before its
// first match: at 1,000,000 tokens, walking to the tokens used in the
// last week in order of expiry read some 750,000 entries (0.87 s), where
// their range holds 21,000.
//
// Where the store keeps zones (see Bound), both walks start where the
// zones say the bound's first match may be, and skip the tokens before
// it: a token's times are close to those of the tokens created just
// before and after it, so the zones that hold the bound's matches
// (tokens used in the last week, say) have their own times in a small
// part of the order.
//
// A store runs Near as the page query: the walk of the first entries of
// the order only, which fills the page whenever the bound keeps many of
// the tokens that come first. Finish then counts the bound's range, up to
// RangeMax (Probe), and reads the page from the range if it holds no more
// (Range), else walks the whole order (Walk). Each gives the same page.
type BoundPlan struct {
	// The queries of the plan, each with its arguments.
	Near, Probe, Range, Walk                 string
	NearArgs, ProbeArgs, RangeArgs, WalkArgs []any
	// Next, if set, is the page query that Finish runs first where Near
	// does not fill the page: Near then reads a tie of the order's first
	// key (see Bound).
	Next     string
	NextArgs []any
	// Counted reports that Probe reads the counters (an expiry bound),
	// a few rows; otherwise it walks the range, up to RangeMax+1 index
	// entries, and a store may answer it with an estimate instead.
	Counted bool
	// ByDay reports that Near reads the page day by day from the indexes
	// of recent use (see RecentDays), and is the page: the plan has no
	// other query.
	ByDay             bool
	perPage, rangeMax int
}

// Budgets bounds what a BoundPlan reads before it settles on a plan: Near
// reads at most NearEntries entries of the order for each token of the
// page and of the pages before it, and Range is read if the bound's range
// holds at most RangeMax tokens. Zero fields take the defaults.
type Budgets struct {
	NearEntries, RangeMax int
	// SearchPages is the number of pages, counting those before the page
	// asked for, up to which a SearchPlan reads its matches from the
	// index of names (Range) rather than walk the order; -1 never.
	SearchPages int
}

// The default Budgets. At 1,000,000 tokens on a 2-CPU machine, an index
// entry costs 0.1 to 1 µs to read (index-only, or reading the table too),
// so Near costs at most a few milliseconds, and counting the range up to
// RangeMax a few tens.
//
// From a seek (see Bound), Near reads up to SeekNearEntries for each
// token instead: the seek has skipped the tokens that come first in the
// order and lie outside the bound, so that a walk of tokens created in
// the last 90 days, soonest expiry first, fills its page within 3,705
// entries, or within 9,598 for those expiring after 180 days in order of
// last use, where their ranges hold 123,000 and some 120,000 tokens.
const (
	NearEntries     = 50
	SeekNearEntries = 500
	RangeMax        = 200_000
)

// ScopeRangeMax is the default RangeMax of one owner's or one resource's
// BoundPlan. Its Range reads the row of each match for its sort key, and
// sorts: at 1,000,000 tokens on SQLite, 1.5 to 2 µs a match, where the
// walk of the scope's index of the order, which holds the times, reads an
// entry in about 0.15 µs and the scope's at most in 1.5 ms (10,000
// tokens). The owner of 10,000 tokens: 1,230 of them created in the last
// 90 days read and sorted in 1.05 to 2.65 ms, against 1.25 to 1.78 ms for
// the walk; the 678 that expire after 180 days 0.78 to 0.86 ms, against
// 1.55 to 1.85 ms; those used in the last week 0.39 to 0.79 ms, against
// 1.28 to 2.43 ms.
const ScopeRangeMax = 1_000

// ZoneBits is the log2 of the IDs of a zone: the zone of a token is its
// ID shifted right by ZoneBits (1,024 IDs, 977 zones at 1,000,000
// tokens). The migrations write the same shift.
const ZoneBits = 10

// Bound returns the BoundPlan of q's page and true if q lists all tokens,
// or those of one owner or one resource (no previous token), bounded on
// its creation, last use or expiry, on no key of its order, without a
// search.
//
// An owner's or a resource's list reads no zones (they bound the keys of
// every token of a zone, whoever owns it), and its Range the range of the
// bound in the scope's index of the bound's key: at 1,000,000 tokens the
// owner of 10,000 tokens has 1,230 created in the last 90 days, whose walk
// in order of names reads 8,600 entries before its page.
//
// t names the tables: Tokens, Counts and Expiries, which the Probe of a
// Range counts from, and Zones, which Bound reads where Count reads only
// a zone's creation times. t.Zones, if not empty, is the table of zones
// that the migrations keep
// with triggers: a row for each zone of IDs (see ZoneBits), which holds
// bounds of the keys of its tokens, wider than them, never narrower:
// zone, created_lo and created_hi (the least and greatest creation, the
// greatest plus some slack), expires_lo (the least expiry key, Never if
// none expires), expires_hi (the greatest expiry, NULL if none expires;
// without slack, since an expiry is midnight of a date and a bound of the
// same day would meet every zone within it), expires_never (whether a
// token never expires), used_lo, used_hi (with slack) and used_never the
// same of the last use. For a list in order of names, zones (a table, or
// a join) holds name_lo, the least name of each zone in that order, if
// ascending, and name_hi, the greatest, if descending: a store whose
// zones do not bound names in that direction passes none. The walks then
// skip the part of the order that no zone whose bounds meet q's holds; an
// empty zones skips nothing.
//
// Where the dialect has UsedDay, a list of all tokens used after a time
// within the last RecentDays days, bounded on no other time, in another
// order than last use's, in either direction, has a plan of one query,
// Near, that is the page (ByDay): see RecentDays.
func (d *Dialect) Bound(columns string, t Tables, q *patkit.Query, b Budgets) (*BoundPlan, bool) {
	table, zones := t.Tokens, t.Zones
	if q.UserID != 0 && q.ResourceType != "" || q.PreviousID != 0 || q.Terms().Exact != "" || len(q.Terms().Words) > 0 {
		return nil, false
	}
	scoped := q.UserID != 0 || q.ResourceType != ""
	switch {
	case scoped && !d.ScopeBounds:
		return nil, false
	case ownImpersonation(q):
		// An owner's impersonation tokens are few, and have an index of
		// their own, which the walk reads.
		return nil, false
	case scoped:
		zones = ""
	default:
		if p, ok := d.byDay(columns, table, q); ok {
			return p, true
		}
	}
	switch {
	case b.NearEntries != 0:
	case zones != "":
		b.NearEntries = SeekNearEntries
	case scoped:
		// Where the scope's first entries do not hold the page, the
		// Probe's count (up to ScopeRangeMax+1) picks Range or the walk,
		// which reads those entries again.
		b.NearEntries = 1
	default:
		b.NearEntries = NearEntries
	}
	switch {
	case b.RangeMax != 0:
	case scoped:
		b.RangeMax = ScopeRangeMax
	default:
		b.RangeMax = RangeMax
	}
	key, ok := d.boundKey(q)
	if !ok {
		return nil, false
	}
	p := &BoundPlan{perPage: q.PerPage, rangeMax: b.RangeMax}
	where, whereArgs := d.where(q, true, nil)
	keep := strings.TrimPrefix(where, " WHERE ")
	// Each query has where's arguments, then the seek's, then the page's,
	// each appended to a slice of its own.
	whereArgs = slices.Clip(whereArgs)
	seek, args := "", whereArgs
	if zones != "" {
		seek, args = d.seek(zones, q, whereArgs)
		args = slices.Clip(args)
		where += " AND " + seek
		seek = " WHERE " + seek
	}
	p.Walk, p.WalkArgs = d.page(columns, table, q, where, args)
	if scoped {
		// Near reads the first entries of the scope's order.
		scope := scopeOf(q)
		seek, args = d.where(&scope, true, args)
		args = slices.Clip(args)
	}

	// Near: the first n entries of the order from the seek (or of the
	// scope's), of which it keeps those q keeps. Those come before every
	// other: if they hold the page, it is the page.
	n := strconv.FormatInt(int64(b.NearEntries)*(q.Offset()+int64(q.PerPage)), 10)
	sort := d.sortKey(q.Sort)
	switch {
	case d.RowSeek:
		p.Near, p.NearArgs = d.first(columns, table, q, keep, seek, d.OrderBy(q.Sort), d.keyOrder(q.Sort, ""), n, args)
	default:
		// A walk that cannot start inside a tie of its key reads up to
		// the key of the n-th entry and every entry that shares it: the
		// whole tie, which holds the page wherever its tokens lie in it.
		// Fewer than n tokens make the cutoff NULL and Near empty, and
		// Range then reads them all.
		op, from, nearArgs := " <= ", table, args
		if q.Sort.Descending() {
			op = " >= "
		}
		switch {
		case zones != "":
			var s string
			s, nearArgs = d.seek(zones, q, nearArgs)
			from += " WHERE " + s
		case scoped:
			from += seek
		}
		p.Near, p.NearArgs = d.page(columns, table, q, where+" AND "+sort+op+"(SELECT "+sort+" FROM "+from+
			d.OrderBy(q.Sort)+" LIMIT 1 OFFSET "+n+")", nearArgs)
		// In a descending order of expiry or last use, the tokens that
		// never expire or were never used come first, the seek's key then
		// Never, and the walk would read them from the greatest ID. Near
		// reads that tie from the zones' greatest ID down instead, and the
		// walk to the cutoff comes next (Next), where the tie does not
		// hold the page.
		if zones != "" && q.Sort.Descending() && (sort == d.ExpiresKey() || sort == d.LastUsedKey()) {
			p.Next, p.NextArgs = p.Near, p.NearArgs
			tie, tieArgs := d.tie(zones, q, whereArgs)
			p.Near, p.NearArgs = d.first(columns, table, q, keep, " WHERE "+tie, " ORDER BY id DESC", " ORDER BY id DESC", n, tieArgs)
		}
	}

	// Probe: the tokens of the scope in the bound alone, from the
	// counters for an expiry bound (see Count).
	bound := boundOn(key, q)
	p.Probe, p.ProbeArgs, p.Counted = d.count(Tables{Tokens: table, Counts: t.Counts, Expiries: t.Expiries}, &bound, max(b.RangeMax, 0))

	// Range: the page's IDs and sort keys from the range of the bound's
	// index (the conditions on anything else written so that the planner
	// reads that index), sorted.
	byKey := *q
	byKey.Sort = key
	where, args = d.where(&byKey, true, nil)
	limit, offset, args := d.limit(q, args)
	p.Range = d.join(columns, table, q, "SELECT * FROM (SELECT "+d.keyColumns(q.Sort)+" FROM "+table+where+" "+d.Fence+") AS r"+
		d.keyOrder(q.Sort, "")+" LIMIT "+limit+" OFFSET "+offset)
	p.RangeArgs = args
	return p, true
}

// RecentDays is the most days of last use, from the day of a list's
// bound to today (UTC), that a list of all tokens used after a time
// reads one by one, where the dialect has UsedDay.
//
// The tokens used after a time are few (those of the last week: 21,068
// of benchtable's 1,000,000) and lie all over every other order (each
// zone holds some, among them tokens created long ago and still in use),
// so that neither plan of a BoundPlan is cheap: the walk of the order
// reads thousands of entries per match, and the bound's range, read and
// sorted, every match. The indexes of recent use hold each used token
// under the day of its last use, then the order's key: for each day from
// the bound's to today's, one seek reads that day's first entries in
// order, up to the end of the page, and the query merges them (and the
// tokens used after today, which a clock ahead of q.Now may have
// written, from the range of the index of last use) into the page. At
// 1,000,000 tokens the eight days of a list of the last week's took 0.1 to
// 0.3 ms, where the walk and the range took 6 to 25 ms (see the stores'
// migrations of these indexes).
const RecentDays = 31

// RecentEntries bounds the index entries a list read day by day walks:
// each day's walk reads up to the end of the page, so that one of the
// pages after the first reads that many entries for each day.
const RecentEntries = 10_000

// day is the length of the days the indexes of recent use group tokens
// by: they are days of UTC, whose start Truncate finds.
const day = 24 * time.Hour

// byDay returns the BoundPlan of q that reads its page day by day from the
// indexes of recent use (see RecentDays), and true, if q has one: q lists
// all tokens used after a time of the last RecentDays days (from 1970
// on), bounded on no other time, in another order than last use's, and
// its page ends within RecentEntries entries of each day. A bound on
// creation or expiry too could keep few of each day's tokens, which the
// walk of each day would all read; the zones serve those (see Bound).
func (d *Dialect) byDay(columns, table string, q *patkit.Query) (*BoundPlan, bool) {
	after := ceilOrZero(q.LastUsedAfter) // as where writes the bound
	if d.UsedDay == "" || after.IsZero() || after.Before(time.Unix(0, 0)) || q.Now.IsZero() ||
		d.sortKey(q.Sort) == d.LastUsedKey() {
		return nil, false
	}
	for _, b := range timeBounds(q) {
		if b.key != lastUsedKey {
			return nil, false
		}
	}
	// The days from the bound's to today's; the tokens used after today
	// lie at or after end.
	first, end := after.Truncate(day), q.Now.Truncate(day).Add(day)
	if end.Before(first) {
		end = first
	}
	days, n := int64(end.Sub(first)/day), q.Offset()+int64(q.PerPage)
	if days > RecentDays || days*n > RecentEntries {
		return nil, false
	}
	keys, order := d.keyColumns(q.Sort), d.OrderBy(q.Sort)
	var (
		b     strings.Builder
		where string
		args  []any
	)
	for i := range days {
		where, args = d.where(q, true, args)
		args = append(args, first.Add(time.Duration(i)*day).Unix()/int64(day/time.Second))
		b.WriteString("SELECT * FROM (SELECT " + keys + " FROM " + table + where +
			" AND last_used_at IS NOT NULL AND " + d.UsedDay + " = " + d.Param(len(args)) + order + " LIMIT ")
		if d.PageArgs {
			args = append(args, n)
			b.WriteString(d.Param(len(args)))
		} else {
			b.WriteString(strconv.FormatInt(n, 10))
		}
		b.WriteString(") AS d" + strconv.FormatInt(i, 10) + " UNION ALL ")
	}
	// The tokens used after today, none unless a clock ran ahead: the
	// range of the index of last use, sorted. The range ends below Never,
	// the key of the tokens never used, which where's own bound (Unindexed)
	// keeps out but does not stop the range at.
	where, args = d.where(q, true, args)
	args = append(args, d.Time(end))
	b.WriteString("SELECT * FROM (SELECT " + keys + " FROM " + table + where + " AND " + d.LastUsedKey() + " >= " +
		d.Param(len(args)) + " AND " + d.LastUsedKey() + " < " + d.Never + " " + d.Fence + ") AS later")
	limit, offset, args := d.limit(q, args)
	return &BoundPlan{
		Near:     d.join(columns, table, q, "SELECT * FROM ("+b.String()+") AS u"+d.keyOrder(q.Sort, "")+" LIMIT "+limit+" OFFSET "+offset),
		NearArgs: args,
		ByDay:    true,
		perPage:  q.PerPage,
	}, true
}

// first returns the query of the page of q among the first n entries
// that from (" WHERE ...", or "") keeps, in order (the ORDER BY of a
// walk of one index that gives q's order from there; by the same of the
// columns id and k), and its arguments, args then the page's: a subquery
// whose LIMIT stops the walk after n entries, matches or not, computes
// whether q keeps each (keep, q's conditions), and the query around it
// stops at the page.
func (d *Dialect) first(columns, table string, q *patkit.Query, keep, from, order, by, n string, args []any) (string, []any) {
	limit, offset, args := d.limit(q, args)
	return d.join(columns, table, q, "SELECT * FROM (SELECT "+d.keyColumns(q.Sort)+", "+keep+" AS keep FROM "+table+from+
		order+" LIMIT "+n+") AS w WHERE keep"+by+" LIMIT "+limit+" OFFSET "+offset), args
}

// seek returns the condition that skips, in q's order, the tokens
// before those of the first zone whose bounds meet q's time bounds (the
// least key of those zones ascending, the greatest descending, and with
// RowSeek their least or greatest ID after it), with its
// arguments added to args. A token q keeps lies in such a zone, within its
// bounds, so the condition keeps it; where no zone meets them, the
// subquery is NULL and the condition keeps nothing, as q keeps nothing.
func (d *Dialect) seek(zones string, q *patkit.Query, args []any) (string, []any) {
	key, agg, ids, op := d.seekAggregates(q)
	// A token the bounds keep has a key and an ID within those of its
	// zone: the row of both lies beyond the row of the zones' least (or
	// greatest) key and ID.
	if d.RowSeek && key != "id" {
		key, agg = "("+key+", id)", agg+", "+ids
	}
	from, args := d.meeting(zones, q, args)
	return key + op + "(SELECT " + agg + from + ")", args
}

// tie returns the condition that keeps the tokens whose key is the
// seek's (the tie of the first key of q's order among the zones that
// meet q's bounds) and whose ID lies within those zones' IDs, with its
// arguments added to args: the tokens q keeps with that key.
func (d *Dialect) tie(zones string, q *patkit.Query, args []any) (string, []any) {
	key, agg, ids, op := d.seekAggregates(q)
	from, args := d.meeting(zones, q, args)
	cond := key + " = (SELECT " + agg + from + ")"
	from, args = d.meeting(zones, q, args)
	return cond + " AND id" + op + "(SELECT " + ids + from + ")", args
}

// seekAggregates returns the sort key of q's order, the aggregates of
// the zones that give the first key of the order among them and its
// first ID (the least of each ascending, the greatest descending), and
// the comparison of a key or ID that comes after them in the order.
func (d *Dialect) seekAggregates(q *patkit.Query) (key, agg, ids, op string) {
	size := strconv.Itoa(1 << ZoneBits)
	ids, idsDesc := "min(zone) * "+size, "max(zone) * "+size+" + "+strconv.Itoa(1<<ZoneBits-1)
	lo, hi := "", ""
	switch key = d.sortKey(q.Sort); key {
	case "created_at":
		lo, hi = "min(created_lo)", "max(created_hi)"
	case d.ExpiresKey():
		lo, hi = "min(expires_lo)", "max(CASE WHEN expires_never THEN "+d.Never+" ELSE expires_hi END)"
	case d.LastUsedKey():
		lo, hi = "min(used_lo)", "max(CASE WHEN used_never THEN "+d.Never+" ELSE used_hi END)"
	case d.SortName:
		lo, hi = "min(name_lo)", "max(name_hi)"
	default: // id
		lo, hi = ids, idsDesc
	}
	if q.Sort.Descending() {
		return key, hi, idsDesc, " <= "
	}
	return key, lo, ids, " >= "
}

// meeting returns " FROM zones WHERE ...", the zones whose bounds meet
// q's time bounds, with its arguments added to args.
func (d *Dialect) meeting(zones string, q *patkit.Query, args []any) (string, []any) {
	// q's bounds, of the zones' bounds: a zone may hold a token after t if
	// its greatest key is, one before t if its least is.
	var conds []string
	for _, b := range timeBounds(q) {
		col := "expires"
		switch b.key {
		case createdKey:
			col = "created"
		case lastUsedKey:
			col = "used"
		}
		if b.upper {
			col += "_lo"
		} else {
			col += "_hi"
		}
		args = append(args, d.Time(b.t))
		conds = append(conds, col+b.op+d.Param(len(args)))
	}
	return " FROM " + zones + " WHERE " + strings.Join(conds, " AND "), args
}

// Finish returns the page of p given near, the tokens of its Near
// query: near itself if the page is full, else those of Next if it is set
// and fills the page, else the tokens of Range or Walk, whichever Probe's
// count picks. page runs a page query, count a count: the count of Probe,
// or, unless p.Counted, an estimate of it, which picks a slower plan
// where it is wrong, never another page.
func (p *BoundPlan) Finish(near []*patkit.Token, page func(query string, args []any) ([]*patkit.Token, error),
	count func(query string, args []any) (int, error)) ([]*patkit.Token, error) {
	if p.ByDay || len(near) == p.perPage {
		return near, nil
	}
	if p.Next != "" {
		next, err := page(p.Next, p.NextArgs)
		if err != nil || len(next) == p.perPage {
			return next, err
		}
	}
	n, err := count(p.Probe, p.ProbeArgs)
	if err != nil {
		return nil, err
	}
	if n <= p.rangeMax {
		return page(p.Range, p.RangeArgs)
	}
	return page(p.Walk, p.WalkArgs)
}

// A SearchPlan is the page of a search by words, where the planner has
// no index that finds the matches (SQLite). Two plans give that page:
// walking the index of the order until the page is full (Page's query),
// which reads each token's name from the table and, for a word that few
// names hold, reads nearly every token (0.18 to 0.55 s at 1,000,000
// tokens for 20 matches of all tokens, depending on the order); and
// reading the matches and sorting them (Range): for all tokens, from the
// candidates of an index of trigrams, where the dialect has one
// (NameCandidates), else, and for one owner or resource, from the
// scope's index of folded names, every name of it, which costs about as
// much as the count of a rare word, whatever the order.
//
// A store counts first: with Probe where it is set, up to the matches
// Range reads plus one, which is the search's total if it counted them
// all (ProbeTotal); otherwise with Count where the matches Probe found
// are sparse (CountCandidates), else with the count query, which reads
// the index of names. It then reads nothing where
// the matches end before the page (Empty), Range where they hold at
// most a few pages or, from the candidates, cost less than the walk
// (UseRange), else Page's query.
type SearchPlan struct {
	Range     string
	RangeArgs []any
	// Probe, if not empty, counts the matches from the candidates of the
	// dialect's NameCandidates, up to the most Range reads plus one, and
	// selects the highest ID among them too; Count counts them up to
	// patkit.MaxCount+1.
	Probe, Count         string
	ProbeArgs, CountArgs []any
	rangeMax             int
	offset, upTo         int64 // the tokens before the page, and with it
}

// SearchPages is the default of Budgets.SearchPages. A walk entry costs
// 3 to 8 times a name entry (0.18 to 0.55 µs against 0.066 µs at
// 1,000,000 tokens): the walk to the page's last match reads about
// n/matches × (offset+perPage) entries of the n of the scope, Range its n
// names.
const SearchPages = 4

// Empty reports whether a search with total matches (a count, up to
// patkit.MaxCount+1) has an empty page: the matches end before it.
func (p *SearchPlan) Empty(total int) bool {
	return total <= patkit.MaxCount && int64(total) <= p.offset
}

// CandidatesSpan is the density of matches among the IDs, one in
// CandidatesSpan, under which a SearchPlan counts its matches from the
// candidates (Count) rather than from the index of names: a candidate
// costs about 16 times a name of that index to count (1.1 against 0.066
// µs at 1,000,000 tokens), and that index is read until MaxCount+1
// names match.
const CandidatesSpan = 16

// CountCandidates reports whether a search whose Probe counted n matches,
// more than UseRange reads, among the IDs up to last (the highest), counts
// its matches with Count rather than with the count query: the matches
// are sparser than one in CandidatesSpan IDs (IDs are given in order,
// and tokens never deleted, so last is about the number of tokens Probe
// looked at).
func (p *SearchPlan) CountCandidates(n int, last int64) bool {
	return last > CandidatesSpan*int64(n)
}

// List returns the page of the search and its total (up to
// patkit.MaxCount+1), counting first as the SearchPlan says: walk and
// walkArgs are Page's query, count and countArgs the store's count
// query; probe runs Probe, returning its two numbers, tally a count
// query, and page a page query.
func (p *SearchPlan) List(walk string, walkArgs []any, count string, countArgs []any,
	probe func(query string, args []any) (n int, last int64, err error),
	tally func(query string, args []any) (int, error),
	page func(query string, args []any) ([]*patkit.Token, error)) ([]*patkit.Token, int, error) {
	var (
		n, total int
		last     int64
		err      error
	)
	if p.Probe != "" {
		if n, last, err = probe(p.Probe, p.ProbeArgs); err != nil {
			return nil, 0, err
		}
	}
	switch {
	case p.Probe != "" && p.ProbeTotal(n):
		// A page far enough that Range may read more than
		// patkit.MaxCount matches: the total stops there all the same.
		total = min(n, patkit.MaxCount+1)
	case p.Probe != "" && p.CountCandidates(n, last):
		total, err = tally(p.Count, p.CountArgs)
	default:
		total, err = tally(count, countArgs)
	}
	switch {
	case err != nil:
		return nil, 0, err
	case p.Empty(total):
		return nil, total, nil
	case p.UseRange(total, n, last):
		walk, walkArgs = p.Range, p.RangeArgs
	}
	tokens, err := page(walk, walkArgs)
	return tokens, total, err
}

// ProbeTotal reports whether Probe, which counted n, counted every match:
// n is then the search's total.
func (p *SearchPlan) ProbeTotal(n int) bool { return n <= p.rangeMax }

// UseRange reports whether a search with total matches reads its page
// from Range, given Probe's count n and the highest ID among its
// matches, last (0 and 0 where it has no Probe): where the matches hold
// at most a few pages, or, read from the candidates, where reading them
// all (at most patkit.MaxCount: the count is exact) costs less than the
// walk to the page would, which the first matches' IDs estimate: matches
// crowded among the last IDs would make it read many. A match read from the
// candidates, and sorted, costs about RangeCost entries of the walk,
// which reads about last/n entries for each token of the page and those
// before it.
func (p *SearchPlan) UseRange(total, n int, last int64) bool {
	return total <= p.rangeMax ||
		p.Probe != "" && n > 0 && total <= patkit.MaxCount && RangeCost*int64(total)*int64(n) < p.upTo*last
}

// RangeCost is the cost of a match read from the candidates in a
// SearchPlan's Range, in entries walked: 2 µs against 0.5 µs (a
// candidate, its row and its place in the sort, against an entry of the
// order's index and its row) at 1,000,000 tokens.
const RangeCost = 4

// Search returns the SearchPlan of q and true if q searches by words
// the tokens of all, one owner or one resource, and the dialect has a
// NameIndex.
func (d *Dialect) Search(columns, table string, q *patkit.Query, b Budgets) (*SearchPlan, bool) {
	words := q.Terms().Words
	if d.NameIndex == nil || len(words) == 0 || q.PreviousID != 0 || q.UserID != 0 && q.ResourceType != "" || b.SearchPages < 0 {
		return nil, false
	}
	if b.SearchPages == 0 {
		b.SearchPages = SearchPages
	}
	p := &SearchPlan{rangeMax: b.SearchPages * int(q.Offset()+int64(q.PerPage)), offset: q.Offset(), upTo: q.Offset() + int64(q.PerPage)}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	// The matches are kept by q's conditions but its scope written as a
	// page of all tokens by id writes them, so that the planner reads no
	// other index than the one of names.
	rest := *q
	rest.UserID, rest.ResourceType, rest.ResourceID, rest.Sort = 0, "", 0, patkit.SortDefault
	where := func() string {
		w, wargs := d.where(&rest, true, nil) // it holds the words: never empty
		for _, v := range wargs {
			arg(v)
		}
		return strings.TrimPrefix(w, " WHERE ")
	}
	// All tokens: the candidates of the index of trigrams, each then
	// read by ID. Probe counts the matches up to rangeMax+1, and stops
	// there: a common word costs it a few rows.
	var from string
	if q.UserID == 0 && q.ResourceType == "" && d.NameCandidates != nil {
		if cands, ok := d.NameCandidates(table, words, arg); ok {
			from = "(" + cands + ") AS c CROSS JOIN " + table + " ON " + table + ".id = c.cid WHERE " + where()
			// Count, Probe and Range share from's arguments; Probe and
			// Range add their limits to copies.
			p.Count = "SELECT count(*) FROM (SELECT 1 FROM " + from + " LIMIT " + strconv.Itoa(patkit.MaxCount+1) + ") AS matches"
			p.CountArgs = slices.Clip(args)
			p.Probe = "SELECT count(*), coalesce(max(cid), 0) FROM (SELECT cid FROM " + from + " LIMIT " + d.Param(len(args)+1) + ") AS matches"
			p.ProbeArgs = append(p.CountArgs, p.rangeMax+1)
		}
	}
	if from == "" {
		args = nil // NameCandidates may have added some before it refused
		// The IDs of the matches, from the scope's index of names alone
		// (a covering scan, cheaper an entry than a scan that reads the
		// rows of the matches as it goes: 66 against 90 ms for 1,000,000
		// names), then their rows by ID.
		var conds []string
		switch {
		case q.UserID != 0:
			conds = append(conds, "user_id = "+arg(q.UserID))
		case q.ResourceType != "":
			conds = append(conds, "resource_type = "+arg(string(q.ResourceType)), "resource_id = "+arg(q.ResourceID))
		}
		for _, w := range words {
			cond, v := d.NameContains(w, d.Param(len(args)+1))
			conds, args = append(conds, cond), append(args, v)
		}
		from = table + " WHERE id IN (SELECT id FROM " + table + " INDEXED BY " + d.NameIndex(table, q) + " WHERE " +
			strings.Join(conds, " AND ") + ") AND " + where()
	}
	limit, offset, args := d.limit(q, args)
	p.Range = d.join(columns, table, q, "SELECT * FROM (SELECT "+d.keyColumns(q.Sort)+" FROM "+from+" "+d.Fence+") AS r"+
		d.keyOrder(q.Sort, "")+" LIMIT "+limit+" OFFSET "+offset)
	p.RangeArgs = args
	return p, true
}

// timeKey is a time a list can be bounded on, named by an order by it.
type timeKey = patkit.Sort

const (
	createdKey  = patkit.SortCreatedAsc
	lastUsedKey = patkit.SortLastUsedAsc
	expiresKey  = patkit.SortExpiresAsc
)

// scopeOf returns the scope of q alone: its owner or resource, and
// whether its impersonation tokens.
func scopeOf(q *patkit.Query) patkit.Query {
	return patkit.Query{UserID: q.UserID, Impersonation: q.Impersonation, ResourceType: q.ResourceType, ResourceID: q.ResourceID}
}

// boundOn returns the scope of q and its bounds on key k alone.
func boundOn(k timeKey, q *patkit.Query) patkit.Query {
	b := scopeOf(q)
	switch k {
	case createdKey:
		b.CreatedAfter, b.CreatedBefore = q.CreatedAfter, q.CreatedBefore
	case lastUsedKey:
		b.LastUsedAfter, b.LastUsedBefore = q.LastUsedAfter, q.LastUsedBefore
	case expiresKey:
		b.ExpiresAfter, b.ExpiresBefore = q.ExpiresAfter, q.ExpiresBefore
	}
	return b
}

// boundKey returns the key of q's first time bound (creation, last use,
// expiry) that runs against its order, and false if there is none or
// a bound is on the key of its order.
//
// A bound runs against the order when the order reaches the bound's
// matches last if times are correlated: a lower bound (after) and an
// ascending order, an upper bound (before) and a descending one. A bound
// with the order (tokens created before a day, oldest expiry first)
// finds its matches among the first tokens of the walk, and keeps it.
func (d *Dialect) boundKey(q *patkit.Query) (timeKey, bool) {
	desc := q.Sort.Descending()
	var (
		found timeKey
		ok    bool
	)
	for _, b := range []struct {
		key           timeKey
		after, before time.Time
	}{
		{createdKey, q.CreatedAfter, q.CreatedBefore},
		{lastUsedKey, q.LastUsedAfter, q.LastUsedBefore},
		{expiresKey, q.ExpiresAfter, q.ExpiresBefore},
	} {
		if b.after.IsZero() && b.before.IsZero() {
			continue
		}
		if d.sortKey(b.key) == d.sortKey(q.Sort) {
			return "", false
		}
		if !ok && (!b.after.IsZero() && !desc || !b.before.IsZero() && desc) {
			found, ok = b.key, true
		}
	}
	return found, ok
}

// Scopes of the counts table: its rows count every token, the tokens of
// one user, or those of one project or group.
const (
	scopeAll      = 0
	scopeUser     = 1
	scopeResource = 2
)

// ExpiryBlock is the length of the blocks of expiry times that the
// stores' expiry counters add up, from the Unix epoch: every block starts
// at a multiple of 32 days of UTC midnights after 1970-01-01. The
// migrations write the same length (2764800 seconds).
const ExpiryBlock = 32 * 24 * time.Hour

// NextBlock returns the start of the expiry block after the one t falls
// in, t rounded down to a whole microsecond as the state filters round
// it.
func NextBlock(t time.Time) time.Time {
	b := ExpiryBlock.Microseconds()
	return time.UnixMicro((floorDiv(floor(t).UnixMicro(), b) + 1) * b).UTC()
}

// Count returns the query that counts the matches of q, and its
// arguments. Its result is the number of matches, or patkit.MaxCount+1
// when more than patkit.MaxCount match.
//
// When q filters on nothing but UserID or ResourceType and ResourceID,
// Impersonation, Revoked, State, ExpiresBefore and ExpiresAfter, in any
// combination but UserID with a resource, the query reads counters the
// migrations keep up to date with triggers, and counted is true: it reads
// a few rows of one scope, so it costs the same whatever the number of
// matches. Otherwise it counts the matching rows of tokens, stopping
// after patkit.MaxCount+1.
//
// t.Counts has one row per scope and, where writers are spread over several
// rows of a scope, per stripe: columns scope (0 every token, 1 a user's, 2
// a resource's), resource_type (the resource's, else empty), id (the user's
// or resource's, else 0), and the counters n, n_revoked, n_imp and
// n_imp_revoked of the tokens that are neither impersonation tokens nor
// revoked, only revoked, only impersonation tokens, and both.
//
// t.Expiries counts the same tokens, with the same four counters, by scope
// (the same three columns) and expiry, in two levels: level 0 has a row
// per expires_at, level 1 a row per ExpiryBlock, keyed by its start, and
// the tokens that never expire at the key Never. The tokens of a scope
// whose expiry is in a range are those of the level-0 rows in the parts of
// the range that do not cover a whole block, and those of the level-1 rows
// of the blocks it covers: at most the days of two blocks and the blocks
// of the range, whatever the number of tokens. The active tokens are those
// not revoked after now; the inactive ones the revoked, and the others up
// to now, or, without an expiry bound, all tokens but the active.
//
// When q lists all tokens and filters on creation too, and t.Zones (the
// table of the bounds of each zone's keys) is not empty, those counters
// give a lower bound of the count, and the query counts the rows only
// where that bound is not above patkit.MaxCount: every token the other
// filters keep is created within the bounds but those of the zones whose
// creation times do not lie within them, which hold at most 1<<ZoneBits
// tokens each. A list of the tokens created in the last 90 days, at
// 1,000,000 tokens, reads the counters and the zones' 977 rows rather
// than 10,001 entries of an index.
//
// When q lists all tokens and filters on last use too, and t.Uses (the
// table of the tokens by the day of their last use) is not empty, the
// query bounds the count from below the same way: the tokens the other
// filters keep, less every token but those last used on the whole days
// within the bounds (uses counts them, every token alike, in rows of a
// day and of a block of 32 days, at most 62 days and one row per block,
// each in up to 16 stripes).
//
// When q searches all tokens by one word, and t.Words (the number of
// tokens whose folded name holds each word, split at spaces, a row per
// word) is not empty, the query bounds the count from below
// the same way: the tokens the other filters keep, less every token but
// those with the word among their name's words, all of which hold it. The
// table may leave tokens out (the stores count the tokens up to an ID),
// which only lowers the bound; a token that leaves (deleted, renamed)
// must leave its words' rows. A search of all tokens for a word that
// 200,000 of 1,000,000 names hold reads the word's row rather than the
// 50,000 names that hold the first 10,001 matches.
func (d *Dialect) Count(t Tables, q *patkit.Query) (query string, args []any, counted bool) {
	return d.count(t, q, patkit.MaxCount)
}

// Tables names the tables of a store that Count and Bound read, each
// with the store's prefix or schema, as it writes them into the query. Tokens,
// Counts and Expiries are required; an empty Zones or Uses is a store
// without that table, whose counts walk instead.
type Tables struct {
	Tokens   string // the tokens
	Counts   string // the counters of each scope (token_counts)
	Expiries string // the counters of each scope by expiry (token_expiry_counts)
	Zones    string // the bounds of each zone's creation times, or ""
	Uses     string // the tokens by the day of their last use, or ""
	Words    string // the tokens by each word of their folded names, or ""
}

// count is Count, stopping at upTo+1 rather than patkit.MaxCount+1.
func (d *Dialect) count(t Tables, q *patkit.Query, upTo int) (query string, args []any, counted bool) {
	tokens, counts, expiries, zones, uses := t.Tokens, t.Counts, t.Expiries, t.Zones, t.Uses
	search := q.Terms()
	created := !q.CreatedBefore.IsZero() || !q.CreatedAfter.IsZero()
	used := !q.LastUsedBefore.IsZero() || !q.LastUsedAfter.IsZero()
	scoped := q.UserID != 0 || q.ResourceType != ""
	// A search of all tokens by one word, which the words table may hold
	// (words never hold a space).
	worded := len(search.Words) == 1 && !scoped && t.Words != "" && !strings.Contains(search.Words[0], " ")
	var days dayRange
	someDays := true
	if used {
		days, someDays = usedDays(q)
	}
	if q.PreviousID != 0 || q.Kind != "" || search.Exact != "" || len(search.Words) > 0 && !worded ||
		created && (zones == "" || scoped) ||
		used && (uses == "" || scoped || !someDays) ||
		q.UserID != 0 && q.ResourceType != "" {
		where, args := d.Where(q)
		return walk(d.from(tokens, q), where, upTo), args, false
	}
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	var scope []any
	switch {
	case q.UserID != 0:
		scope = []any{scopeUser, "", q.UserID}
	case q.ResourceType != "":
		scope = []any{scopeResource, string(q.ResourceType), q.ResourceID}
	default:
		scope = []any{scopeAll, "", int64(0)}
	}
	where := func() string {
		return " WHERE scope = " + arg(scope[0]) + " AND resource_type = " + arg(scope[1]) + " AND id = " + arg(scope[2])
	}
	// counters returns the counters, summed, of the tokens that q keeps
	// by Impersonation and Revoked and that are revoked (or not) as
	// revoked says, if it is not nil; "" if q keeps none.
	counters := func(revoked *bool) string {
		var cols []string
		for _, c := range []struct {
			name              string
			imperson, revoked bool
		}{{"n", false, false}, {"n_revoked", false, true}, {"n_imp", true, false}, {"n_imp_revoked", true, true}} {
			if (q.Impersonation == nil || *q.Impersonation == c.imperson) && (q.Revoked == nil || *q.Revoked == c.revoked) &&
				(revoked == nil || *revoked == c.revoked) {
				cols = append(cols, c.name)
			}
		}
		return strings.Join(cols, " + ")
	}
	// The count is the sum of v over terms, each the counters of a few
	// rows, added or taken away: one aggregate, which the planner does not
	// unfold into the CASE that caps it.
	var terms []string
	// expiry adds, or takes away, the counters cols of the tokens whose
	// expiry is in r.
	expiry := func(sign, cols string, r expiryRange) {
		if cols == "" || r.empty() {
			return
		}
		sel := "SELECT " + sign + "(" + cols + ") AS v FROM " + expiries
		day := func(lo, hi time.Time) { // level 0, lo and hi set
			if lo.Before(hi) {
				terms = append(terms, sel+where()+" AND level = 0 AND expires_at >= "+arg(d.Time(lo))+" AND expires_at < "+arg(d.Time(hi)))
			}
		}
		// The whole blocks of r are [first, last), each unbounded if
		// zero.
		var first, last time.Time
		if !r.lo.IsZero() {
			first = NextBlock(r.lo.Add(-time.Microsecond))
		}
		if !r.hi.IsZero() {
			last = NextBlock(r.hi).Add(-ExpiryBlock)
		}
		if !first.IsZero() && !last.IsZero() && last.Before(first) { // within one block
			day(r.lo, r.hi)
			return
		}
		if !r.lo.IsZero() {
			day(r.lo, first)
		}
		if first.IsZero() || last.IsZero() || first.Before(last) {
			cond := where() + " AND level = 1"
			if !first.IsZero() {
				cond += " AND expires_at >= " + arg(d.Time(first))
			}
			switch {
			case !last.IsZero():
				cond += " AND expires_at < " + arg(d.Time(last))
			case !r.never:
				cond += " AND expires_at < " + d.Never
			}
			terms = append(terms, sel+cond)
		}
		if !r.hi.IsZero() {
			day(last, r.hi)
		}
	}
	no, yes := false, true
	// A token is active when it is not revoked and now is before its
	// expiry: expires_at > now, and stored instants are whole
	// microseconds, so now rounds down. Tokens that never expire are
	// active.
	after := floor(q.Now).Add(time.Microsecond)
	active, expired := expiryRange{lo: after, never: true}, expiryRange{hi: after}
	// A bound on the expiry keeps no token that never expires.
	bounded := expiryRange{lo: ceilOrZero(q.ExpiresAfter), hi: ceilOrZero(q.ExpiresBefore)}
	bounded.never = bounded.lo.IsZero() && bounded.hi.IsZero()
	// all adds the tokens of the totals of the scope, one row: without a
	// bound, the tokens the filters other than State keep.
	all := func() {
		if cols := counters(nil); cols != "" {
			terms = append(terms, "SELECT "+cols+" AS v FROM "+counts+where())
		}
	}
	// every takes away every token of the scope.
	every := func() string {
		return "SELECT -(n + n_revoked + n_imp + n_imp_revoked) AS v FROM " + counts + where()
	}
	switch {
	case q.State == patkit.StateActive:
		expiry("", counters(&no), bounded.intersect(active))
	case q.State == patkit.StateInactive && bounded.never:
		all()
		expiry("-", counters(&no), active)
	case q.State == patkit.StateInactive:
		expiry("", counters(&yes), bounded)
		expiry("", counters(&no), bounded.intersect(expired))
	case bounded.never:
		all()
	default:
		expiry("", counters(nil), bounded)
	}
	if used {
		// Every token taken away, and those last used within the bounds
		// added back: what is left is no more than the tokens the other
		// filters keep that were used within them.
		terms = append(terms, every())
		for _, r := range days.parts() {
			cond := " WHERE level = " + strconv.Itoa(r.level)
			if r.lo != nil {
				cond += " AND key >= " + arg(*r.lo)
			}
			if r.hi != nil {
				cond += " AND key <= " + arg(*r.hi)
			}
			terms = append(terms, "SELECT n AS v FROM "+uses+cond)
		}
	}
	if worded {
		// Every token taken away, and those whose folded name holds the
		// word added back.
		terms = append(terms, every(), "SELECT n AS v FROM "+t.Words+" WHERE word = "+arg(search.Words[0]))
	}
	if len(terms) == 0 {
		terms = append(terms, "SELECT 0 AS v")
	}
	total := "SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total FROM (" + strings.Join(terms, " UNION ALL ") + ") AS terms"
	over, capped := strconv.Itoa(upTo), strconv.Itoa(upTo+1)
	if !created && !used && !worded {
		return "SELECT CASE WHEN total > " + over + " THEN " + capped + " ELSE total END FROM (" + total + ") AS counted", args, true
	}
	lower := "(" + total + ")"
	if created {
		// The zones that may hold a token created out of q's bounds: one
		// created before an inclusive lower bound, after an upper one.
		var outside []string
		for _, b := range timeBounds(q) {
			if b.key != createdKey {
				continue
			}
			if b.upper {
				outside = append(outside, "created_hi > "+arg(d.Time(b.t)))
			} else {
				outside = append(outside, "created_lo < "+arg(d.Time(b.t)))
			}
		}
		lower += " - " + strconv.Itoa(1<<ZoneBits) + " * (SELECT count(*) FROM " + zones + " WHERE " + strings.Join(outside, " OR ") + ")"
	}
	cond, args := d.where(q, false, args)
	query = "SELECT CASE WHEN " + lower + " > " + over + " THEN " + capped +
		" ELSE (" + walk(d.from(tokens, q), cond, upTo) + ") END"
	return query, args, false
}

// dayRange is a range of whole days from 1970-01-01 UTC, [lo, hi], each
// unbounded if nil.
type dayRange struct{ lo, hi *int64 }

// UseBlockDays is the length, in days, of the blocks of days of last use
// that the uses table of Count counts in its level-1 rows: block b holds
// the days from UseBlockDays*b to UseBlockDays*(b+1)-1, the expiry
// counters' blocks (ExpiryBlock). The migration writes the same length.
const UseBlockDays = int64(ExpiryBlock / (24 * time.Hour))

// usedDays returns the days whose every instant lies within q's bounds on
// last use, and whether there is one: the tokens last used on them are
// all within the bounds.
func usedDays(q *patkit.Query) (dayRange, bool) {
	const day = int64(24 * time.Hour / time.Microsecond)
	var r dayRange
	for _, b := range timeBounds(q) {
		if b.key != lastUsedKey {
			continue
		}
		us := b.t.UnixMicro()
		if b.upper { // x <= us: the days that end by us
			hi := floorDiv(us+1, day) - 1
			r.hi = &hi
		} else { // x >= us: the days that start at us or later
			lo := -floorDiv(-us, day)
			r.lo = &lo
		}
	}
	return r, r.lo == nil || r.hi == nil || *r.lo <= *r.hi
}

// A dayPart is the rows of one level of the uses table that a dayRange
// covers: keys [lo, hi], each unbounded if nil.
type dayPart struct {
	level  int
	lo, hi *int64
}

// parts returns the rows that add up to the tokens last used within r:
// the blocks r covers whole (level 1), and the days of the blocks it cuts
// (level 0).
func (r dayRange) parts() []dayPart {
	var blo, bhi *int64 // the blocks r covers whole
	if r.lo != nil {
		b := -floorDiv(-*r.lo, UseBlockDays)
		blo = &b
	}
	if r.hi != nil {
		b := floorDiv(*r.hi+1, UseBlockDays) - 1
		bhi = &b
	}
	if blo != nil && bhi != nil && *blo > *bhi { // within one block, or two
		return []dayPart{{0, r.lo, r.hi}}
	}
	parts := []dayPart{{1, blo, bhi}}
	if r.lo != nil {
		if end := *blo*UseBlockDays - 1; *r.lo <= end {
			parts = append(parts, dayPart{0, r.lo, &end})
		}
	}
	if r.hi != nil {
		if start := (*bhi + 1) * UseBlockDays; start <= *r.hi {
			parts = append(parts, dayPart{0, &start, r.hi})
		}
	}
	return parts
}

// floorDiv is a / b rounded down, b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// expiryRange is a range of expiries: [lo, hi), whole microseconds, each
// unbounded if zero; never reports whether it holds the tokens that never
// expire, which only a range without hi can.
type expiryRange struct {
	lo, hi time.Time
	never  bool
}

// empty reports whether r holds no expiry.
func (r expiryRange) empty() bool { return !r.lo.IsZero() && !r.hi.IsZero() && !r.lo.Before(r.hi) }

// intersect returns the expiries in both r and o.
func (r expiryRange) intersect(o expiryRange) expiryRange {
	if r.lo.IsZero() || o.lo.After(r.lo) {
		r.lo = o.lo
	}
	if r.hi.IsZero() || !o.hi.IsZero() && o.hi.Before(r.hi) {
		r.hi = o.hi
	}
	r.never = r.never && o.never && r.hi.IsZero()
	return r
}

// A timeBound is a bound of a Query on one of its times, as the lists
// write it: the key, whether it bounds it from above, the comparison,
// and the instant.
type timeBound struct {
	key   timeKey
	upper bool
	op    string
	t     time.Time
}

// timeBounds returns q's bounds on its times, in the order the lists
// write them. Inclusive bounds but ExpiresBefore; a bound finer than a
// microsecond rounds to the stored instants that the exact bound keeps:
// down for x <= b, up for x >= b and x < b.
func timeBounds(q *patkit.Query) []timeBound {
	var bs []timeBound
	add := func(key timeKey, upper bool, op string, t time.Time, round func(time.Time) time.Time) {
		if !t.IsZero() {
			bs = append(bs, timeBound{key, upper, op, round(t)})
		}
	}
	add(createdKey, true, " <= ", q.CreatedBefore, floor)
	add(createdKey, false, " >= ", q.CreatedAfter, ceil)
	add(lastUsedKey, true, " <= ", q.LastUsedBefore, floor)
	add(lastUsedKey, false, " >= ", q.LastUsedAfter, ceil)
	add(expiresKey, true, " < ", q.ExpiresBefore, ceil)
	add(expiresKey, false, " >= ", q.ExpiresAfter, ceil)
	return bs
}

// ceilOrZero is ceil of t, the zero Time for none.
func ceilOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return ceil(t)
}

// Where returns the WHERE clause keeping the tokens q.Match keeps ("" when
// q filters nothing) and its arguments, as the count query has it. Values
// are never written into the SQL.
func (d *Dialect) Where(q *patkit.Query) (string, []any) { return d.where(q, false, nil) }

// where returns the WHERE clause of q and args with its arguments
// added, the first of them numbered len(args)+1. For a page (page true),
// the conditions on anything but the scope and the sort key are
// Unindexed; for an exact search, those on anything but the name, page
// or not.
func (d *Dialect) where(q *patkit.Query, page bool, args []any) (string, []any) {
	var conds []string
	// arg adds an argument and returns its placeholder.
	arg := func(v any) string {
		args = append(args, v)
		return d.Param(len(args))
	}
	// col returns expr as the page query's conditions on it are written:
	// Unindexed but for the scope and the sort key, or, for an exact
	// search, for the name alone (the tokens of one name are few), in the
	// count as in the page: without it, SQLite counted an owner's tokens of
	// one name by reading the owner's 10,000 entries of tokens_user_name.
	terms := q.Terms()
	sortKey := d.sortKey(q.Sort)
	col := func(expr string, scope bool) string {
		switch {
		case d.Unindexed == nil:
		case terms.Exact != "", page && !scope && expr != sortKey:
			return d.Unindexed(expr)
		}
		return expr
	}
	if q.UserID != 0 {
		conds = append(conds, col("user_id", true)+" = "+arg(q.UserID))
	}
	switch {
	case ownImpersonation(q):
		conds = append(conds, "impersonation")
	case q.Impersonation != nil:
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
	// Personal tokens have no resource type: NULL on SQLite, '' on
	// PostgreSQL.
	switch q.Kind {
	case patkit.KindPersonal:
		conds = append(conds, col("impersonation", false)+" = "+arg(false),
			"coalesce("+col("resource_type", false)+", '') = ''")
	case patkit.KindImpersonation:
		conds = append(conds, col("impersonation", false)+" = "+arg(true))
	case patkit.KindProject, patkit.KindGroup:
		conds = append(conds, col("resource_type", false)+" = "+arg(string(q.Kind)))
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
	// The time bounds (see timeBounds). NULL (never used, never expires)
	// compares to nothing, so it falls outside every bound: its key,
	// Never, is above every upper bound, and the lower bounds keep the
	// keys below Never.
	for _, b := range timeBounds(q) {
		key := expires
		switch b.key {
		case createdKey:
			key = col("created_at", false)
		case lastUsedKey:
			key = lastUsed
		}
		if !b.upper && b.key != createdKey {
			key += " < " + d.Never + " AND " + key
		}
		conds = append(conds, key+b.op+arg(d.Time(b.t)))
	}
	if terms.Exact != "" {
		conds = append(conds, d.FoldedName+" = "+arg(terms.Exact))
	}
	for _, w := range terms.Words {
		cond, v := d.NameContains(w, d.Param(len(args)+1))
		conds, args = append(conds, cond), append(args, v)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// LikePattern returns the LIKE pattern, with ESCAPE '\', of the strings
// that contain word.
func LikePattern(word string) string { return "%" + likeEscaper.Replace(word) + "%" }

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

// NoticeColumn is the column that holds when notice n was claimed (the
// name GitLab gives it), and whether n has one.
func NoticeColumn(n patkit.Notice) (string, bool) {
	switch n {
	case patkit.NoticeSixtyDays:
		return "sixty_days_notification_sent_at", true
	case patkit.NoticeThirtyDays:
		return "thirty_days_notification_sent_at", true
	case patkit.NoticeSevenDays:
		return "seven_days_notification_sent_at", true
	case patkit.NoticeExpired:
		return "after_expiry_notification_sent_at", true
	}
	return "", false
}
