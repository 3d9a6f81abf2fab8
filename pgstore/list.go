package pgstore

import (
	"context"
	"fmt"
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
	// The sort keys coalesce(expires_at, 'infinity') and the same of
	// last_used_at, as in the indexes.
	Never: "'infinity'::timestamptz",
	// tokens_lower_name_idx.
	FoldedName: "lower(name)",
	// name ILIKE '%word%', written as ILIKE computes it (lower(name) LIKE
	// lower(pattern)) on the stored lower(name) (migration 0022): read
	// from the indexes of one owner's or resource's names, and served by
	// the trigram index of name_folded where Migrate could create it.
	NameContains: func(word, p string) (string, any) {
		return "name_folded LIKE lower(" + p + `) ESCAPE '\'`, sqlq.LikePattern(word)
	},
	// Bytewise on every server whatever its locale, as the name indexes
	// (tokens_name_idx and those of one owner or resource) are.
	SortName: `name COLLATE "C"`,
	// The indexes INCLUDE the filtered columns: an index-only scan finds
	// the page.
	IDsFirst: true,
	// The zones' seek compares (key, id), an index condition of the
	// indexes of the key and id.
	RowSeek: true,
	Fence:   "OFFSET 0",
	// The indexes of recent use (migration 0018), an integer: the date
	// of the instant in UTC, less the first of 1970.
	UsedDay: "((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')",
	// No ScopeBounds: one owner's or one resource's list keeps the walk
	// of its order. The planner reads the Range of an owner's tokens in
	// order of names from every entry of tokens_user_name_idx, which
	// holds every column the query needs, rather than the bound's range
	// of tokens_user_created_idx and a row for each name (at 1,000,000
	// tokens, the 1,230 tokens of the owner of 10,000 created in the last
	// 90 days: 9,990 entries and 4.5 ms, where the walk read 8,627
	// entries in 1.5 ms).
}

// List returns one page of the tokens q.Match keeps, in the order of
// q.Sort.Compare, and their number, which stops at patkit.MaxCount+1.
// Filtering, ordering and paging all happen in SQL, on the indexes created
// by the migrations. The count sums the counters of token_counts and
// token_expiry_counts when q filters on nothing but its scope,
// impersonation, revocation, state and expiry bounds (see the package
// documentation). The page and the count are sent in one round trip.
// q must be normalized.
func (s *Store) List(ctx context.Context, q *patkit.Query) ([]*patkit.Token, int, error) {
	count, countArgs, counted := dialect.Count(s.q.tables, q)
	var page string
	var pageArgs []any
	bound, bounded := s.boundPlan(q)
	if bounded {
		page, pageArgs = bound.Near, bound.NearArgs
	} else {
		page, pageArgs = s.pageSQL(q)
	}
	// A count from the counters reads a few rows by their key whatever its
	// arguments: it goes first, planned once (a generic plan) like the
	// page of a query without arguments. The statements after customPlans
	// are planned for their arguments at every execution.
	// A page read day by day (sqlq.RecentDays) is planned once, generic,
	// and the count after it for its arguments.
	var b pgx.Batch
	if counted {
		b.Queue(count, countArgs...)
	}
	byDay := bounded && bound.ByDay
	custom := len(pageArgs) > 0 || !counted && len(countArgs) > 0
	switch {
	case byDay:
		b.Queue(genericPlans)
	case custom:
		b.Queue(customPlans)
	}
	b.Queue(page, pageArgs...)
	customCount := byDay && !counted && len(countArgs) > 0
	if customCount {
		b.Queue(customPlans)
	}
	if !counted {
		b.Queue(count, countArgs...)
	}
	res := s.pool.SendBatch(ctx, &b)
	defer res.Close()

	var total int
	readCount := func() error {
		if err := res.QueryRow().Scan(&total); err != nil {
			return wrap("list: count", err)
		}
		return nil
	}
	if counted {
		if err := readCount(); err != nil {
			return nil, 0, err
		}
	}
	if byDay || custom {
		if _, err := res.Exec(); err != nil {
			return nil, 0, wrap("list", err)
		}
	}
	rows, err := res.Query()
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	tokens, err := scanTokens(rows, q.PerPage)
	if err != nil {
		return nil, 0, wrap("list", err)
	}
	if customCount {
		if _, err := res.Exec(); err != nil {
			return nil, 0, wrap("list", err)
		}
	}
	if !counted {
		if err := readCount(); err != nil {
			return nil, 0, err
		}
	}
	if err := res.Close(); err != nil {
		return nil, 0, wrap("list", err)
	}
	if bounded {
		if tokens, err = bound.Finish(tokens, func(query string, args []any) ([]*patkit.Token, error) {
			return s.customQuery(ctx, query, args, q.PerPage)
		}, func(query string, args []any) (n int, err error) {
			if !bound.Counted {
				return s.estimate(ctx, query, args)
			}
			err = s.pool.QueryRow(ctx, query, args...).Scan(&n)
			return n, err
		}); err != nil {
			return nil, 0, wrap("list", err)
		}
	}
	return tokens, total, nil
}

// boundPlan returns the BoundPlan of q's page and true, if q has one (see
// sqlq.Dialect.Bound). Its walks seek from the zones, joined with each
// zone's least name in ascending order of names; in descending order of
// names they do not seek, as the zones do not bound the greatest name
// (names that grow with each create would widen it in every create, and
// concurrent creates would wait for each other's commit on the zone's
// row).
func (s *Store) boundPlan(q *patkit.Query) (*sqlq.BoundPlan, bool) {
	t := s.q.tables
	switch q.Sort {
	case patkit.SortNameAsc:
		t.Zones = s.q.zonesNamed
	case patkit.SortNameDesc:
		t.Zones = ""
	}
	return dialect.Bound(columns, t, q, s.bounds)
}

// estimate returns the planner's estimate of what count, a count of an
// index range stopping at some n+1 (a BoundPlan's Probe), returns: the
// rows it expects of the range, from the statistics that ANALYZE and
// autovacuum keep (a histogram of the bound's column or expression),
// within a few percent of the count where they are fresh, in a fraction
// of a millisecond where counting 120,000 entries took 23 ms. The
// arguments are sent in the statement's text (the simple protocol), so
// that it is planned for them, never with a generic plan.
func (s *Store) estimate(ctx context.Context, count string, args []any) (int, error) {
	var plan []struct {
		Plan struct {
			Rows  float64 `json:"Plan Rows"`
			Plans []struct {
				Rows float64 `json:"Plan Rows"`
			}
		}
	}
	err := s.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+count, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...).Scan(&plan)
	if err != nil {
		return 0, err
	}
	// The count's Aggregate over the Limit of the range.
	if len(plan) != 1 || len(plan[0].Plan.Plans) != 1 {
		return 0, fmt.Errorf("estimate: unexpected plan %+v", plan)
	}
	return int(plan[0].Plan.Plans[0].Rows), nil
}

// customQuery returns the tokens of a page query, planned for its
// arguments (see customPlans).
func (s *Store) customQuery(ctx context.Context, query string, args []any, perPage int) ([]*patkit.Token, error) {
	var b pgx.Batch
	b.Queue(customPlans)
	b.Queue(query, args...)
	res := s.pool.SendBatch(ctx, &b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return nil, err
	}
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	tokens, err := scanTokens(rows, perPage)
	if err != nil {
		return nil, err
	}
	return tokens, res.Close()
}

// customPlans makes the server plan the list's statements, which pgx
// prepares and caches, for their arguments at every execution. By default
// it switches to a generic plan after five executions, planned for an
// average owner or resource: for an owner with thousands of tokens, that
// plan reads them all and sorts them (40 ms at 10,000 tokens) rather than
// read 20 in the order of an index. The batch runs in one transaction,
// which the setting lasts for. It is set_config rather than SET LOCAL:
// the server warns of a SET LOCAL outside a transaction block (BEGIN),
// in its log and to the client, at every execution.
const customPlans = "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"

// genericPlans makes the server plan a page read day by day once, for any
// arguments, as customPlans does for every execution: each of its days
// seeks the day's entries in the index of recent use of its order,
// whatever the arguments, and planning its walks took 1 to 2.5 ms of a
// list (1,000,000 tokens, eight days) whose execution took 0.1 to 0.3 ms.
const genericPlans = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"

// pageSQL returns the page query of q and its arguments: the walk of the
// index of its order.
func (s *Store) pageSQL(q *patkit.Query) (string, []any) {
	return dialect.Page(columns, s.q.tokens, q)
}
