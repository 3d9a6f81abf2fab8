package pgstore_test

import (
	"context"
	"crypto/sha256"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
)

// bigTokens is the size of the table TestExplainMillion plans against.
const bigTokens = 1_000_000

// fillSQL inserts bigTokens rows shaped like a large instance: 50,000 users
// with 20 tokens each, a fifth of them project or group tokens, one in 50 an
// impersonation token, one in 7 revoked (and rotated), one in 10 never
// expiring, one in 3 never used.
const fillSQL = `INSERT INTO tokens (user_id, name, description, scopes, impersonation,
	resource_type, resource_id, access_level, created_at, expires_at, revoked,
	last_used_at, last_used_ips, previous_id, digest)
SELECT
	i % 50000 + 1,
	'token ' || i || CASE i % 5 WHEN 0 THEN ' deploy' WHEN 1 THEN ' ci' ELSE '' END,
	'',
	'{api}',
	i % 50 = 0,
	CASE i % 10 WHEN 1 THEN 'project' WHEN 2 THEN 'group' ELSE '' END,
	CASE WHEN i % 10 IN (1, 2) THEN i % 1000 ELSE 0 END,
	CASE WHEN i % 10 IN (1, 2) THEN 30 ELSE 0 END,
	timestamptz '2020-01-01 00:00:00Z' + i * interval '2 minutes',
	CASE WHEN i % 10 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00Z' + (i % 1000) * interval '1 day' END,
	i % 7 = 0,
	CASE WHEN i % 3 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00Z' + i * interval '1 minute' END,
	'{}',
	CASE WHEN i % 7 = 0 THEN i - 1 END,
	sha256(int8send(i))
FROM generate_series(1, 1000000) AS i`

// millionEnv is the environment variable that runs the tests on a million
// tokens.
const millionEnv = "PATKIT_TEST_MILLION"

// TestExplainMillion fills a table with 1,000,000 tokens (about 15 s) and
// checks that the page queries of List use an index: no sequential scan of
// tokens, whatever the filter and sort, and the trigram index that Migrate
// creates for a search by words across all tokens. It logs every plan; run
// it with -v to see them (the package documentation quotes some). It runs
// only when PATKIT_TEST_MILLION=1.
func TestExplainMillion(t *testing.T) {
	if os.Getenv(millionEnv) != "1" {
		t.Skipf("fills a table with 1,000,000 tokens; run it with %s=1 and %s set", millionEnv, dsnEnv)
	}
	schema := newSchema(t)
	s := openStore(t, schema)
	pool := newPool(t)
	indexed, err := s.SearchIndexed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !indexed {
		t.Error("Migrate created no trigram index (is pg_trgm available?): searches will read every name")
	}

	start := time.Now()
	fill(t, pool, schema)
	t.Logf("filled %d tokens in %v", bigTokens, time.Since(start).Round(time.Millisecond))

	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	no := false
	tests := []struct {
		name string
		q    patkit.Query
		// scoped: the count query must use an index too. Unscoped counts
		// may scan: they stop after patkit.MaxCount+1 matches.
		scoped bool
		// trigram: the page and count queries must use the trigram index.
		trigram bool
	}{
		{"AdminDefault", patkit.Query{Filter: patkit.Filter{}}, false, false},
		{"AdminActiveCreatedDesc", patkit.Query{Filter: patkit.Filter{State: patkit.StateActive, Sort: patkit.SortCreatedDesc, Page: 3}, Now: now}, false, false},
		{"AdminInactiveCreatedAsc", patkit.Query{Filter: patkit.Filter{State: patkit.StateInactive, Sort: patkit.SortCreatedAsc}, Now: now}, false, false},
		{"AdminNotRevokedNameAsc", patkit.Query{Filter: patkit.Filter{Revoked: &no, Sort: patkit.SortNameAsc, Page: 5}}, false, false},
		{"AdminNameDesc", patkit.Query{Filter: patkit.Filter{Sort: patkit.SortNameDesc, PerPage: 100}}, false, false},
		{"AdminExpiresAfterAsc", patkit.Query{Filter: patkit.Filter{ExpiresAfter: now, Sort: patkit.SortExpiresAsc}}, false, false},
		{"AdminExpiresDesc", patkit.Query{Filter: patkit.Filter{Sort: patkit.SortExpiresDesc}}, false, false},
		{"AdminLastUsedDesc", patkit.Query{Filter: patkit.Filter{Sort: patkit.SortLastUsedDesc, Page: 50}}, false, false},
		{"AdminLastUsedAfterAsc", patkit.Query{Filter: patkit.Filter{LastUsedAfter: now, Sort: patkit.SortLastUsedAsc}}, false, false},
		{"AdminCreatedBetween", patkit.Query{Filter: patkit.Filter{CreatedAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), CreatedBefore: time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC)}}, true, false},
		{"AdminSearchWord", patkit.Query{Filter: patkit.Filter{Search: "deploy"}}, false, false},
		{"AdminSearchRareWord", patkit.Query{Filter: patkit.Filter{Search: "12345"}}, true, true},
		{"AdminSearchRareWordsNameAsc", patkit.Query{Filter: patkit.Filter{Search: "2345 deploy", Sort: patkit.SortNameAsc}}, true, true},
		{"AdminActiveSearchRareWord", patkit.Query{Filter: patkit.Filter{State: patkit.StateActive, Search: "54321"}, Now: now}, true, true},
		{"AdminSearchExact", patkit.Query{Filter: patkit.Filter{Search: "ab"}}, true, false},
		{"AdminUserImpersonation", patkit.Query{UserID: 4321, Impersonation: &no, Filter: patkit.Filter{}}, true, false},
		{"UserActiveCreatedDesc", patkit.Query{UserID: 4321, Impersonation: &no, Filter: patkit.Filter{State: patkit.StateActive, Sort: patkit.SortCreatedDesc}, Now: now}, true, false},
		{"UserSearchLastUsed", patkit.Query{UserID: 4321, Filter: patkit.Filter{Search: "token", Sort: patkit.SortLastUsedDesc}}, true, false},
		{"ProjectActive", patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 321, Filter: patkit.Filter{State: patkit.StateActive}, Now: now}, true, false},
		{"GroupExpiresAsc", patkit.Query{ResourceType: patkit.ResourceGroup, ResourceID: 42, Filter: patkit.Filter{Revoked: &no, Sort: patkit.SortExpiresAsc}}, true, false},
		{"PreviousID", patkit.Query{PreviousID: 699999, Filter: patkit.Filter{}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize() // as the Service does: 20 a page, page 1 unless set
			page, args, count, countArgs := s.ListSQL(&q)
			pagePlan := explain(t, pool, page, args)
			t.Logf("%s\n%s", page, pagePlan)
			if strings.Contains(pagePlan, "Seq Scan on tokens") {
				t.Errorf("page query scans the table:\n%s\n%s", page, pagePlan)
			}
			countPlan := explain(t, pool, count, countArgs)
			t.Logf("count:\n%s", countPlan)
			if tt.scoped && strings.Contains(countPlan, "Seq Scan on tokens") {
				t.Errorf("count query scans the table:\n%s\n%s", count, countPlan)
			}
			if tt.trigram && indexed {
				for _, plan := range []string{pagePlan, countPlan} {
					if !strings.Contains(plan, "Bitmap Index Scan on tokens_name_trgm_idx") {
						t.Errorf("search does not use the trigram index:\n%s", plan)
					}
				}
			}
		})
	}

	// Every scope, sort and filter the Service sends: the page never
	// sorts more than a few rows (the planner rightly sorts the 20 tokens
	// of an owner who has 20; a search's matches), never reads the table
	// sequentially; a count the counters answer reads no token.
	t.Run("Shapes", func(t *testing.T) {
		for _, sh := range listshape.All(4321, 321, now) {
			page, pageArgs, count, countArgs := s.ListSQL(&sh.Query)
			pagePlan := explain(t, pool, page, pageArgs)
			countPlan := explain(t, pool, count, countArgs)
			t.Logf("%s\n%s\n%s\ncount:\n%s", sh.Name, page, pagePlan, countPlan)
			if sortsMany(pagePlan) {
				t.Errorf("%s: the page is sorted:\n%s\n%s", sh.Name, page, pagePlan)
			}
			if strings.Contains(pagePlan, "Seq Scan") {
				t.Errorf("%s: the page reads the table:\n%s\n%s", sh.Name, page, pagePlan)
			}
			if sh.Scope == "impersonation" && sh.Filter != "search-exact" && // the name's tokens are few
				!strings.Contains(pagePlan+countPlan, "tokens_user_impersonation_idx") {
				t.Errorf("%s: neither the page nor the count reads the owner's impersonation tokens alone:\n%s\n%s\n%s",
					sh.Name, page, pagePlan, countPlan)
			}
			switch {
			case slices.Contains(listshape.Counted, sh.Filter) && strings.Contains(countPlan, " on tokens"):
				t.Errorf("%s: the count reads tokens, not the counters:\n%s\n%s", sh.Name, count, countPlan)
			case slices.Contains(listshape.TimeBounds, sh.Filter) && sh.Scope != "all" && strings.Contains(countPlan, "Seq Scan"):
				t.Errorf("%s: the count reads the table:\n%s\n%s", sh.Name, count, countPlan)
			}
		}
	})

	// What the trigram index saves: without it (dropped in a transaction
	// rolled back), the rare word reads every name.
	t.Run("SearchWithoutTrigramIndex", func(t *testing.T) {
		if !indexed {
			t.Skip("no trigram index")
		}
		ctx := t.Context()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{schema, "tokens_name_trgm_idx"}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		q := patkit.Query{Filter: patkit.Filter{Search: "12345"}}
		q.Normalize()
		page, args, count, countArgs := s.ListSQL(&q)
		for _, sql := range []struct {
			text string
			args []any
		}{{page, args}, {count, countArgs}} {
			plan := explain(t, tx, sql.text, sql.args)
			t.Logf("%s\n%s", sql.text, plan)
			if strings.Contains(plan, "tokens_name_trgm_idx") {
				t.Errorf("plan uses the dropped index:\n%s", plan)
			}
		}
	})

	t.Run("GetByDigest", func(t *testing.T) {
		d := sha256.Sum256([]byte("absent"))
		tokens := pgx.Identifier{schema, "tokens"}.Sanitize()
		plan := explain(t, pool, "SELECT * FROM "+tokens+" WHERE digest = $1", []any{d[:]})
		t.Logf("\n%s", plan)
		if !strings.Contains(plan, "tokens_digest_key") {
			t.Errorf("GetByDigest does not use the unique digest index:\n%s", plan)
		}
	})
}

// fill inserts bigTokens rows into schema's tokens table. It drops the
// secondary indexes first and recreates them from their own definitions
// afterwards, which is three times faster than inserting through them and
// ends with exactly the indexes of the migrations.
func fill(t *testing.T, pool *pgxpool.Pool, schema string) {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// First, so that the definitions qualify what the search_path does not
	// reach (pg_trgm's operator class, if in another schema).
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = $1 AND tablename = 'tokens'
		AND indexname NOT IN ('tokens_pkey', 'tokens_digest_key')`, schema)
	if err != nil {
		t.Fatal(err)
	}
	type index struct{ Name, Def string }
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{schema, ix.Name}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	stmts := []string{
		"SET LOCAL maintenance_work_mem = '256MB'",
		fillSQL,
	}
	for _, ix := range indexes {
		stmts = append(stmts, ix.Def)
	}
	for _, sql := range stmts {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%.60s: %v", sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// VACUUM sets the visibility map, which index-only scans need, as
	// autovacuum does after a bulk load.
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{schema, "tokens"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
}

// sortsMany reports whether plan, from EXPLAIN ANALYZE, has a Sort node
// and a node that returned more than 1,000 rows.
func sortsMany(plan string) bool {
	if !strings.Contains(plan, "Sort") {
		return false
	}
	for _, m := range actualRows.FindAllStringSubmatch(plan, -1) {
		rows, _ := strconv.Atoi(m[1])
		loops, _ := strconv.Atoi(m[2])
		if rows*loops > 1000 {
			return true
		}
	}
	return false
}

var actualRows = regexp.MustCompile(`actual time=[0-9.]+\.\.[0-9.]+ rows=([0-9]+) loops=([0-9]+)`)

// explain returns the plan of sql run with args, as the server plans it
// for these values (with EXPLAIN ANALYZE, so the plan ran).
func explain(t *testing.T, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, sql string, args []any) string {
	t.Helper()
	rows, err := db.Query(t.Context(), "EXPLAIN (ANALYZE, COSTS off, SUMMARY on) "+sql, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}
