package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// dialect is SQLite's part of the translation of a Query. Each sort key
// is an expression an index of the migrations has (see Indexes and
// EXPLAIN in the package documentation).
var dialect = sqlq.Dialect{
	Param: func(int) string { return "?" },
	// Times are stored as integer Unix microseconds.
	Time: func(t time.Time) any { return t.UnixMicro() },
	// The largest integer: the sort keys of the nullable times are
	// coalesce(expires_at, 9223372036854775807) and the same of
	// last_used_at, as in the indexes.
	Never: "9223372036854775807",
	// name_folded is the name lower-cased by Go's strings.ToLower when it
	// is saved, so search folds case exactly as patkit.SearchTerms.Match.
	FoldedName: "name_folded",
	// instr, a plain substring search, takes half the time of LIKE
	// '%word%' (which tries the pattern at every character): counting one
	// owner's 9,990 names from tokens_user_name, 0.9 ms against 2.0 ms.
	NameContains: func(word, p string) (string, any) {
		return "instr(name_folded, " + p + ") > 0", word
	},
	// The BINARY collation, bytewise, of the indexes on the name and id.
	SortName: "name",
	// SQLite has no statistics (the Store never runs ANALYZE): a unary +
	// keeps the planner from choosing, for a page, an index that filters
	// over the one that orders.
	Unindexed: func(expr string) string { return "+" + expr },
	// tokens_user_impersonation (migration 0010): table is the Store's
	// tokens table, with its prefix.
	ImpersonationIndex: func(table string) string { return table + "_user_impersonation" },
	// The indexes that hold the folded names of a scope: tokens_name_folded
	// (migration 0004), and tokens_user_name and tokens_resource_name
	// (0013), with the prefix.
	NameIndex: func(table string, q *patkit.Query) string {
		switch {
		case q.UserID != 0:
			return table + "_user_name"
		case q.ResourceType != "":
			return table + "_resource_name"
		}
		return table + "_name_folded"
	},
	// tokens_fts (migration 0014), a trigram index of name_folded: GLOB
	// '*word*' reads the tokens that hold each trigram of the word. It
	// holds the names of the tokens up to the ID names_indexed records in
	// patkit_meta; those above are read from the table. A word with
	// GLOB's wildcards is left to the index of names.
	NameCandidates: func(table string, words []string, arg func(any) string) (string, bool) {
		conds := make([]string, len(words))
		for i, w := range words {
			if strings.ContainsAny(w, "*?[") {
				return "", false
			}
			conds[i] = "name_folded GLOB " + arg("*"+w+"*")
		}
		return "SELECT rowid AS cid FROM " + table + "_fts WHERE " + strings.Join(conds, " AND ") +
			" UNION ALL SELECT id FROM " + table + " WHERE " + unindexedNames(table), true
	},
	// One prepared statement per query shape (see stmtCache).
	PageArgs: true,
	Fence:    "LIMIT -1 OFFSET 0",
	// The indexes of recent use (migration 0017): last_used_at is
	// integer microseconds, not negative where a list reads it by day.
	UsedDay: "last_used_at / 86400000000",
	// Without statistics, SQLite reads a scope's Range from the scope's
	// index of the bound's key, as the conditions on anything else are
	// Unindexed.
	ScopeBounds: true,
}

// List returns one page of the tokens q.Match keeps, in the order of
// q.Sort.Compare, and their number, which stops at patkit.MaxCount+1.
// Filtering, ordering, paging and counting happen in SQL; the count is
// skipped when the page itself shows where the matches end, and read from
// the counters of token_counts and token_expiry_counts when q filters on
// nothing but its scope, impersonation, revocation, state and expiry
// bounds (see the package documentation). The page and the count read one
// snapshot of the database. q must be normalized.
//
// On a Store from Open on a file, List runs on connections of its own
// through SQLite's C API, as GetByDigest does (see listOnConns); once it
// has started, a done ctx interrupts it, as the driver would.
func (s *Store) List(ctx context.Context, q *patkit.Query) (_ []*patkit.Token, total int, err error) {
	count, countArgs, _ := dialect.Count(s.q.tables, q)
	var page string
	var pageArgs []any
	bound, ok := s.boundPlan(q)
	if ok {
		page, pageArgs = bound.Near, bound.NearArgs
	} else {
		page, pageArgs = dialect.Page(columns, s.q.table, q)
	}
	search, _ := dialect.Search(columns, s.q.table, q, s.bounds)
	if s.lists != nil {
		return s.listOnConns(ctx, q, page, pageArgs, count, countArgs, bound, search)
	}

	// Prepared before the transaction takes a connection of the pool.
	pageStmt, release, err := s.listStmts.stmt(ctx, s.r.db, page)
	if err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	defer release()
	countStmt, release, err := s.listStmts.stmt(ctx, s.r.db, count)
	if err != nil {
		return nil, 0, wrap("count tokens", err)
	}
	defer release()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, wrap("list tokens: begin", err)
	}
	defer tx.Rollback() // read-only: nothing to commit

	if search != nil {
		tokens, total, err := search.List(page, pageArgs, count, countArgs,
			func(query string, args []any) (n int, last int64, err error) {
				err = tx.QueryRowContext(ctx, query, args...).Scan(&n, &last)
				return n, last, err
			},
			func(query string, args []any) (n int, err error) {
				err = tx.QueryRowContext(ctx, query, args...).Scan(&n)
				return n, err
			},
			func(query string, args []any) ([]*patkit.Token, error) {
				return scanTokens(tx.QueryContext(ctx, query, args...))
			})
		if err != nil {
			return nil, 0, wrap("list tokens", err)
		}
		return tokens, total, nil
	}
	tokens, err := scanTokens(tx.StmtContext(ctx, pageStmt).QueryContext(ctx, pageArgs...))
	if err == nil && bound != nil {
		tokens, err = bound.Finish(tokens, func(query string, args []any) ([]*patkit.Token, error) {
			return scanTokens(tx.QueryContext(ctx, query, args...))
		}, func(query string, args []any) (n int, err error) {
			err = tx.QueryRowContext(ctx, query, args...).Scan(&n)
			return n, err
		})
	}
	if err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	if t, ok := lastPage(q, len(tokens)); ok {
		total = t
	} else if err := tx.StmtContext(ctx, countStmt).QueryRowContext(ctx, countArgs...).Scan(&total); err != nil {
		return nil, 0, wrap("count tokens", err)
	}
	return tokens, total, nil
}

// boundPlan returns the BoundPlan of q's page and true, if q has one (see
// sqlq.Dialect.Bound). Its walks seek from tokens_zones (migration 0015),
// which bounds names too, least and greatest, for the orders of names:
// the Store's one writer widens a zone without waiting for anyone.
func (s *Store) boundPlan(q *patkit.Query) (*sqlq.BoundPlan, bool) {
	return dialect.Bound(columns, s.q.tables, q, s.bounds)
}

// scanTokens reads the tokens of rows, the result of a page query.
func scanTokens(rows *sql.Rows, err error) ([]*patkit.Token, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tokens := []*patkit.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, t)
	}
	return tokens, rows.Err()
}

// lastPage returns the total of q's matches when its page of n tokens
// shows it: a short, non-empty page is the last one.
func lastPage(q *patkit.Query, n int) (total int, ok bool) {
	if n > 0 && n < q.PerPage {
		return int(q.Offset()) + n, true
	}
	return 0, false
}
