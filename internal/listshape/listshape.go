// Package listshape enumerates the shapes of Store.List queries that the
// SQL stores' plan tests and the benchmark command check: every scope, sort
// and filter a caller of the Service can send.
package listshape

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// Scope is the set of tokens a list is restricted to, as the Service sets
// it.
type Scope struct {
	Name string
	// Set sets the scope's fields of q.
	Set func(q *patkit.Query)
}

// Shape is one query: a scope, a filter and a sort.
type Shape struct {
	Name  string
	Scope string
	// Filter names the filter, "" for none.
	Filter string
	Sort   patkit.Sort
	Query  patkit.Query
	// Search is true for a search by words, which no B-tree index serves.
	Search bool
}

// Scopes returns the scopes of the Service's lists: an administrator's view
// of all tokens; one user's own personal tokens (user, not impersonation);
// an administrator's view of one user's tokens; one user's impersonation
// tokens; one project's access tokens.
func Scopes(userID, projectID int64) []Scope {
	no, yes := false, true
	return []Scope{
		{"all", func(*patkit.Query) {}},
		{"user", func(q *patkit.Query) { q.UserID, q.Impersonation = userID, &no }},
		{"admin-user", func(q *patkit.Query) { q.UserID = userID }},
		{"impersonation", func(q *patkit.Query) { q.UserID, q.Impersonation = userID, &yes }},
		{"project", func(q *patkit.Query) {
			q.ResourceType, q.ResourceID, q.Impersonation = patkit.ResourceProject, projectID, &no
		}},
	}
}

// Sorts are every sort of a list, SortDefault first.
var Sorts = []patkit.Sort{
	patkit.SortDefault,
	patkit.SortCreatedAsc, patkit.SortCreatedDesc,
	patkit.SortExpiresAsc, patkit.SortExpiresDesc,
	patkit.SortLastUsedAsc, patkit.SortLastUsedDesc,
	patkit.SortNameAsc, patkit.SortNameDesc,
}

// Counted names the Filters whose counts the SQL stores read from their
// counters (see sqlq.Dialect.Count): the scope, a state, revocation and
// an expiry bound. TimeBounds names those the counters do not answer and
// that depend on the time of the query: bounds on creation and last use.
var (
	Counted    = []string{"none", "active", "inactive", "not-revoked", "revoked", "active-page-3", "expires-before", "expires-after"}
	TimeBounds = []string{"created-after", "created-before", "last-used-after", "last-used-before"}
)

// Filters returns the filters of a list, relative to now: none, each
// state, each value of revoked, each time bound, and searches.
func Filters(now time.Time) []struct {
	Name   string
	Filter patkit.Filter
} {
	no, yes := false, true
	day := 24 * time.Hour
	return []struct {
		Name   string
		Filter patkit.Filter
	}{
		{"none", patkit.Filter{}},
		{"active", patkit.Filter{State: patkit.StateActive}},
		{"inactive", patkit.Filter{State: patkit.StateInactive}},
		{"not-revoked", patkit.Filter{Revoked: &no}},
		{"revoked", patkit.Filter{Revoked: &yes}},
		{"active-page-3", patkit.Filter{State: patkit.StateActive, Page: 3}},
		{"created-after", patkit.Filter{CreatedAfter: now.Add(-90 * day)}},
		{"created-before", patkit.Filter{CreatedBefore: now.Add(-600 * day)}},
		{"last-used-after", patkit.Filter{LastUsedAfter: now.Add(-7 * day)}},
		{"last-used-before", patkit.Filter{LastUsedBefore: now.Add(-365 * day)}},
		{"expires-before", patkit.Filter{ExpiresBefore: now.Add(30 * day)}},
		{"expires-after", patkit.Filter{ExpiresAfter: now.Add(180 * day)}},
		{"search-exact", patkit.Filter{Search: "ab"}},
		{"search-word", patkit.Filter{Search: "deploy"}},
		{"search-rare", patkit.Filter{Search: "12345"}},
	}
}

// All returns every scope × filter × sort, normalized as the Service
// normalizes a Query, with Now set to now.
func All(userID, projectID int64, now time.Time) []Shape {
	var shapes []Shape
	for _, sc := range Scopes(userID, projectID) {
		for _, f := range Filters(now) {
			for _, s := range Sorts {
				if sc.Name == "impersonation" && s != patkit.SortDefault {
					continue // impersonation tokens are listed in the default order only
				}
				q := patkit.Query{Filter: f.Filter, Now: now}
				q.Sort = s
				sc.Set(&q)
				q.Normalize()
				name := string(s)
				if name == "" {
					name = "default"
				}
				shapes = append(shapes, Shape{
					Name:   sc.Name + "/" + f.Name + "/" + name,
					Scope:  sc.Name,
					Filter: f.Name,
					Sort:   s,
					Query:  q,
					Search: f.Filter.Search != "" && len(q.Terms().Words) > 0,
				})
			}
		}
	}
	return shapes
}

// Tokens returns every token of s, read through List in pages of 100.
func Tokens(t testing.TB, s patkit.Store) []*patkit.Token {
	t.Helper()
	var all []*patkit.Token
	for page := 1; ; page++ {
		q := patkit.Query{Filter: patkit.Filter{Page: page, PerPage: 100}}
		q.Normalize()
		toks, _, err := s.List(t.Context(), &q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, toks...)
		if len(toks) < 100 {
			return all
		}
	}
}

// CheckPages checks the first pages of 20 that s lists for shape sh
// against those Query.Match and Sort.Compare give over all, every token
// of s. label names the case in failures.
func CheckPages(t testing.TB, s patkit.Store, sh Shape, all []*patkit.Token, pages int, label string) {
	t.Helper()
	q := sh.Query
	q.PerPage = 20
	var match []*patkit.Token
	for _, tok := range all {
		if q.Match(tok) {
			match = append(match, tok)
		}
	}
	slices.SortFunc(match, q.Sort.Compare)
	for page := 1; page <= pages; page++ {
		q.Page = page
		toks, _, err := s.List(t.Context(), &q)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []int64
		for _, tok := range toks {
			got = append(got, tok.ID)
		}
		for _, tok := range match[min((page-1)*20, len(match)):min(page*20, len(match))] {
			want = append(want, tok.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s, %s, page %d: %v, want %v", label, sh.Name, page, got, want)
		}
	}
}

// CheckAll checks the first two pages of every list of all tokens but
// the searches by words (those of BoundPlans among them), as of now, with
// the default budgets and with those that always walk (set by setBudgets
// in turn), against CheckPages' pages. (The bound's range, which reads no
// zones, the conformance suite checks with budgets that always read it.)
func CheckAll(t testing.TB, s patkit.Store, setBudgets func(sqlq.Budgets), now time.Time) {
	t.Helper()
	all := Tokens(t, s)
	for _, b := range []sqlq.Budgets{{}, {NearEntries: 1, RangeMax: -1}} {
		setBudgets(b)
		for _, sh := range All(1, 1, now) {
			if sh.Scope == "all" && !sh.Search {
				CheckPages(t, s, sh, all, 2, fmt.Sprintf("%+v", b))
			}
		}
	}
}

// BenchFirstPage benchmarks the shape of benchtable's http-list rows on s,
// which holds n tokens: an administrator's first page of 20 of every
// token, normalized as the Service does, and fails unless the page holds
// 20 tokens of n.
func BenchFirstPage(b *testing.B, s patkit.Store, n int) {
	q := patkit.Query{Filter: patkit.Filter{PerPage: 20}}
	q.Normalize()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		q := q
		got, total, err := s.List(ctx, &q)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 20 || total != n {
			b.Fatalf("got %d tokens of %d, want 20 of %d", len(got), total, n)
		}
	}
}
