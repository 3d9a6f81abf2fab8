package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/internal/sqlq"
	"github.com/patkit/patkit/sqlitestore"
)

// millionEnv is the environment variable that runs the tests on a million
// tokens.
const millionEnv = "PATKIT_TEST_MILLION"

// TestListPlans checks the plan (EXPLAIN QUERY PLAN) of the page and count
// queries of every list shape: every scope, sort and filter the Service
// sends. Each page reads the index of its scope and sort key in order,
// never sorting (USE TEMP B-TREE FOR ORDER BY) but the tokens of one name
// for an exact search, whose count reads them too; the count of a scope,
// a state, impersonation, revocation and an expiry bound reads the
// counters, not tokens, and that of a bound on creation or last use an
// index, never the table, that of all tokens bounded on creation after
// the counters and the zones. The Store never runs ANALYZE, and without
// statistics SQLite plans the same whatever the number of rows, so a
// small table checks the plans of a large one;
// TestListPlansMillion checks them at 1,000,000 tokens, also after
// ANALYZE.
func TestListPlans(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	for i := range 50 {
		tok := token(fmt.Sprintf("token %d", i))
		tok.UserID = int64(i%5 + 1)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	checkPlans(t, s, openReader(t, path), listshape.All(3, 7, base), false, false)
}

// TestListPlansMillion fills a table with 1,000,000 tokens (about a
// minute), checks the plans of every list shape as TestListPlans does,
// without statistics and after ANALYZE, and logs each plan with the time
// List takes (-v). It runs only when PATKIT_TEST_MILLION=1.
func TestListPlansMillion(t *testing.T) {
	if os.Getenv(millionEnv) != "1" {
		t.Skipf("fills a table with 1,000,000 tokens; run it with %s=1", millionEnv)
	}
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	start := time.Now()
	fillMillion(t, path)
	t.Logf("filled 1,000,000 tokens in %v", time.Since(start).Round(time.Millisecond))
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	shapes := listshape.All(4321, 321, now)
	db := openReader(t, path)
	t.Run("NoStatistics", func(t *testing.T) { checkPlans(t, s, db, shapes, true, false) })
	if _, err := db.ExecContext(t.Context(), "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	t.Run("Analyzed", func(t *testing.T) { checkPlans(t, s, db, shapes, true, true) })
}

// openReader opens a second pool on path, for EXPLAIN.
func openReader(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pageIndex returns the index a page of shape sh must read: the one of
// its scope and sort key, "" for the table itself (all tokens by id); one
// owner's impersonation tokens have a partial index of their own.
func pageIndex(sh listshape.Shape) string {
	if sh.Scope == "impersonation" {
		return "tokens_user_impersonation" // listed by id only
	}
	name := "tokens"
	switch sh.Scope {
	case "user", "admin-user":
		name += "_user"
	case "project":
		name += "_resource"
	}
	switch sh.Sort {
	case patkit.SortCreatedAsc, patkit.SortCreatedDesc:
		name += "_created"
	case patkit.SortExpiresAsc, patkit.SortExpiresDesc:
		name += "_expiry"
	case patkit.SortLastUsedAsc, patkit.SortLastUsedDesc:
		name += "_last_used"
	case patkit.SortNameAsc, patkit.SortNameDesc:
		name += "_name"
	default:
		if name == "tokens" {
			return ""
		}
	}
	return name
}

// searchIndex is the index a scope's count of a search by words reads the
// folded names from, without the table (migration 0013 for one owner or
// resource).
var searchIndex = map[string]string{
	"all":        "tokens_name_folded",
	"user":       "tokens_user_name",
	"admin-user": "tokens_user_name",
	"project":    "tokens_resource_name",
}

// tokensRead matches a plan that reads the table tokens or one of its
// indexes.
var tokensRead = regexp.MustCompile(`\b(SCAN|SEARCH) tokens\b`)

// checkPlans checks the plans of shapes on s (db reading the same file,
// whose table has statistics if analyzed), and, if timed, logs each with
// the time List takes.
func checkPlans(t *testing.T, s *sqlitestore.Store, db *sql.DB, shapes []listshape.Shape, timed, analyzed bool) {
	t.Helper()
	ctx := t.Context()
	for _, sh := range shapes {
		q := sh.Query
		page, pageArgs, count, countArgs := s.ListSQL(&q)
		pagePlan := queryPlan(t, db, page, pageArgs)
		countPlan := queryPlan(t, db, count, countArgs)
		if timed {
			best := time.Duration(1 << 62)
			for range 3 {
				start := time.Now()
				if _, _, err := s.List(ctx, &q); err != nil {
					t.Fatal(err)
				}
				best = min(best, time.Since(start))
			}
			t.Logf("%s: %v\n  page: %s\n  count: %s", sh.Name, best.Round(time.Microsecond), pagePlan, countPlan)
		}
		exact := sh.Filter == "search-exact"
		if strings.Contains(pagePlan, "USE TEMP B-TREE FOR ORDER BY") && !exact {
			t.Errorf("%s: the page is sorted:\n%s\n%s", sh.Name, page, pagePlan)
		}
		want := pageIndex(sh)
		if exact {
			want = "tokens_name_folded"
		}
		switch {
		case want == "" && !regexp.MustCompile(`^SCAN tokens$`).MatchString(pagePlan):
			t.Errorf("%s: the page does not read the table in id order:\n%s\n%s", sh.Name, page, pagePlan)
		case want != "" && !regexp.MustCompile(`INDEX `+want+`\b`).MatchString(pagePlan):
			t.Errorf("%s: the page does not read %s:\n%s\n%s", sh.Name, want, page, pagePlan)
		}
		bound, ok := s.BoundSQL(&q)
		if ok {
			checkBoundPlans(t, db, sh, bound, analyzed)
		} else if sh.Name == "user/last-used-after/default" {
			t.Errorf("%s: no BoundPlan (the dialect's ScopeBounds)", sh.Name)
		}
		if search, ok := s.SearchSQL(&q); ok != sh.Search {
			t.Errorf("%s: SearchPlan %v", sh.Name, ok)
		} else if ok {
			checkSearchPlan(t, db, sh, search)
		}
		switch {
		case slices.Contains(listshape.Counted, sh.Filter) && tokensRead.MatchString(countPlan):
			t.Errorf("%s: the count reads tokens, not the counters:\n%s\n%s", sh.Name, count, countPlan)
		case slices.Contains(listshape.TimeBounds, sh.Filter) && !strings.Contains(countPlan, " INDEX "):
			t.Errorf("%s: the count reads the table:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Scope == "all" && strings.HasPrefix(sh.Filter, "created-") &&
			(!strings.Contains(countPlan, "SEARCH token_counters") || !strings.Contains(countPlan, "SCAN tokens_zones")):
			t.Errorf("%s: the count does not read the counters and the zones first:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Scope == "impersonation" && !exact && tokensRead.MatchString(countPlan) &&
			!strings.Contains(countPlan, "INDEX tokens_user_impersonation "):
			t.Errorf("%s: the count walks more than the owner's impersonation tokens:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Search && sh.Scope != "impersonation" && !strings.Contains(countPlan, "COVERING INDEX "+searchIndex[sh.Scope]):
			t.Errorf("%s: the count does not read the names from %s alone:\n%s\n%s", sh.Name, searchIndex[sh.Scope], count, countPlan)
		case exact && !strings.Contains(countPlan, "INDEX tokens_name_folded (name_folded=?)"):
			t.Errorf("%s: the count does not read the tokens of the name alone:\n%s\n%s", sh.Name, count, countPlan)
		}
	}
}

// checkBoundPlans checks the plans of the queries of the BoundPlan of
// shape sh (a bound on one time of all tokens, or of one owner's or
// resource's, against an order by another): Near reads the index of the
// order (the scope's), from its start to the cutoff (found by scanning its
// first entries), without sorting, or,
// where the order begins with the tie of tokens that never expire or
// were never used, that tie by ID, and Next the former; Range
// reads the range of the bound's index (the scope's), and sorts; the
// Probe counts the range from that index, or the counters for an expiry
// bound. None reads
// the table from end to end. With statistics (analyzed), SQLite may read
// a Range sorted by name from every entry of an owner's index that holds
// the name and the times instead: at 1,000,000 tokens it rates that
// cheaper than the bound's 178,000 tokens and a table read for each name,
// and it took 55 ms against 36 (sqlite3 3.40.1, benchtable's dataset); and
// one owner's or resource's Range sorted by name from the scope's entries
// of that index (at most the scope's tokens, as the walk).
func checkBoundPlans(t *testing.T, db *sql.DB, sh listshape.Shape, p *sqlq.BoundPlan, analyzed bool) {
	t.Helper()
	if p.ByDay {
		checkByDayPlan(t, db, sh, p)
		return
	}
	near := queryPlan(t, db, p.Near, p.NearArgs)
	probe := queryPlan(t, db, p.Probe, p.ProbeArgs)
	rng := queryPlan(t, db, p.Range, p.RangeArgs)
	names := analyzed && (sh.Sort == patkit.SortNameAsc || sh.Sort == patkit.SortNameDesc) &&
		(strings.Contains(rng, "; SCAN tokens USING COVERING INDEX tokens_user_name;") ||
			sh.Scope != "all" && regexp.MustCompile(`; SEARCH tokens USING COVERING INDEX tokens_(user|resource)_name \((user_id|resource_type)=\?`).MatchString(rng))
	if names {
		t.Logf("%s: Range reads every name from tokens_user_name: %s", sh.Name, rng)
	}
	order := pageIndex(sh)
	if order == "" {
		order = "INTEGER PRIMARY KEY"
	}
	bound := map[string]string{
		"created-after": "tokens_created", "created-before": "tokens_created",
		"last-used-after": "tokens_last_used", "last-used-before": "tokens_last_used",
		"expires-after": "tokens_expiry", "expires-before": "tokens_expiry",
	}[sh.Filter]
	// One owner's or one resource's bound is the range of the scope's
	// index of the key (an owner's impersonation tokens have no
	// BoundPlan).
	switch sh.Scope {
	case "user", "admin-user":
		bound = strings.Replace(bound, "tokens_", "tokens_user_", 1)
	case "project":
		bound = strings.Replace(bound, "tokens_", "tokens_resource_", 1)
	}
	if p.Next != "" {
		// Near reads the tie of the order's first key, by ID from the
		// zones', and sorts the page alone; Next walks to the cutoff.
		tie, _, _ := strings.Cut(near, "; SCAN p;")
		if !strings.Contains(tie, "SEARCH tokens USING COVERING INDEX "+order+" (<expr>=? AND id<?)") ||
			strings.Contains(tie, "TEMP B-TREE") {
			t.Errorf("%s: Near does not read the tie of %s by ID:\n%s\n%s", sh.Name, order, p.Near, near)
		}
		p.Near, near = p.Next, queryPlan(t, db, p.Next, p.NextArgs)
	}
	if !regexp.MustCompile(`^SEARCH tokens USING (COVERING )?(INDEX `+order+`|`+order+`) \(.*[<>]\?\)`).MatchString(near) ||
		strings.Contains(near, "TEMP B-TREE") {
		t.Errorf("%s: Near does not read %s up to its cutoff:\n%s\n%s", sh.Name, order, p.Near, near)
	}
	if !names && !regexp.MustCompile(`SEARCH tokens USING (COVERING )?INDEX `+bound+` \(`).MatchString(rng) {
		t.Errorf("%s: Range does not read the range of %s:\n%s\n%s", sh.Name, bound, p.Range, rng)
	}
	switch {
	case strings.HasPrefix(sh.Filter, "expires-") && tokensRead.MatchString(probe):
		t.Errorf("%s: the Probe reads tokens, not the counters:\n%s\n%s", sh.Name, p.Probe, probe)
	case !strings.HasPrefix(sh.Filter, "expires-") &&
		!regexp.MustCompile(`SEARCH tokens USING COVERING INDEX `+bound+` \(`).MatchString(probe):
		t.Errorf("%s: the Probe does not count the range of %s:\n%s\n%s", sh.Name, bound, p.Probe, probe)
	}
	// Near's cutoff, a scalar subquery, scans the order's first entries
	// (the scope's) and stops.
	main, cutoff, _ := strings.Cut(near, "; SCALAR SUBQUERY")
	if sh.Scope != "all" && !regexp.MustCompile(`^ \d+; SEARCH tokens USING (COVERING )?INDEX \w+ \((user_id|resource_type)=\?`).MatchString(cutoff) {
		t.Errorf("%s: Near's cutoff is not among the scope's entries:\n%s\n%s", sh.Name, p.Near, near)
	}
	plans := map[string]string{"Near": main, "Probe": probe, "Range": rng}
	if names {
		delete(plans, "Range")
	}
	for name, plan := range plans {
		if regexp.MustCompile(`\bSCAN tokens\b`).MatchString(plan) {
			t.Errorf("%s: %s reads the table from end to end:\n%s", sh.Name, name, plan)
		}
	}
}

// checkByDayPlan checks the plan of a BoundPlan that reads the tokens
// used after a time day by day (shape sh, a list of the last week's):
// each of the eight days seeks its day in the index of recent use of the
// order, from which it reads the keys alone, and the tokens used after
// today are a range of tokens_last_used; nothing reads the table but the
// page's rows by ID.
func checkByDayPlan(t *testing.T, db *sql.DB, sh listshape.Shape, p *sqlq.BoundPlan) {
	t.Helper()
	plan := queryPlan(t, db, p.Near, p.NearArgs)
	index := "tokens_used_day" + strings.TrimPrefix(pageIndex(sh), "tokens")
	day := regexp.MustCompile(`SEARCH tokens USING COVERING INDEX ` + index + ` \(<expr>=\?\)`)
	later := regexp.MustCompile(`SEARCH tokens USING (COVERING )?INDEX tokens_last_used \(<expr>>\? AND <expr><\?\)`)
	if len(day.FindAllString(plan, -1)) != 8 || len(later.FindAllString(plan, -1)) != 1 ||
		tokensRead.MatchString(later.ReplaceAllString(day.ReplaceAllString(plan, ""), "")) {
		t.Errorf("%s: the page does not read 8 days of %s and the range of tokens_last_used after them:\n%s\n%s", sh.Name, index, p.Near, plan)
	}
}

// checkSearchPlan checks the plans of the SearchPlan of shape sh (a
// search by words): for all tokens, Probe, Count and Range read the candidates
// of the trigram index (tokens_fts, migration 0014), and the tokens above
// it, by ID; for one owner or resource, Range finds the matches in the
// scope's index of names alone. None reads the table from end to end.
func checkSearchPlan(t *testing.T, db *sql.DB, sh listshape.Shape, p *sqlq.SearchPlan) {
	t.Helper()
	rng := queryPlan(t, db, p.Range, p.RangeArgs)
	plans := map[string]string{"Range": rng}
	if sh.Scope == "all" {
		plans["Probe"] = queryPlan(t, db, p.Probe, p.ProbeArgs)
		plans["Count"] = queryPlan(t, db, p.Count, p.CountArgs)
		for name, plan := range plans {
			if !strings.Contains(plan, "SCAN tokens_fts VIRTUAL TABLE INDEX 0:G") ||
				!strings.Contains(plan, "SEARCH tokens USING INTEGER PRIMARY KEY (rowid>?)") {
				t.Errorf("%s: %s does not read the trigram index and the tokens above it:\n%s", sh.Name, name, plan)
			}
		}
	} else {
		names := searchIndex[sh.Scope]
		if sh.Scope == "impersonation" {
			names = "tokens_user_name"
		}
		if p.Probe != "" || !regexp.MustCompile(`SEARCH tokens USING COVERING INDEX `+names+`\b`).MatchString(rng) {
			t.Errorf("%s: Range does not read the matches from %s:\n%s\n%s", sh.Name, names, p.Range, rng)
		}
	}
	for name, plan := range plans {
		if regexp.MustCompile(`\bSCAN tokens\b`).MatchString(plan) {
			t.Errorf("%s: %s reads the table from end to end:\n%s", sh.Name, name, plan)
		}
	}
}

// queryPlan returns the details of EXPLAIN QUERY PLAN of query, joined by
// "; ", without the count's subquery steps.
func queryPlan(t *testing.T, db *sql.DB, query string, args []any) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		if detail != "CO-ROUTINE matches" && detail != "SCAN matches" {
			steps = append(steps, detail)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "; ")
}

// fillMillion inserts 1,000,000 tokens into the file at path, shaped like
// a large instance: 50,000 users with 20 tokens each, a fifth of them
// project or group tokens of 1,000 projects and groups, one in 50 an
// impersonation token, one in 7 revoked, one in 10 never expiring, one in
// 3 never used. It drops the indexes of tokens during the load and
// creates them again from their own definitions.
func fillMillion(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=cache_size(-262144)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(ctx context.Context, query string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, query); err != nil {
			t.Fatalf("%.60s: %v", query, err)
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	exec(ctx, "BEGIN IMMEDIATE")
	for _, name := range names {
		exec(ctx, `DROP INDEX "`+name+`"`)
	}
	// Times in microseconds from 2020-01-01: created every 2 minutes,
	// expiring from 2024-01-01 plus up to 1,000 days, last used from
	// 2024-01-01 plus i minutes.
	exec(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000000)
	INSERT INTO tokens (user_id, name, name_folded, scopes, impersonation, resource_type, resource_id,
		access_level, created_at, expires_at, revoked, last_used_at, previous_id, digest)
	SELECT i % 50000 + 1,
		'token ' || i || CASE i % 5 WHEN 0 THEN ' deploy' WHEN 1 THEN ' ci' ELSE '' END,
		'token ' || i || CASE i % 5 WHEN 0 THEN ' deploy' WHEN 1 THEN ' ci' ELSE '' END,
		'["api"]', i % 50 = 0,
		CASE i % 10 WHEN 1 THEN 'project' WHEN 2 THEN 'group' END,
		CASE WHEN i % 10 IN (1, 2) THEN i % 1000 ELSE 0 END,
		CASE WHEN i % 10 IN (1, 2) THEN 30 ELSE 0 END,
		1577836800000000 + i * 120000000,
		CASE WHEN i % 10 = 0 THEN NULL ELSE 1704067200000000 + (i % 1000) * 86400000000 END,
		i % 7 = 0,
		CASE WHEN i % 3 = 0 THEN NULL ELSE 1704067200000000 + i * 60000000 END,
		CASE WHEN i % 7 = 0 THEN i - 1 END,
		randomblob(32)
	FROM seq`)
	for _, def := range defs {
		exec(ctx, def)
	}
	exec(ctx, "COMMIT")
}
