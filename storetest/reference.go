package storetest

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/patkit/patkit"
)

// The reference tests check a store against the definition of a list:
// for every query of a large table, the page and the count that List
// returns must be those found by applying q.Match, q.Sort.Compare and
// q.Offset to the stored tokens in Go. Every query is normalized first, as
// the Service does before it calls List.

// namedQuery is one query of a reference table.
type namedQuery struct {
	name string
	q    patkit.Query
}

// reference returns the page and the count of q over toks by the
// definition.
func reference(toks []*patkit.Token, q *patkit.Query) ([]*patkit.Token, int) {
	kept := slices.DeleteFunc(slices.Clone(toks), func(t *patkit.Token) bool { return !q.Match(t) })
	slices.SortFunc(kept, q.Sort.Compare)
	from := min(q.Offset(), int64(len(kept)))
	to := min(from+int64(q.PerPage), int64(len(kept)))
	return kept[from:to], len(kept)
}

// checkReference normalizes each query, lists it from s and compares the
// page and the count with the reference over every token of f.
func checkReference(t *testing.T, s patkit.Store, f *fixture, queries []namedQuery) {
	t.Helper()
	all := f.all()
	for _, nq := range queries {
		t.Run(nq.name, func(t *testing.T) {
			q := nq.q
			q.Normalize()
			wantPage, wantTotal := reference(all, &q)
			arg := q // a copy: messages show the query as sent
			got, total, err := s.List(ctx(t), &arg)
			if err != nil {
				t.Fatalf("List(%s): %v", describe(&q), err)
			}
			if diff := cmp.Diff(f.labelsOf(wantPage), f.labelsOf(got)); diff != "" {
				t.Errorf("List(%s) page differs from Match and Compare (-want +got):\n%s", describe(&q), diff)
			}
			if total != wantTotal {
				t.Errorf("List(%s) total = %d, want %d", describe(&q), total, wantTotal)
			}
		})
	}
}

// describe formats the fields of q that are set, for failure messages.
func describe(q *patkit.Query) string {
	s := fmt.Sprintf("sort %q, page %d, per page %d", q.Sort, q.Page, q.PerPage)
	add := func(name string, v any) { s += fmt.Sprintf(", %s %v", name, v) }
	if q.UserID != 0 {
		add("user", q.UserID)
	}
	if q.Impersonation != nil {
		add("impersonation", *q.Impersonation)
	}
	if q.ResourceType != "" {
		add(string(q.ResourceType), q.ResourceID)
	}
	if q.PreviousID != 0 {
		add("previous", q.PreviousID)
	}
	if q.Revoked != nil {
		add("revoked", *q.Revoked)
	}
	if q.State != patkit.StateAny {
		add("state", fmt.Sprintf("%s at %s", q.State, q.Now.Format(time.RFC3339Nano)))
	}
	for _, b := range []struct {
		name string
		t    time.Time
	}{
		{"created before", q.CreatedBefore}, {"created after", q.CreatedAfter},
		{"last used before", q.LastUsedBefore}, {"last used after", q.LastUsedAfter},
		{"expires before", q.ExpiresBefore}, {"expires after", q.ExpiresAfter},
	} {
		if !b.t.IsZero() {
			add(b.name, b.t.Format(time.RFC3339Nano))
		}
	}
	if q.Search != "" {
		add("search", fmt.Sprintf("%q", q.Search))
	}
	return s
}

// variedNames are the names of the varied fixture: repeated ones (ties),
// names equal but for case, upper case before lower case in byte order,
// LIKE's wildcards and escape, and a letter outside ASCII. Searches
// involve ASCII case only, which every store folds alike.
var variedNames = []string{
	"alpha api", "Alpha API", "beta ci token", "deploy production key", "Deploy staging",
	"Zeta", "zeta rotated", "100% coverage", "1000 coverage", "a_c token", "abc token",
	`back\slash dir`, "backslash dir", "ab", "AB cd", "élan vital", "project bot", "group bot",
}

// variedTokens is the size of the varied fixture.
const variedTokens = 72

// seedVaried adds to f (and s) variedTokens tokens labelled V00 to V71,
// whose fields take few distinct values, so that every sort has ties,
// and whose times sit on the bounds of the reference queries:
//
//   - user 1 + i%4; personal tokens, impersonation when i%7 == 3, project
//     100 or 200 and group 200 or 100 when i%9 is 1, 2, 4 or 5;
//   - created(i%13), never expiring when i%6 == 0 and otherwise at
//     midnight on 2025-06-(10 + i%11), never used when i%5 == 0 and
//     otherwise used(i%8);
//   - revoked when i/3%4 == 0; V(10k+8) and V(10k+9) replaced V(10k).
func seedVaried(t *testing.T, s patkit.Store, f *fixture) {
	t.Helper()
	for i := range variedTokens {
		tok := &patkit.Token{
			UserID:    int64(1 + i%4),
			Name:      variedNames[i%len(variedNames)],
			Scopes:    []patkit.Scope{patkit.ScopeReadAPI},
			CreatedAt: created(i % 13),
			Revoked:   i/3%4 == 0,
		}
		switch i % 9 {
		case 1:
			tok.ResourceType, tok.ResourceID = patkit.ResourceProject, 100
		case 2:
			tok.ResourceType, tok.ResourceID = patkit.ResourceProject, 200
		case 4:
			tok.ResourceType, tok.ResourceID = patkit.ResourceGroup, 200
		case 5:
			tok.ResourceType, tok.ResourceID = patkit.ResourceGroup, 100
		default:
			tok.Impersonation = i%7 == 3
		}
		if tok.ResourceType != "" {
			tok.AccessLevel = patkit.Developer
		}
		if i%6 != 0 {
			tok.ExpiresAt = date(2025, 6, 10+i%11)
		}
		if i%5 != 0 {
			tok.LastUsedAt = used(i % 8)
		}
		if i%10 >= 8 {
			tok.PreviousID = f.tokens[variedLabel(i/10*10)].ID
		}
		f.add(t, s, variedLabel(i), tok)
	}
}

func variedLabel(i int) string { return fmt.Sprintf("V%02d", i) }

// all returns every token of f, as stored.
func (f *fixture) all() []*patkit.Token {
	all := make([]*patkit.Token, 0, len(f.tokens))
	for _, tok := range f.tokens {
		all = append(all, tok)
	}
	return all
}

// filterQueries is every filter alone, on its bounds, and combined, with
// the default sort and one page that holds every match.
func filterQueries(f *fixture) []namedQuery {
	type Q = patkit.Query
	type F = patkit.Filter
	const ns = time.Nanosecond
	expiry := date(2025, 6, 15) // the expiry of V05, V16, V27, ...
	qs := []namedQuery{
		{"All", Q{}},
		{"UserID1", Q{UserID: 1}},
		{"UserID4", Q{UserID: 4}},
		{"UserIDNone", Q{UserID: 99}},
		{"ImpersonationTrue", Q{Impersonation: new(true)}},
		{"ImpersonationFalse", Q{Impersonation: new(false)}},
		{"Project100", Q{ResourceType: patkit.ResourceProject, ResourceID: 100}},
		{"Project200", Q{ResourceType: patkit.ResourceProject, ResourceID: 200}},
		{"Group200", Q{ResourceType: patkit.ResourceGroup, ResourceID: 200}},
		{"Group100", Q{ResourceType: patkit.ResourceGroup, ResourceID: 100}},
		{"ProjectNone", Q{ResourceType: patkit.ResourceProject, ResourceID: 999}},
		{"PreviousIDV00", Q{PreviousID: f.tokens["V00"].ID}},
		{"PreviousIDV30", Q{PreviousID: f.tokens["V30"].ID}},
		{"PreviousIDNone", Q{PreviousID: f.tokens["V01"].ID}},
		{"KindPersonal", Q{Filter: F{Kind: patkit.KindPersonal}}},
		{"KindImpersonation", Q{Filter: F{Kind: patkit.KindImpersonation}}},
		{"KindProject", Q{Filter: F{Kind: patkit.KindProject}}},
		{"KindGroup", Q{Filter: F{Kind: patkit.KindGroup}}},
		{"KindPersonalOfUser1", Q{UserID: 1, Filter: F{Kind: patkit.KindPersonal, State: patkit.StateActive}, Now: expiry}},
		{"KindProjectRevoked", Q{Filter: F{Kind: patkit.KindProject, Revoked: new(true)}}},
		{"RevokedTrue", Q{Filter: F{Revoked: new(true)}}},
		{"RevokedFalse", Q{Filter: F{Revoked: new(false)}}},
		{"ActiveAtExpiry", Q{Filter: F{State: patkit.StateActive}, Now: expiry}},
		{"InactiveAtExpiry", Q{Filter: F{State: patkit.StateInactive}, Now: expiry}},
		{"ActiveJustBeforeExpiry", Q{Filter: F{State: patkit.StateActive}, Now: expiry.Add(-ns)}},
		{"InactiveJustBeforeExpiry", Q{Filter: F{State: patkit.StateInactive}, Now: expiry.Add(-ns)}},
		{"ActiveJustAfterExpiry", Q{Filter: F{State: patkit.StateActive}, Now: expiry.Add(ns)}},
		{"InactiveJustAfterExpiry", Q{Filter: F{State: patkit.StateInactive}, Now: expiry.Add(ns)}},
		{"ActiveNonUTC", Q{Filter: F{State: patkit.StateActive}, Now: expiry.In(time.FixedZone("UTC-7", -7*3600))}},
		{"ActiveBeforeAll", Q{Filter: F{State: patkit.StateActive}, Now: date(2000, 1, 1)}},
		{"InactiveAfterAll", Q{Filter: F{State: patkit.StateInactive}, Now: date(2100, 1, 1)}},
		{"CreatedBetween", Q{Filter: F{CreatedAfter: created(3), CreatedBefore: created(8)}}},
		{"LastUsedBetween", Q{Filter: F{LastUsedAfter: used(2), LastUsedBefore: used(5)}}},
		{"ExpiresBetween", Q{Filter: F{ExpiresAfter: date(2025, 6, 12), ExpiresBefore: date(2025, 6, 18)}}},
		{"ExpiresBeforeAll", Q{Filter: F{ExpiresBefore: date(2100, 1, 1)}}},
		{"LastUsedAfterAll", Q{Filter: F{LastUsedAfter: date(2000, 1, 1)}}},
		// Day by day (a list of the tokens used after a time of the last
		// month, in another order): from the bound's day, on the day
		// itself, and with tokens used after Now's day (a clock ahead).
		{"LastUsedAfterByDay", Q{Filter: F{LastUsedAfter: used(1)}, Now: used(7)}},
		{"LastUsedAfterMidnight", Q{Filter: F{LastUsedAfter: date(2025, 6, 2)}, Now: used(7)}},
		{"LastUsedAfterSameDay", Q{Filter: F{LastUsedAfter: used(6)}, Now: used(7)}},
		{"LastUsedAfterClockAhead", Q{Filter: F{LastUsedAfter: used(1)}, Now: used(3)}},
		{"LastUsedAfterNowBeforeBound", Q{Filter: F{LastUsedAfter: used(5)}, Now: used(0)}},
		{"LastUsedAfterActive", Q{Filter: F{LastUsedAfter: used(2), State: patkit.StateActive}, Now: used(7)}},
		{"LastUsedBetweenByDay", Q{Filter: F{LastUsedAfter: used(2), LastUsedBefore: used(5)}, Now: used(7)}},
	}
	// Each bound on a stored instant and around it: a microsecond (the
	// precision of the SQL stores) and a nanosecond (finer than they keep)
	// either side.
	bounds := []struct {
		name string
		at   time.Time
		set  func(*F, time.Time)
	}{
		{"CreatedBefore", created(6), func(f *F, t time.Time) { f.CreatedBefore = t }},
		{"CreatedAfter", created(6), func(f *F, t time.Time) { f.CreatedAfter = t }},
		{"LastUsedBefore", used(4), func(f *F, t time.Time) { f.LastUsedBefore = t }},
		{"LastUsedAfter", used(4), func(f *F, t time.Time) { f.LastUsedAfter = t }},
		{"ExpiresBefore", expiry, func(f *F, t time.Time) { f.ExpiresBefore = t }},
		{"ExpiresAfter", expiry, func(f *F, t time.Time) { f.ExpiresAfter = t }},
	}
	for _, b := range bounds {
		for _, d := range []struct {
			name string
			by   time.Duration
		}{{"", 0}, {"-1µs", -time.Microsecond}, {"+1µs", time.Microsecond}, {"-1ns", -ns}, {"+1ns", ns}} {
			var fl F
			b.set(&fl, b.at.Add(d.by))
			// Now is the last use, the day a store reads a list of the
			// tokens used after a time up to.
			qs = append(qs, namedQuery{b.name + d.name, Q{Filter: fl, Now: used(7)}})
		}
	}
	for _, search := range []string{
		"alpha", "ALPHA api", "api alpha", `"alpha api"`, `"api alpha"`, "deploy", "deploy key",
		`"deploy production" key`, "ab", "AB", "ab cd", "  ab   CD ", "a", "zeta", "Zeta",
		"100%", "00%", "%%%", "a_c", "___", `k\s`, `\\\`, "coverage", "bot", "xyz", "   ", "vital", "élan",
	} {
		qs = append(qs, namedQuery{fmt.Sprintf("Search%q", search), Q{Filter: F{Search: search}}})
	}
	now := date(2025, 6, 15)
	qs = append(qs, []namedQuery{
		{"UserRevoked", Q{UserID: 1, Filter: F{Revoked: new(false)}}},
		{"UserPersonalActive", Q{UserID: 2, Impersonation: new(false), Filter: F{State: patkit.StateActive}, Now: now}},
		{"ProjectActive", Q{ResourceType: patkit.ResourceProject, ResourceID: 100, Filter: F{State: patkit.StateActive}, Now: now}},
		{"GroupInactive", Q{ResourceType: patkit.ResourceGroup, ResourceID: 200, Filter: F{State: patkit.StateInactive}, Now: now}},
		{"UserSearch", Q{UserID: 3, Filter: F{Search: "coverage"}}},
		{"CreatedAndLastUsed", Q{Filter: F{CreatedAfter: created(3), CreatedBefore: created(8), LastUsedAfter: used(2), LastUsedBefore: used(5)}}},
		{"ExpiresNotRevoked", Q{Filter: F{ExpiresAfter: date(2025, 6, 12), ExpiresBefore: date(2025, 6, 18), Revoked: new(false)}}},
		{"SearchRevokedNotImpersonation", Q{Impersonation: new(false), Filter: F{Search: "token", Revoked: new(true)}}},
		{"PreviousNotRevoked", Q{PreviousID: f.tokens["V00"].ID, Filter: F{Revoked: new(false)}}},
		{"Everything", Q{UserID: 1, Impersonation: new(false), Now: now, Filter: F{
			Revoked: new(false), State: patkit.StateActive, CreatedAfter: created(2), LastUsedBefore: used(6),
			ExpiresAfter: date(2025, 6, 12), Search: "api",
		}}},
	}...)
	for i := range qs {
		qs[i].q.PerPage = 100
	}
	return qs
}

// sorts is every sort, and one Normalize replaces by SortDefault.
var sorts = []patkit.Sort{
	patkit.SortDefault, patkit.SortCreatedAsc, patkit.SortCreatedDesc,
	patkit.SortExpiresAsc, patkit.SortExpiresDesc, patkit.SortLastUsedAsc, patkit.SortLastUsedDesc,
	patkit.SortNameAsc, patkit.SortNameDesc, "unknown",
}

// sortQueries is every sort under a few filters, page by page, each until
// the page after the last.
func sortQueries(f *fixture) []namedQuery {
	type Q = patkit.Query
	type F = patkit.Filter
	now := date(2025, 6, 15)
	filters := []namedQuery{
		{"All", Q{}},
		{"UserID1", Q{UserID: 1}},
		{"Active", Q{Filter: F{State: patkit.StateActive}, Now: now}},
		{"Project100", Q{ResourceType: patkit.ResourceProject, ResourceID: 100}},
		{"ExpiresBetween", Q{Filter: F{ExpiresAfter: date(2025, 6, 12), ExpiresBefore: date(2025, 6, 18)}}},
		// Bounds on one time ordered by another: a store may read the
		// bound's range or walk the order (see RunLists).
		{"CreatedAfter", Q{Filter: F{CreatedAfter: created(5)}}},
		{"LastUsedBefore", Q{Filter: F{LastUsedBefore: used(4)}}},
		{"LastUsedAfterByDay", Q{Filter: F{LastUsedAfter: used(2)}, Now: used(7)}},
		{"LastUsedAfterClockAhead", Q{Filter: F{LastUsedAfter: used(2)}, Now: used(3)}},
		{"CreatedBeforeActive", Q{Filter: F{CreatedBefore: created(8), State: patkit.StateActive}, Now: now}},
		// The same of one owner's tokens and one project's.
		{"UserID1CreatedAfter", Q{UserID: 1, Filter: F{CreatedAfter: created(5)}}},
		{"UserID2PersonalLastUsedBefore", Q{UserID: 2, Impersonation: new(false), Filter: F{LastUsedBefore: used(4)}}},
		{"UserID1LastUsedAfter", Q{UserID: 1, Filter: F{LastUsedAfter: used(2)}, Now: used(7)}},
		{"Project100ExpiresAfter", Q{ResourceType: patkit.ResourceProject, ResourceID: 100, Filter: F{ExpiresAfter: date(2025, 6, 12)}}},
		{"SearchAlphaAPI", Q{Filter: F{Search: "alpha api"}}},
		{"SearchCoverage", Q{Filter: F{Search: "coverage"}}},
	}
	const perPage = 9
	all := f.all()
	var qs []namedQuery
	for _, s := range sorts {
		name := string(s)
		if s == patkit.SortDefault {
			name = "default"
		}
		for _, fq := range filters {
			_, n := reference(all, &fq.q)
			for page := 1; page <= n/perPage+1; page++ {
				q := fq.q
				q.Sort, q.Page, q.PerPage = s, page, perPage
				qs = append(qs, namedQuery{fmt.Sprintf("%s/%s/Page%d", name, fq.name, page), q})
			}
		}
	}
	return qs
}

// pageQueries is a few filters and sorts under every kind of page: the
// first, a middle one, the last, the one after, the largest, and the
// values Normalize replaces.
func pageQueries() []namedQuery {
	type Q = patkit.Query
	type F = patkit.Filter
	base := []namedQuery{
		{"All", Q{}},
		{"UserID1", Q{UserID: 1}},
		{"ActiveCreatedDesc", Q{Filter: F{State: patkit.StateActive, Sort: patkit.SortCreatedDesc}, Now: date(2025, 6, 15)}},
		{"SearchNameAsc", Q{Filter: F{Search: "coverage", Sort: patkit.SortNameAsc}}},
		{"NoMatch", Q{UserID: 99}},
	}
	pages := []struct {
		name          string
		page, perPage int
	}{
		{"First", 1, 7},
		{"Second", 2, 7},
		{"Third", 3, 7},
		{"Twelfth", 12, 7},
		{"Thirteenth", 13, 7},
		{"OnePerPage", 5, 1},
		{"OnePerPageFar", 80, 1},
		{"OneHundred", 1, 100},
		{"SecondOfOneHundred", 2, 100},
		{"MaxPage", patkit.MaxPage, 100},
		{"MaxPageOnePerPage", patkit.MaxPage, 1},
		{"MaxPageMinus1", patkit.MaxPage - 1, 100},
		{"MaxInt", math.MaxInt, 100},
		{"ZeroPage", 0, 7},
		{"NegativePage", -3, 7},
		{"MinInt", math.MinInt, 7},
		{"ZeroPerPage", 1, 0},
		{"NegativePerPage", 1, -1},
		{"PerPageAbove100", 1, 101},
		{"MaxIntPerPage", 1, math.MaxInt},
	}
	var qs []namedQuery
	for _, b := range base {
		for _, p := range pages {
			q := b.q
			q.Page, q.PerPage = p.page, p.perPage
			qs = append(qs, namedQuery{b.name + "/" + p.name, q})
		}
	}
	return qs
}
