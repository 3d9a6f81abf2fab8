package storetest

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

// fixture is a set of stored tokens known by label.
type fixture struct {
	tokens map[string]*patkit.Token // label → token as stored
	labels map[int64]string         // ID → label
}

func newFixture() *fixture {
	return &fixture{tokens: map[string]*patkit.Token{}, labels: map[int64]string{}}
}

func (f *fixture) add(t *testing.T, s patkit.Store, label string, tok *patkit.Token) *patkit.Token {
	t.Helper()
	if tok.Digest == nil {
		tok.Digest = digest(label)
	}
	stored := create(t, s, tok)
	f.tokens[label] = stored
	f.labels[stored.ID] = label
	return stored
}

// labelsOf maps listed tokens to their labels.
func (f *fixture) labelsOf(toks []*patkit.Token) []string {
	out := make([]string, len(toks))
	for i, tok := range toks {
		if tok == nil {
			out[i] = "<nil>"
			continue
		}
		l, ok := f.labels[tok.ID]
		if !ok {
			l = fmt.Sprintf("<unknown ID %d>", tok.ID)
		}
		out[i] = l
	}
	return out
}

// list normalizes q, as the Service does, with 100 tokens a page unless q
// says otherwise, lists it and returns the labels of the page and the
// total.
func (f *fixture) list(t *testing.T, s patkit.Store, q patkit.Query) ([]string, int) {
	t.Helper()
	if q.PerPage == 0 {
		q.PerPage = 100
	}
	q.Normalize()
	got, total, err := s.List(ctx(t), &q)
	if err != nil {
		t.Fatalf("List(%+v): %v", q, err)
	}
	return f.labelsOf(got), total
}

// The list fixture. now is the Query.Now of the state filters; "gamma"
// expires exactly at now, which makes it inactive.
var (
	listNow = time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)
	used0   = time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC).Add(250 * time.Microsecond)
)

// created(h) is h hours after base; used(n), the n-th of the last uses,
// seven hours apart, so that they fall on three days of UTC (a store may
// read a list of the tokens used after a time day by day).
func created(h int) time.Time    { return base.Add(time.Duration(h) * time.Hour) }
func used(n int) time.Time       { return used0.Add(time.Duration(n) * 7 * time.Hour) }
func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

// seedList creates the tokens of the list tests, in label order T1..T8:
//
//	     name               user imp  resource   created expires     last used revoked previous
//	T1   alpha api          1    no   -          c1      2025-07-01  u3        no      -
//	T2   beta ci token      1    no   -          c2      never       never     no      -
//	T3   gamma deploy       2    yes  -          c3      2025-06-15  u1        no      -
//	T4   delta project bot  10   no   project 100 c3     2025-07-01  u3        no      -
//	T5   epsilon group bot  11   no   group 200  c5      2025-08-01  never     yes     -
//	T6   zeta rotated       1    no   -          c6      never       u2        yes     T1
//	T7   eta project other  12   no   project 101 c0     2025-05-01  u5        no      -
//	T8   alpha api          3    no   -          c7      2025-06-16  u4        no      -
func seedList(t *testing.T, s patkit.Store) *fixture {
	t.Helper()
	f := newFixture()
	tok := func(name string, user int64, c int, exp, lu time.Time) *patkit.Token {
		return &patkit.Token{
			UserID:     user,
			Name:       name,
			Scopes:     []patkit.Scope{patkit.ScopeReadAPI},
			CreatedAt:  created(c),
			ExpiresAt:  exp,
			LastUsedAt: lu,
		}
	}
	never := time.Time{}
	f.add(t, s, "T1", tok("alpha api", 1, 1, date(2025, 7, 1), used(3)))
	f.add(t, s, "T2", tok("beta ci token", 1, 2, never, never))
	t3 := tok("gamma deploy", 2, 3, date(2025, 6, 15), used(1))
	t3.Impersonation = true
	f.add(t, s, "T3", t3)
	t4 := tok("delta project bot", 10, 3, date(2025, 7, 1), used(3))
	t4.ResourceType, t4.ResourceID, t4.AccessLevel = patkit.ResourceProject, 100, patkit.Maintainer
	f.add(t, s, "T4", t4)
	t5 := tok("epsilon group bot", 11, 5, date(2025, 8, 1), never)
	t5.ResourceType, t5.ResourceID, t5.AccessLevel = patkit.ResourceGroup, 200, patkit.Developer
	t5.Revoked = true
	f.add(t, s, "T5", t5)
	t6 := tok("zeta rotated", 1, 6, never, used(2))
	t6.Revoked = true
	t6.PreviousID = f.tokens["T1"].ID
	f.add(t, s, "T6", t6)
	t7 := tok("eta project other", 12, 0, date(2025, 5, 1), used(5))
	t7.ResourceType, t7.ResourceID, t7.AccessLevel = patkit.ResourceProject, 101, patkit.Guest
	f.add(t, s, "T7", t7)
	f.add(t, s, "T8", tok("alpha api", 3, 7, date(2025, 6, 16), used(4)))
	return f
}

func testListFilters(t *testing.T, s patkit.Store) {
	f := seedList(t, s)

	// List returns complete tokens, the same as Get.
	t.Run("CompleteTokens", func(t *testing.T) {
		got, total := listAll(t, s)
		want := []*patkit.Token{f.tokens["T1"], f.tokens["T2"], f.tokens["T3"], f.tokens["T4"],
			f.tokens["T5"], f.tokens["T6"], f.tokens["T7"], f.tokens["T8"]}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("List(all) mismatch (-want +got):\n%s", diff)
		}
		if total != len(want) {
			t.Errorf("List(all) total = %d, want %d", total, len(want))
		}
	})

	type Q = patkit.Query
	type F = patkit.Filter
	tests := []struct {
		name string
		q    Q
		want []string
	}{
		{"All", Q{}, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}},
		{"UserID", Q{UserID: 1}, []string{"T1", "T2", "T6"}},
		{"UserIDNone", Q{UserID: 99}, []string{}},
		{"ImpersonationTrue", Q{Impersonation: new(true)}, []string{"T3"}},
		{"ImpersonationFalse", Q{Impersonation: new(false)}, []string{"T1", "T2", "T4", "T5", "T6", "T7", "T8"}},
		{"Project100", Q{ResourceType: patkit.ResourceProject, ResourceID: 100}, []string{"T4"}},
		{"Project101", Q{ResourceType: patkit.ResourceProject, ResourceID: 101}, []string{"T7"}},
		{"Group200", Q{ResourceType: patkit.ResourceGroup, ResourceID: 200}, []string{"T5"}},
		{"ProjectWithGroupID", Q{ResourceType: patkit.ResourceProject, ResourceID: 200}, []string{}},
		{"GroupWithProjectID", Q{ResourceType: patkit.ResourceGroup, ResourceID: 100}, []string{}},
		{"PreviousID", Q{PreviousID: f.tokens["T1"].ID}, []string{"T6"}},
		{"PreviousIDNone", Q{PreviousID: f.tokens["T2"].ID}, []string{}},
		{"RevokedTrue", Q{Filter: F{Revoked: new(true)}}, []string{"T5", "T6"}},
		{"RevokedFalse", Q{Filter: F{Revoked: new(false)}}, []string{"T1", "T2", "T3", "T4", "T7", "T8"}},
		{"StateActive", Q{Filter: F{State: patkit.StateActive}, Now: listNow}, []string{"T1", "T2", "T4", "T8"}},
		{"StateInactive", Q{Filter: F{State: patkit.StateInactive}, Now: listNow}, []string{"T3", "T5", "T6", "T7"}},
		{"StateActiveLater", Q{Filter: F{State: patkit.StateActive}, Now: date(2025, 7, 1)}, []string{"T2"}},
		{"StateInactiveEarlier", Q{Filter: F{State: patkit.StateInactive}, Now: date(2025, 1, 1)}, []string{"T5", "T6"}},
		{"StateActiveNonUTCNow", Q{Filter: F{State: patkit.StateActive}, Now: listNow.In(time.FixedZone("UTC+2", 2*3600)).Add(-time.Microsecond)}, []string{"T1", "T2", "T3", "T4", "T8"}},
		{"CreatedBefore", Q{Filter: F{CreatedBefore: created(3)}}, []string{"T1", "T2", "T3", "T4", "T7"}},
		{"CreatedAfter", Q{Filter: F{CreatedAfter: created(3)}}, []string{"T3", "T4", "T5", "T6", "T8"}},
		{"CreatedBetween", Q{Filter: F{CreatedAfter: created(3), CreatedBefore: created(3)}}, []string{"T3", "T4"}},
		{"CreatedBeforeMicrosecond", Q{Filter: F{CreatedBefore: created(3).Add(-time.Microsecond)}}, []string{"T1", "T2", "T7"}},
		{"CreatedAfterMicrosecond", Q{Filter: F{CreatedAfter: created(3).Add(time.Microsecond)}}, []string{"T5", "T6", "T8"}},
		{"LastUsedBefore", Q{Filter: F{LastUsedBefore: used(3)}}, []string{"T1", "T3", "T4", "T6"}},
		{"LastUsedAfter", Q{Filter: F{LastUsedAfter: used(3)}}, []string{"T1", "T4", "T7", "T8"}},
		{"LastUsedAfterAll", Q{Filter: F{LastUsedAfter: date(2000, 1, 1)}}, []string{"T1", "T3", "T4", "T6", "T7", "T8"}},
		{"LastUsedBeforeAll", Q{Filter: F{LastUsedBefore: date(2100, 1, 1)}}, []string{"T1", "T3", "T4", "T6", "T7", "T8"}},
		{"LastUsedBetween", Q{Filter: F{LastUsedAfter: used(2), LastUsedBefore: used(4)}}, []string{"T1", "T4", "T6", "T8"}},
		{"ExpiresBefore", Q{Filter: F{ExpiresBefore: date(2025, 7, 1)}}, []string{"T3", "T7", "T8"}},
		{"ExpiresAfter", Q{Filter: F{ExpiresAfter: date(2025, 7, 1)}}, []string{"T1", "T4", "T5"}},
		{"ExpiresAfterAll", Q{Filter: F{ExpiresAfter: date(2000, 1, 1)}}, []string{"T1", "T3", "T4", "T5", "T7", "T8"}},
		{"ExpiresBeforeAll", Q{Filter: F{ExpiresBefore: date(2100, 1, 1)}}, []string{"T1", "T3", "T4", "T5", "T7", "T8"}},
		{"ExpiresBetween", Q{Filter: F{ExpiresAfter: date(2025, 6, 15), ExpiresBefore: date(2025, 8, 1)}}, []string{"T1", "T3", "T4", "T8"}},
		{"Search", Q{Filter: F{Search: "alpha"}}, []string{"T1", "T8"}},
		{"UserAndRevoked", Q{UserID: 1, Filter: F{Revoked: new(false)}}, []string{"T1", "T2"}},
		{"ProjectLastUsedExpires", Q{ResourceType: patkit.ResourceProject, ResourceID: 100, Filter: F{LastUsedAfter: used(3), ExpiresAfter: date(2025, 7, 1)}}, []string{"T4"}},
		{"UserSearchSort", Q{UserID: 1, Filter: F{Search: "a", Sort: patkit.SortCreatedDesc}}, []string{}},
		{"ImpersonationFalseNameDesc", Q{Impersonation: new(false), Filter: F{Search: "bot", Sort: patkit.SortNameDesc}}, []string{"T5", "T4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := f.list(t, s, tt.q)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("List mismatch (-want +got):\n%s", diff)
			}
			if total != len(tt.want) {
				t.Errorf("List total = %d, want %d", total, len(tt.want))
			}
		})
	}

	// Every filter alone, on its bounds and combined, against its
	// definition, Query.Match. Last: it adds tokens to the fixture.
	t.Run("Reference", func(t *testing.T) {
		seedVaried(t, s, f)
		checkReference(t, s, f, filterQueries(f))
	})
}

func testListSort(t *testing.T, s patkit.Store) {
	f := seedList(t, s)
	tests := []struct {
		sort patkit.Sort
		want []string
	}{
		{patkit.SortDefault, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}},
		{patkit.SortCreatedAsc, []string{"T7", "T1", "T2", "T3", "T4", "T5", "T6", "T8"}},
		{patkit.SortCreatedDesc, []string{"T8", "T6", "T5", "T4", "T3", "T2", "T1", "T7"}},
		// Never-expiring tokens (NULL) sort last ascending, first descending.
		{patkit.SortExpiresAsc, []string{"T7", "T3", "T8", "T1", "T4", "T5", "T2", "T6"}},
		{patkit.SortExpiresDesc, []string{"T6", "T2", "T5", "T4", "T1", "T8", "T3", "T7"}},
		// Never-used tokens (NULL) sort last ascending, first descending.
		{patkit.SortLastUsedAsc, []string{"T3", "T6", "T1", "T4", "T8", "T7", "T2", "T5"}},
		{patkit.SortLastUsedDesc, []string{"T5", "T2", "T7", "T8", "T4", "T1", "T6", "T3"}},
		{patkit.SortNameAsc, []string{"T1", "T8", "T2", "T4", "T5", "T7", "T3", "T6"}},
		{patkit.SortNameDesc, []string{"T6", "T3", "T7", "T5", "T4", "T2", "T8", "T1"}},
	}
	for _, tt := range tests {
		name := string(tt.sort)
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			got, total := f.list(t, s, patkit.Query{Filter: patkit.Filter{Sort: tt.sort}})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(sort %q) order mismatch (-want +got):\n%s", tt.sort, diff)
			}
			if total != len(tt.want) {
				t.Errorf("List(sort %q) total = %d, want %d", tt.sort, total, len(tt.want))
			}
			// The sort applies before pagination.
			var paged []string
			for page := 1; page <= 3; page++ {
				got, total := f.list(t, s, patkit.Query{Filter: patkit.Filter{Sort: tt.sort, Page: page, PerPage: 3}})
				if total != len(tt.want) {
					t.Errorf("List(sort %q, page %d of 3) total = %d, want %d", tt.sort, page, total, len(tt.want))
				}
				paged = append(paged, got...)
			}
			if diff := cmp.Diff(tt.want, paged); diff != "" {
				t.Errorf("List(sort %q) pages of 3 mismatch (-want +got):\n%s", tt.sort, diff)
			}
		})
	}

	// Every sort, page by page, against its definition, Sort.Compare, on
	// a fixture full of ties. Last: it adds tokens to the fixture.
	t.Run("Reference", func(t *testing.T) {
		seedVaried(t, s, f)
		checkReference(t, s, f, sortQueries(f))
	})
}

func testListPagination(t *testing.T, s patkit.Store) {
	f := seedList(t, s)
	type F = patkit.Filter
	tests := []struct {
		name      string
		q         patkit.Query
		want      []string
		wantTotal int
	}{
		{"FirstPage", patkit.Query{Filter: F{Page: 1, PerPage: 3}}, []string{"T1", "T2", "T3"}, 8},
		{"SecondPage", patkit.Query{Filter: F{Page: 2, PerPage: 3}}, []string{"T4", "T5", "T6"}, 8},
		{"LastPartialPage", patkit.Query{Filter: F{Page: 3, PerPage: 3}}, []string{"T7", "T8"}, 8},
		{"PastTheEnd", patkit.Query{Filter: F{Page: 4, PerPage: 3}}, []string{}, 8},
		{"FarPastTheEnd", patkit.Query{Filter: F{Page: 1000, PerPage: 100}}, []string{}, 8},
		{"OnePerPage", patkit.Query{Filter: F{Page: 8, PerPage: 1}}, []string{"T8"}, 8},
		{"ExactlyFull", patkit.Query{Filter: F{Page: 1, PerPage: 8}}, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}, 8},
		{"Filtered", patkit.Query{UserID: 1, Filter: F{Page: 2, PerPage: 2}}, []string{"T6"}, 3},
		{"FilteredPastTheEnd", patkit.Query{UserID: 1, Filter: F{Page: 3, PerPage: 2}}, []string{}, 3},
		{"Sorted", patkit.Query{Filter: F{Sort: patkit.SortCreatedDesc, Page: 2, PerPage: 3}}, []string{"T4", "T3", "T2"}, 8},
		{"NoMatch", patkit.Query{UserID: 99, Filter: F{Page: 1, PerPage: 20}}, []string{}, 0},
		// The largest page is empty and still counts the matches: its
		// offset, (patkit.MaxPage-1)*100, overflows 32 bits.
		{"MaxPage", patkit.Query{Filter: F{Page: patkit.MaxPage, PerPage: 100}}, []string{}, 8},
		{"MaxPageOnePerPage", patkit.Query{Filter: F{Page: patkit.MaxPage, PerPage: 1}}, []string{}, 8},
		{"MaxPageFiltered", patkit.Query{UserID: 1, Filter: F{Page: patkit.MaxPage, PerPage: 100}}, []string{}, 3},
		{"MaxPageSorted", patkit.Query{Filter: F{Sort: patkit.SortNameDesc, Page: patkit.MaxPage, PerPage: 100}}, []string{}, 8},
		// Normalize lowers it to patkit.MaxPage.
		{"MaxIntPage", patkit.Query{Filter: F{Page: math.MaxInt, PerPage: 100}}, []string{}, 8},
		// Normalize raises it to 1.
		{"ZeroPage", patkit.Query{Filter: F{Page: 0, PerPage: 3}}, []string{"T1", "T2", "T3"}, 8},
		{"NegativePage", patkit.Query{Filter: F{Page: -1, PerPage: 3}}, []string{"T1", "T2", "T3"}, 8},
		// Normalize makes them 20 and 100.
		{"NegativePerPage", patkit.Query{Filter: F{Page: 1, PerPage: -1}}, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}, 8},
		{"PerPageAbove100", patkit.Query{Filter: F{Page: 1, PerPage: 1000}}, []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := f.list(t, s, tt.q)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("List(page %d, per page %d) mismatch (-want +got):\n%s", tt.q.Page, tt.q.PerPage, diff)
			}
			if total != tt.wantTotal {
				t.Errorf("List(page %d, per page %d) total = %d, want %d", tt.q.Page, tt.q.PerPage, total, tt.wantTotal)
			}
		})
	}

	// Every kind of page, under a few filters and sorts, against the
	// definition. Last: it adds tokens to the fixture.
	t.Run("Reference", func(t *testing.T) {
		seedVaried(t, s, f)
		checkReference(t, s, f, pageQueries())
	})
}

func testListSearch(t *testing.T, s patkit.Store) {
	f := newFixture()
	names := []string{
		"Deploy Production Key", // S1
		"deploy staging",        // S2
		"production",            // S3
		"ab",                    // S4
		"AB cd",                 // S5
		"100% coverage",         // S6
		"1000 coverage",         // S7
		"a_c token",             // S8
		"abc token",             // S9
		"prod deploy key",       // S10
		`back\slash dir`,        // S11
		"backslash dir",         // S12
	}
	for i, name := range names {
		f.add(t, s, fmt.Sprintf("S%d", i+1), &patkit.Token{UserID: 1, Name: name, CreatedAt: created(i)})
	}
	all := make([]string, len(names))
	for i := range names {
		all[i] = fmt.Sprintf("S%d", i+1)
	}
	tests := []struct {
		search string
		want   []string
	}{
		{"", all},
		{"   ", all},
		{"deploy", []string{"S1", "S2", "S10"}},
		{"DePlOy", []string{"S1", "S2", "S10"}},
		{"ploy", []string{"S1", "S2", "S10"}},
		{"deploy key", []string{"S1", "S10"}},
		{"  deploy    key  ", []string{"S1", "S10"}},
		{"DEPLOY production", []string{"S1"}},
		{"key deploy", []string{"S1", "S10"}},
		{`"deploy key"`, []string{"S10"}},
		{`"production key"`, []string{"S1"}},
		{`"deploy production"`, []string{"S1"}},
		{`"key deploy"`, []string{}},
		{`"deploy key" prod`, []string{"S10"}},
		{"ab deploy", []string{"S1", "S2", "S10"}}, // "ab" is too short to count
		{"xyz", []string{}},
		{"deploy xyz", []string{}},
		// No word of 3 characters: the whole query must equal the name.
		{"ab", []string{"S4"}},
		{"AB", []string{"S4"}},
		{"ab cd", []string{"S5"}},
		{"  ab   CD ", []string{"S5"}},
		{"a", []string{}},
		{"cd", []string{}},
		// Wildcards of LIKE match themselves.
		{"100%", []string{"S6"}},
		{"00%", []string{"S6"}},
		{"a_c", []string{"S8"}},
		{"%%%", []string{}},
		{"___", []string{}},
		{"%_%", []string{}},
		{`k\s`, []string{"S11"}},
		{`\\\`, []string{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.search), func(t *testing.T) {
			got, total := f.list(t, s, patkit.Query{Filter: patkit.Filter{Search: tt.search}})
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("List(search %q) mismatch (-want +got):\n%s", tt.search, diff)
			}
			if total != len(tt.want) {
				t.Errorf("List(search %q) total = %d, want %d", tt.search, total, len(tt.want))
			}
			// The expectations follow patkit.ParseSearch.
			var model []string
			terms := patkit.ParseSearch(tt.search)
			for i, name := range names {
				if terms.Match(name) {
					model = append(model, fmt.Sprintf("S%d", i+1))
				}
			}
			if diff := cmp.Diff(tt.want, model, cmpOpts); diff != "" {
				t.Errorf("suite bug: expectation differs from patkit.ParseSearch (-want +ParseSearch):\n%s", diff)
			}
		})
	}
}

// countTokens is the size of the count test: one more than patkit.MaxCount.
const countTokens = patkit.MaxCount + 1

func testListCount(t *testing.T, s patkit.Store) {
	// Create the tokens from a few goroutines: a store over a network
	// database is much faster so. The last token belongs to user 2, the
	// others to user 1, so that user 1 has exactly MaxCount tokens.
	const workers = 8
	work := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range work {
				user := int64(1)
				if i == countTokens-1 {
					user = 2
				}
				tok := &patkit.Token{
					UserID:    user,
					Name:      fmt.Sprintf("bulk %05d", i),
					Scopes:    []patkit.Scope{patkit.ScopeReadAPI},
					CreatedAt: base,
					Digest:    digest(fmt.Sprintf("bulk %d", i)),
				}
				if err := s.Create(ctx(t), tok); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("Create(%q): %w", tok.Name, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range countTokens {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}

	type F = patkit.Filter
	tests := []struct {
		name      string
		q         patkit.Query
		wantLen   int
		wantTotal int
	}{
		{"MoreThanMaxCount", patkit.Query{Filter: F{Page: 1, PerPage: 20}}, 20, -1},
		{"MoreThanMaxCountLastPage", patkit.Query{Filter: F{Page: patkit.MaxCount/100 + 1, PerPage: 100}}, 1, -1},
		{"MoreThanMaxCountPastTheEnd", patkit.Query{Filter: F{Page: patkit.MaxCount/100 + 2, PerPage: 100}}, 0, -1},
		{"ExactlyMaxCount", patkit.Query{UserID: 1, Filter: F{Page: 1, PerPage: 100}}, 100, patkit.MaxCount},
		{"ExactlyMaxCountSearch", patkit.Query{Filter: F{Search: `"bulk 0"`, Page: 2, PerPage: 100}}, 100, patkit.MaxCount},
		{"One", patkit.Query{UserID: 2, Filter: F{Page: 1, PerPage: 100}}, 1, 1},
		{"Sorted", patkit.Query{Filter: F{Sort: patkit.SortNameDesc, Page: 1, PerPage: 3}}, 3, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Normalize()
			got, total, err := s.List(ctx(t), &q)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if tt.wantTotal < 0 && total > patkit.MaxCount {
				total = -1 // any count above MaxCount means "more than MaxCount"
			}
			if len(got) != tt.wantLen || total != tt.wantTotal {
				t.Errorf("List(%+v) returned %d tokens, total %d; want %d tokens, total %d",
					tt.q, len(got), total, tt.wantLen, tt.wantTotal)
			}
			for i := 1; i < len(got); i++ {
				if tt.q.Sort == patkit.SortDefault && got[i-1].ID >= got[i].ID {
					t.Errorf("tokens %d and %d out of ID order", got[i-1].ID, got[i].ID)
				}
			}
		})
	}

	// The winner of the name sort, and the page after the last.
	q := patkit.Query{Filter: F{Sort: patkit.SortNameDesc, Page: 1, PerPage: 3}}
	q.Normalize()
	got, _, err := s.List(ctx(t), &q)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, tok := range got {
		names = append(names, tok.Name)
	}
	if diff := cmp.Diff([]string{"bulk 10000", "bulk 09999", "bulk 09998"}, names); diff != "" {
		t.Errorf("List(name_desc) first page mismatch (-want +got):\n%s", diff)
	}
}
