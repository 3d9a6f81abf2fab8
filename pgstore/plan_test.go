package pgstore_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/internal/sqlq"
)

// TestListPlans checks that an index serves the order of every list shape
// (every scope, sort and filter the Service sends): with sorts and
// sequential scans disabled (enable_sort, enable_seqscan and
// enable_bitmapscan off), which the planner then chooses only when no
// index can do without them, the page of each shape reads the index of its
// scope and sort key, and never sorts; the count of a scope, a state,
// impersonation, revocation and an expiry bound reads the counters, not
// tokens, and that of a bound on creation or last use an index (after the
// counters and the zones, or the use counts, for all tokens); one owner's
// or resource's search tests the folded names its index of names holds.
// On a small table the planner would rightly read it all and sort,
// whatever the indexes;
// TestExplainMillion checks the plans it chooses by itself at 1,000,000
// tokens.
func TestListPlans(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	for i := range 50 {
		tok := token(fmt.Sprintf("token %d", i))
		tok.UserID = int64(i%5 + 1)
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := newPool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, sh := range listshape.All(3, 7, time.Now()) {
		page, pageArgs, count, countArgs := s.ListSQL(&sh.Query)
		var pagePlan string
		if sh.Scope == "all" {
			pagePlan = explainPlan(t, tx, page, pageArgs)
		} else {
			pagePlan = explainScoped(t, tx, schema, page, pageArgs)
		}
		countPlan := explainPlan(t, tx, count, countArgs)
		if strings.Contains(pagePlan, "Sort") {
			t.Errorf("%s: the page is sorted:\n%s\n%s", sh.Name, page, pagePlan)
		}
		if strings.Contains(pagePlan, "Seq Scan on tokens") {
			t.Errorf("%s: the page reads the table:\n%s\n%s", sh.Name, page, pagePlan)
		}
		if want := pageIndex(sh); !sh.Search && sh.Filter != "search-exact" &&
			!regexp.MustCompile(`Limit\n\s*->  Index (Only )?Scan( Backward)? using `+want+` on tokens`).MatchString(pagePlan) {
			t.Errorf("%s: the page does not read %s:\n%s\n%s", sh.Name, want, page, pagePlan)
		}
		if bound, ok := s.BoundSQL(&sh.Query); ok && sh.Scope != "all" {
			t.Errorf("%s: a BoundPlan of one owner's or resource's list", sh.Name)
		} else if ok {
			checkBoundPlans(t, tx, sh, bound)
		}
		switch {
		case slices.Contains(listshape.Counted, sh.Filter) && strings.Contains(countPlan, " on tokens"):
			t.Errorf("%s: the count reads tokens, not the counters:\n%s\n%s", sh.Name, count, countPlan)
		case slices.Contains(listshape.TimeBounds, sh.Filter) && strings.Contains(countPlan, "Seq Scan on tokens"):
			t.Errorf("%s: the count reads the table:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Scope == "all" && strings.HasPrefix(sh.Filter, "created-") &&
			(!strings.Contains(countPlan, " on token_counts") || !strings.Contains(countPlan, "Seq Scan on token_zones")):
			t.Errorf("%s: the count does not read the counters and the zones first:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Scope == "all" && strings.HasPrefix(sh.Filter, "last-used-") &&
			(!strings.Contains(countPlan, " on token_counts") || !strings.Contains(countPlan, " on token_use_counts")):
			t.Errorf("%s: the count does not read the counters and the use counts first:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Search && sh.Scope != "all" && sh.Scope != "impersonation" &&
			!regexp.MustCompile(`Index Only Scan using tokens_(user|resource)_name_idx on tokens\n(.*\n)*\s*Filter: .*name_folded ~~ `).MatchString(countPlan):
			t.Errorf("%s: the count does not test the folded names of the scope's index of names:\n%s\n%s", sh.Name, count, countPlan)
		case sh.Scope == "impersonation" && strings.Contains(countPlan, " on tokens") &&
			!strings.Contains(countPlan, "using tokens_user_impersonation_idx on tokens"):
			t.Errorf("%s: the count walks more than the owner's impersonation tokens:\n%s\n%s", sh.Name, count, countPlan)
		}
	}
}

// checkBoundPlans checks the plans of the queries of the BoundPlan of
// shape sh (a bound on one time of all tokens, against an order by
// another): Near reads the first entries of the index of the order, and
// does not sort them; Range reads the range of the bound's index; the
// Probe counts that range from the index, or from the counters for an
// expiry bound. None reads the table sequentially.
func checkBoundPlans(t *testing.T, tx pgx.Tx, sh listshape.Shape, p *sqlq.BoundPlan) {
	t.Helper()
	if p.ByDay {
		checkByDayPlan(t, tx, sh, p)
		return
	}
	near := explainPlan(t, tx, p.Near, p.NearArgs)
	probe := explainPlan(t, tx, p.Probe, p.ProbeArgs)
	rng := explainPlan(t, tx, p.Range, p.RangeArgs)
	bound := map[string]string{
		"created-after": "tokens_created_idx", "created-before": "tokens_created_idx",
		"last-used-after": "tokens_last_used_idx", "last-used-before": "tokens_last_used_idx",
		"expires-after": "tokens_expiry_idx", "expires-before": "tokens_expiry_idx",
	}[sh.Filter]
	if !regexp.MustCompile(`Limit\n(.*\n)*\s*->  Index (Only )?Scan( Backward)? using `+pageIndex(sh)+` on tokens\n`).MatchString(near) ||
		strings.Contains(near, "Sort") {
		t.Errorf("%s: Near does not read the first entries of %s:\n%s\n%s", sh.Name, pageIndex(sh), p.Near, near)
	}
	if !regexp.MustCompile(`Index (Only )?Scan using ` + bound + ` on tokens\n\s*Index Cond: `).MatchString(rng) {
		t.Errorf("%s: Range does not read the range of %s:\n%s\n%s", sh.Name, bound, p.Range, rng)
	}
	switch {
	case strings.HasPrefix(sh.Filter, "expires-") && strings.Contains(probe, " on tokens"):
		t.Errorf("%s: the Probe reads tokens, not the counters:\n%s\n%s", sh.Name, p.Probe, probe)
	case !strings.HasPrefix(sh.Filter, "expires-") && !strings.Contains(probe, "using "+bound+" on tokens"):
		t.Errorf("%s: the Probe does not count the range of %s:\n%s\n%s", sh.Name, bound, p.Probe, probe)
	}
	// The zones are read whole: about 1,000 rows at 1,000,000 tokens.
	for name, plan := range map[string]string{"Near": near, "Probe": probe, "Range": rng} {
		if strings.Contains(plan, "Seq Scan on tokens") {
			t.Errorf("%s: %s reads the table sequentially:\n%s", sh.Name, name, plan)
		}
	}
}

// checkByDayPlan checks the plan of a BoundPlan that reads the tokens
// used after a time day by day (shape sh, a list of the last week's):
// each of the eight days is an index-only scan of its day in the index of
// recent use of the order, and the tokens used after today a range of
// tokens_last_used_idx; nothing reads the table sequentially.
func checkByDayPlan(t *testing.T, tx pgx.Tx, sh listshape.Shape, p *sqlq.BoundPlan) {
	t.Helper()
	plan := explainPlan(t, tx, p.Near, p.NearArgs)
	index := "tokens_used_day" + strings.TrimSuffix(strings.TrimPrefix(pageIndex(sh), "tokens"), "_idx") + "_idx"
	index = strings.Replace(index, "_pkey", "", 1)
	days := regexp.MustCompile(`Index Only Scan( Backward)? using `+index+` on tokens( \w+)?\n\s*Index Cond: `).FindAllString(plan, -1)
	if len(days) != 8 || !strings.Contains(plan, "using tokens_last_used_idx on tokens") || strings.Contains(plan, "Seq Scan on tokens") {
		t.Errorf("%s: the page does not read 8 days of %s and the range of tokens_last_used_idx after them:\n%s\n%s", sh.Name, index, p.Near, plan)
	}
}

// explainScoped returns the plan of sql, a page of one owner's or
// resource's tokens, as explainPlan does but without the indexes of all
// tokens. On this small table without statistics the planner costs a
// walk of the scope's index for the page and one of the index of all
// tokens on the same key, filtered on the scope, alike, and takes the one
// it lists first, the newest: since migration 0014 built them again, the
// indexes of all tokens. Where statistics decide it takes the scope's
// index (an owner's pages bounded on each time, at 1,000,000 tokens).
func explainScoped(t *testing.T, tx pgx.Tx, schema, sql string, args []any) string {
	t.Helper()
	ctx := t.Context()
	if _, err := tx.Exec(ctx, "SAVEPOINT scoped"); err != nil {
		t.Fatal(err)
	}
	for _, name := range allTokenIndexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{schema, name}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	plan := explainPlan(t, tx, sql, args)
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT scoped"); err != nil {
		t.Fatal(err)
	}
	return plan
}

// pageIndex returns the index whose order serves a page of sh: the one of
// its scope and sort key; one owner's impersonation tokens have a partial
// index of their own.
func pageIndex(sh listshape.Shape) string {
	if sh.Scope == "impersonation" {
		return "tokens_user_impersonation_idx" // listed by id only
	}
	scope := ""
	switch sh.Scope {
	case "user", "admin-user":
		scope = "_user"
	case "project":
		scope = "_resource"
	}
	switch sh.Sort {
	case patkit.SortCreatedAsc, patkit.SortCreatedDesc:
		return "tokens" + scope + "_created_idx"
	case patkit.SortExpiresAsc, patkit.SortExpiresDesc:
		return "tokens" + scope + "_expiry_idx"
	case patkit.SortLastUsedAsc, patkit.SortLastUsedDesc:
		return "tokens" + scope + "_last_used_idx"
	case patkit.SortNameAsc, patkit.SortNameDesc:
		return "tokens" + scope + "_name_idx"
	}
	switch scope {
	case "_user":
		return "tokens_user_idx"
	case "_resource":
		return "tokens_resource_id_idx"
	}
	return "tokens_pkey"
}

// explainPlan returns the plan of sql run with args, without running it.
func explainPlan(t *testing.T, tx pgx.Tx, sql string, args []any) string {
	t.Helper()
	rows, err := tx.Query(t.Context(), "EXPLAIN (COSTS off) "+sql, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}

// TestBoundEstimate checks the estimate that a BoundPlan's Probe of a
// creation or last-use bound gets on PostgreSQL: the planner's count of
// the range, from the table's statistics, near the count the Probe would
// walk (within a tenth on 3,000 tokens just analyzed), and never above
// its cap.
func TestBoundEstimate(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	start := time.Now().Add(-1000 * time.Hour)
	for i := range 3000 {
		tok := token(fmt.Sprintf("token %d", i))
		tok.CreatedAt = start.Add(time.Duration(i) * 20 * time.Minute)
		if i%3 != 0 {
			tok.LastUsedAt = start.Add(time.Duration(i%1000) * time.Hour)
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := newPool(t).Exec(ctx, "ANALYZE "+pgx.Identifier{schema, "tokens"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tt := range []struct {
		name string
		f    patkit.Filter
		cap  int
	}{
		{"CreatedAfter", patkit.Filter{CreatedAfter: start.Add(700 * time.Hour)}, 0},
		{"CreatedBefore", patkit.Filter{CreatedBefore: start.Add(200 * time.Hour), Sort: patkit.SortExpiresDesc}, 0},
		// Older than sqlq.RecentDays: the last month's are read day by day.
		{"LastUsedAfter", patkit.Filter{LastUsedAfter: start.Add(100 * time.Hour)}, 0},
		{"Capped", patkit.Filter{CreatedAfter: start}, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := patkit.Query{Filter: tt.f, Now: now}
			q.Normalize()
			s.SetBudgets(sqlq.Budgets{RangeMax: tt.cap})
			p, ok := s.BoundSQL(&q)
			if !ok || p.Counted {
				t.Fatalf("BoundSQL = %v, counted %v: want a Probe that walks the range", ok, ok && p.Counted)
			}
			var exact int
			if err := newPool(t).QueryRow(ctx, p.Probe, p.ProbeArgs...).Scan(&exact); err != nil {
				t.Fatal(err)
			}
			got, err := s.Estimate(ctx, p.Probe, p.ProbeArgs)
			if err != nil {
				t.Fatal(err)
			}
			if d := got - exact; d*10 > exact || -d*10 > exact {
				t.Errorf("estimate %d, count %d: off by more than a tenth", got, exact)
			}
			if tt.cap > 0 && got > tt.cap+1 {
				t.Errorf("estimate %d above the cap %d+1", got, tt.cap)
			}
		})
	}
}
