// Package counttest holds what the SQL stores' tests of List's counts
// share: the queries that counters answer, a mix of tokens to count, and
// the check of List's totals against patkit.Query.Match.
package counttest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/internal/sqlq"
)

// The starts of two consecutive blocks of the stores' expiry counters
// (see sqlq.ExpiryBlock): 2026-11-11 and 2026-12-13.
var (
	block0 = sqlq.NextBlock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	block1 = block0.Add(sqlq.ExpiryBlock)
)

const day = 24 * time.Hour

// Expiries are the ExpiresAt that CreateMix gives its tokens in turn:
// never, and dates before, at and after the starts of two blocks of the
// expiry counters, in later blocks, and the first and last dates the
// Service accepts.
var Expiries = []time.Time{
	{}, block0.Add(-day), block0, block0.Add(day), block1.Add(-day), block1, block1.Add(40 * day), block0.Add(400 * day),
	time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
}

// Nows are the times at which CheckListTotals counts the active and the
// inactive tokens: before every expiry, just before, at and between
// expiry dates that start a block and others, and after every expiry. The
// time moves, and nothing is written.
var Nows = []time.Time{
	time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	block0.Add(-time.Microsecond), block0, block0.Add(36 * time.Hour),
	block1, block1.Add(40*day - time.Nanosecond), block1.Add(40 * day),
	time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
}

// CheckListTotals reads every token of s and compares the total List
// gives for each query of Queries with the number of tokens it matches.
func CheckListTotals(t testing.TB, s patkit.Store, step string) {
	t.Helper()
	all := listshape.Tokens(t, s)
	// A few at a time: the queries are many, and each List of a server
	// mostly waits for it.
	qs := make(chan patkit.Query)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for q := range qs {
				checkTotal(t, s, all, q, step)
			}
		})
	}
	for _, q := range Queries(all) {
		qs <- q
	}
	close(qs)
	wg.Wait()
}

// checkTotal normalizes q and compares the total List gives for it with
// the number of all's tokens q matches, up to patkit.MaxCount+1; step
// names the case in failures.
func checkTotal(t testing.TB, s patkit.Store, all []*patkit.Token, q patkit.Query, step string) {
	t.Helper()
	// A page past the end, so that List counts rather than infer the
	// total from a short page.
	q.Page = patkit.MaxPage
	checkPage(t, s, all, q, step)
}

// checkPage is checkTotal on q's own page.
func checkPage(t testing.TB, s patkit.Store, all []*patkit.Token, q patkit.Query, step string) {
	t.Helper()
	q.Normalize()
	want := 0
	for _, tok := range all {
		if q.Match(tok) {
			want++
		}
	}
	want = min(want, patkit.MaxCount+1)
	if _, got, err := s.List(t.Context(), &q); err != nil || got != want {
		t.Errorf("%s: List(%s, page %d) total = %d, %v; want %d", step, describe(&q), q.Page, got, err, want)
	}
}

// describe returns the filters of a query of Queries, CheckCreatedTotals
// or CheckUsedTotals.
func describe(q *patkit.Query) string {
	state := ""
	if q.State != patkit.StateAny {
		state = fmt.Sprintf(", %s at %s", q.State, q.Now.Format(time.RFC3339Nano))
	}
	b := func(p *bool) string {
		if p == nil {
			return "any"
		}
		return fmt.Sprint(*p)
	}
	for _, e := range []struct {
		name string
		at   time.Time
	}{{"expires after", q.ExpiresAfter}, {"expires before", q.ExpiresBefore}, {"created after", q.CreatedAfter}, {"created before", q.CreatedBefore},
		{"last used after", q.LastUsedAfter}, {"last used before", q.LastUsedBefore}} {
		if !e.at.IsZero() {
			state += fmt.Sprintf(", %s %s", e.name, e.at.Format(time.RFC3339Nano))
		}
	}
	if q.Search != "" {
		state += fmt.Sprintf(", search %q", q.Search)
	}
	return fmt.Sprintf("user %d, resource %q %d, impersonation %s, revoked %s%s",
		q.UserID, q.ResourceType, q.ResourceID, b(q.Impersonation), b(q.Revoked), state)
}

// Queries returns the queries the counters answer: every combination of
// scope (all, each owner, each resource, and an owner and a resource of no
// token), impersonation and revocation among tokens; and, for the scopes
// of all tokens, of the owner and of the resource that have the most, and
// of no token, the same active and inactive at each of Nows, and with
// each of Bounds, in any state and active and inactive at a few times,
// each with one combination of impersonation and revocation, all of them
// in turn. (The
// counters of every scope are the same rows, which the stores' tests
// compare with the tokens.)
func Queries(tokens []*patkit.Token) []patkit.Query {
	type resource struct {
		rt patkit.ResourceType
		id int64
	}
	scopes := []patkit.Query{{}}
	users, resources := map[int64]int{}, map[resource]int{}
	var user int64    // the owner of the most tokens
	var most resource // the resource of the most tokens
	for _, tok := range tokens {
		if users[tok.UserID]++; users[tok.UserID] == 1 {
			scopes = append(scopes, patkit.Query{UserID: tok.UserID})
		}
		if users[tok.UserID] > users[user] || users[tok.UserID] == users[user] && tok.UserID < user {
			user = tok.UserID
		}
		if tok.ResourceType == "" {
			continue
		}
		r := resource{tok.ResourceType, tok.ResourceID}
		if resources[r]++; resources[r] == 1 {
			scopes = append(scopes, patkit.Query{ResourceType: r.rt, ResourceID: r.id})
		}
		if resources[r] > resources[most] {
			most = r
		}
	}
	none := []patkit.Query{{UserID: 999}, {ResourceType: patkit.ResourceGroup, ResourceID: 999}}
	scopes = append(scopes, none...)
	timed := append([]patkit.Query{{}}, none...)
	if user != 0 {
		timed = append(timed, patkit.Query{UserID: user})
	}
	if most.rt != "" {
		timed = append(timed, patkit.Query{ResourceType: most.rt, ResourceID: most.id})
	}
	bools := []*bool{nil, new(false), new(true)}
	var qs []patkit.Query
	for _, sc := range scopes {
		for _, imp := range bools {
			for _, rev := range bools {
				q := sc
				q.Impersonation, q.Revoked = imp, rev
				qs = append(qs, q)
			}
		}
	}
	for _, sc := range timed {
		for _, imp := range bools {
			for _, rev := range bools {
				for _, now := range Nows {
					for _, state := range []patkit.State{patkit.StateActive, patkit.StateInactive} {
						q := sc
						q.Impersonation, q.Revoked, q.State, q.Now = imp, rev, state, now
						qs = append(qs, q)
					}
				}
			}
		}
	}
	// With a bound, each state and bound of a scope takes the next
	// combination of impersonation and revocation in turn, rather than
	// every one: the rows a count reads depend on the range, and only its
	// columns on the two filters.
	i := 0
	for _, sc := range timed {
		for _, b := range Bounds {
			for _, st := range boundStates {
				q := sc
				q.Impersonation, q.Revoked = bools[i%3], bools[i/3%3]
				q.ExpiresAfter, q.ExpiresBefore = b[0], b[1]
				q.State, q.Now = st.state, st.now
				qs = append(qs, q)
				i++
			}
		}
	}
	return qs
}

// Bounds are the expiry bounds (ExpiresAfter, ExpiresBefore; zero for
// none) of the queries of Queries: at, between and a nanosecond after
// the Expiries of CreateMix, within one block, at the start of one and
// across several, and bounds that keep nothing.
var Bounds = [][2]time.Time{
	{{}, block0},
	{{}, block0.Add(36 * time.Hour)},
	{{}, block1},
	{block0, {}},
	{block0.Add(36 * time.Hour), {}},
	{block1.Add(-day), {}},
	{block0.Add(-day), block1.Add(40 * day)},
	{block0.Add(36 * time.Hour), block1.Add(-day + time.Nanosecond)},
	{block0, block1},
	{block1, block0},
	{block1, block1},
}

// boundStates are the states, and their times, of the queries of
// Queries with Bounds.
var boundStates = []struct {
	state patkit.State
	now   time.Time
}{
	{patkit.StateAny, time.Time{}},
	{patkit.StateActive, block0}, {patkit.StateInactive, block0},
	{patkit.StateActive, block0.Add(36 * time.Hour)}, {patkit.StateInactive, block0.Add(36 * time.Hour)},
	{patkit.StateActive, block1.Add(40*day - time.Nanosecond)}, {patkit.StateInactive, block1.Add(40*day - time.Nanosecond)},
}

// CreateMix creates, through s, personal, impersonation, project and group
// tokens of a few owners, made by token (name, owner, resource type and ID,
// impersonation) with each of Expiries in turn, and revokes some. It
// returns them.
func CreateMix(t testing.TB, s patkit.Store, prefix string,
	token func(name string, user int64, rt patkit.ResourceType, id int64, imp bool) *patkit.Token) []*patkit.Token {
	t.Helper()
	var toks []*patkit.Token
	for i := range 3 * len(Expiries) {
		var tok *patkit.Token
		switch i % 4 {
		case 0:
			tok = token(fmt.Sprint(prefix, i), int64(2+i%3), "", 0, false)
		case 1:
			tok = token(fmt.Sprint(prefix, i), int64(2+i%3), "", 0, true)
		case 2:
			tok = token(fmt.Sprint(prefix, i), int64(100+i), patkit.ResourceProject, int64(1+i%2), false)
		case 3:
			tok = token(fmt.Sprint(prefix, i), int64(100+i), patkit.ResourceGroup, 1, false)
		}
		tok.ExpiresAt = Expiries[i/3%len(Expiries)]
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		toks = append(toks, tok)
	}
	return toks
}

// ExpiryKey is a row of a store's expiry counters (see sqlq.Dialect.Count):
// a scope (0 all tokens, 1 a user's, 2 a project's or group's), a level
// (0 an expiry, 1 a block of sqlq.ExpiryBlock) and its key, in Unix
// microseconds, math.MaxInt64 for never.
type ExpiryKey struct {
	Scope        int
	ResourceType string
	ID           int64
	Level        int
	ExpiresAt    int64
}

// Row is what the counters count of a token, as a store holds it.
type Row struct {
	UserID        int64
	ResourceType  string // "" for none
	ResourceID    int64
	Impersonation bool
	Revoked       bool
	ExpiresAt     *int64 // Unix microseconds, nil for never
}

// WantExpiry returns what a store's expiry counters should hold for its
// tokens: for each key with tokens, the number of those that are neither
// impersonation tokens nor revoked, only revoked, only impersonation
// tokens, and both (the columns n, n_revoked, n_imp and n_imp_revoked, in
// the order of the counters of the scopes' totals).
func WantExpiry(rows []Row) map[ExpiryKey][4]int64 {
	want := map[ExpiryKey][4]int64{}
	for _, r := range rows {
		scopes := []ExpiryKey{{Scope: 0}, {Scope: 1, ID: r.UserID}}
		if r.ResourceType != "" {
			scopes = append(scopes, ExpiryKey{Scope: 2, ResourceType: r.ResourceType, ID: r.ResourceID})
		}
		col := 0
		if r.Revoked {
			col++
		}
		if r.Impersonation {
			col += 2
		}
		for _, k := range scopes {
			var keys []ExpiryKey
			if r.ExpiresAt == nil {
				k.Level, k.ExpiresAt = 1, math.MaxInt64
				keys = append(keys, k)
			} else {
				at := time.UnixMicro(*r.ExpiresAt)
				k.ExpiresAt = *r.ExpiresAt
				keys = append(keys, k)
				k.Level, k.ExpiresAt = 1, sqlq.NextBlock(at).Add(-sqlq.ExpiryBlock).UnixMicro()
				keys = append(keys, k)
			}
			for _, k := range keys {
				n := want[k]
				n[col]++
				want[k] = n
			}
		}
	}
	return want
}

// CreatedTokens is the number of tokens CheckCreatedTotals wants: more
// than patkit.MaxCount, IDs 1 to the end of the 12th zone of IDs
// (sqlq.ZoneBits), so that no zone but the first holds fewer tokens than
// it may, which would hide a wrong bound.
const CreatedTokens = 12<<sqlq.ZoneBits - 1

// CheckCreatedTotals compares the total List gives for lists of all
// tokens bounded on creation with the number of tokens each matches, up
// to patkit.MaxCount+1. s holds CreatedTokens or more tokens, created at
// distinct times in the order of their IDs, many in each zone: the counts
// of the SQL stores subtract the zones that may hold tokens created out
// of the bounds from the counters of the other filters, and count the
// matches where that leaves patkit.MaxCount or fewer. The bounds keep
// from none to every token, a zone's worth, and just under, at and over
// patkit.MaxCount, alone, together, and with a revocation filter or a
// state.
func CheckCreatedTotals(t testing.TB, s patkit.Store) {
	t.Helper()
	all := listshape.Tokens(t, s)
	if len(all) < CreatedTokens {
		t.Fatalf("%d tokens, want %d or more", len(all), CreatedTokens)
	}
	created := make([]time.Time, len(all))
	for i, tok := range all {
		created[i] = tok.CreatedAt
	}
	n := len(created)
	after, before := bounds(created)
	maxCount := patkit.MaxCount
	// A count of 10,001 entries is slow under the race detector (the
	// SQLite of modernc.org is Go): few bounds, each where a wrong one
	// shows.
	ks := []int{0, 1023, maxCount - 1, maxCount, maxCount + 1, maxCount + 1024, n}
	no := false
	var qs []patkit.Query
	for _, k := range ks {
		qs = append(qs,
			patkit.Query{Filter: patkit.Filter{CreatedAfter: after(k)}},
			patkit.Query{Filter: patkit.Filter{CreatedBefore: before(k)}},
			patkit.Query{Filter: patkit.Filter{CreatedAfter: after(k), Revoked: &no}},
			// A nanosecond within the bound's end, and the first k tokens
			// but 500 in the middle.
			patkit.Query{Filter: patkit.Filter{CreatedBefore: before(k).Add(-time.Nanosecond), State: patkit.StateActive}},
			patkit.Query{Filter: patkit.Filter{CreatedAfter: before(min(k, n-1)/4 + 1), CreatedBefore: before(min(k+500, n))}},
		)
	}
	now := time.Now()
	for _, q := range qs {
		q.Now = now
		checkTotal(t, s, all, q, "bounded on creation")
	}
}

// UsedTokens is the number of tokens used that CheckUsedTotals wants:
// more than patkit.MaxCount.
const UsedTokens = patkit.MaxCount + 2000

// CheckUsedTotals compares the total List gives for lists of all tokens
// bounded on last use with the number of tokens each matches, up to
// patkit.MaxCount+1. s holds UsedTokens or more tokens used, at distinct
// times, dozens on each day, over more than one block of
// sqlq.UseBlockDays days, and some never used: PostgreSQL's counts take
// every token but those last used on the days within the bounds away from
// the counters of the other filters, and count the matches where that
// leaves patkit.MaxCount or fewer. The bounds keep from none to every
// token used, just under, at and over patkit.MaxCount, each bound a
// microsecond from a use or at one, alone, together, and with a
// revocation filter or a state.
func CheckUsedTotals(t testing.TB, s patkit.Store) {
	t.Helper()
	all := listshape.Tokens(t, s)
	var used []time.Time
	for _, tok := range all {
		if !tok.LastUsedAt.IsZero() {
			used = append(used, tok.LastUsedAt)
		}
	}
	if len(used) < UsedTokens {
		t.Fatalf("%d tokens used, want %d or more", len(used), UsedTokens)
	}
	n := len(used)
	after, before := bounds(used)
	maxCount := patkit.MaxCount
	no := false
	var qs []patkit.Query
	for _, k := range []int{0, 1, maxCount - 1, maxCount, maxCount + 1, maxCount + 40, n} {
		qs = append(qs,
			patkit.Query{Filter: patkit.Filter{LastUsedAfter: after(k)}},
			patkit.Query{Filter: patkit.Filter{LastUsedBefore: before(k)}},
			// A microsecond short of the k-th use: one fewer.
			patkit.Query{Filter: patkit.Filter{LastUsedAfter: after(k).Add(time.Microsecond)}},
			patkit.Query{Filter: patkit.Filter{LastUsedBefore: before(k).Add(-time.Nanosecond)}},
			patkit.Query{Filter: patkit.Filter{LastUsedAfter: after(k), Revoked: &no}},
			patkit.Query{Filter: patkit.Filter{LastUsedBefore: before(k), State: patkit.StateActive}},
			patkit.Query{Filter: patkit.Filter{LastUsedAfter: before(min(k, n-1)/4 + 1), LastUsedBefore: before(min(k+500, n))}},
			patkit.Query{Filter: patkit.Filter{LastUsedAfter: before(1), LastUsedBefore: before(k), CreatedAfter: before(1).AddDate(-10, 0, 0)}},
		)
	}
	now := time.Now()
	for _, q := range qs {
		q.Now = now
		checkTotal(t, s, all, q, "bounded on last use")
	}
}

// WordTokens is the number of tokens that CheckWordTotals wants to hold
// its word: more than patkit.MaxCount.
const WordTokens = patkit.MaxCount + 1000

// CheckWordTotals compares the total List gives for searches of all
// tokens by word with the number of tokens each matches, up to
// patkit.MaxCount+1. s holds WordTokens or more tokens whose name holds
// word, most of them as a word of its own (SQLite's counts take every
// token but those with the word among their name's words away from the
// counters of the other filters, and count the matches where that leaves
// patkit.MaxCount or fewer), some within the word "re"+word only; every
// name holds the word "bulk"; the tokens are created at distinct times,
// many in each zone. The searches are by the word, upper case, and after
// "bulk" (a count of the first word alone would count every token), alone,
// with a revocation filter, a state or impersonation, and bounded on
// creation to keep from a few to all of the tokens, just under, at and
// over patkit.MaxCount of them, each on its first page, and the first on
// the last too (a store may count a far page otherwise).
func CheckWordTotals(t testing.TB, s patkit.Store, word string) {
	t.Helper()
	all := listshape.Tokens(t, s)
	var created []time.Time
	holding := 0
	for _, tok := range all {
		created = append(created, tok.CreatedAt)
		if strings.Contains(strings.ToLower(tok.Name), word) {
			holding++
		}
	}
	if holding < WordTokens {
		t.Fatalf("%d tokens hold %q, want %d or more", holding, word, WordTokens)
	}
	after, _ := bounds(created)
	n := len(created)
	no, yes := false, true
	qs := []patkit.Query{
		{Filter: patkit.Filter{Search: word}},
		{Filter: patkit.Filter{Search: strings.ToUpper(word)}},
		{Filter: patkit.Filter{Search: "bulk " + word}},
		{Filter: patkit.Filter{Search: "bulk re" + word}},
		{Filter: patkit.Filter{Search: word, Revoked: &no}},
		{Filter: patkit.Filter{Search: word, Revoked: &yes}},
		{Filter: patkit.Filter{Search: word, State: patkit.StateInactive}},
		{Filter: patkit.Filter{Search: word}, Impersonation: &no},
	}
	// A count of 10,001 entries is slow under the race detector (the
	// SQLite of modernc.org is Go): few bounds, each where a wrong one
	// shows.
	for _, k := range []int{patkit.MaxCount, patkit.MaxCount + 1024, n} {
		qs = append(qs, patkit.Query{Filter: patkit.Filter{Search: word, CreatedAfter: after(min(k, n))}},
			patkit.Query{Filter: patkit.Filter{Search: word, CreatedAfter: after(min(k, n)), Revoked: &no}})
	}
	now := time.Now()
	for i, q := range qs {
		q.Now = now
		// The first page, which counts with the store's count query
		// where it has more than a few pages of matches; and the last,
		// of the first search.
		checkPage(t, s, all, q, "search by a word")
		if i == 0 {
			checkTotal(t, s, all, q, "search by a word")
		}
	}
}

// CheckWordRowTaken checks that List takes the table of words at its
// word for q, a search of all tokens by one word on its first page that
// at most patkit.MaxCount tokens match: once inflate has set the word's
// row to a million tokens, the total is patkit.MaxCount+1.
func CheckWordRowTaken(t testing.TB, s patkit.Store, q patkit.Query, inflate func() error) {
	t.Helper()
	q.Normalize()
	if _, total, err := s.List(t.Context(), &q); err != nil || total > patkit.MaxCount {
		t.Fatalf("List(%s): total %d, %v; want at most %d", describe(&q), total, err, patkit.MaxCount)
	}
	if err := inflate(); err != nil {
		t.Fatal(err)
	}
	if _, total, err := s.List(t.Context(), &q); err != nil || total != patkit.MaxCount+1 {
		t.Errorf("List(%s), a million in the word's row: total %d, %v; want %d", describe(&q), total, err, patkit.MaxCount+1)
	}
}

// bounds sorts times, distinct whole microseconds, and returns the bounds
// that keep the k of them that come last (after(k), an inclusive lower
// bound) and first (before(k), an inclusive upper bound), k from 0 to
// len(times).
func bounds(times []time.Time) (after, before func(k int) time.Time) {
	slices.SortFunc(times, time.Time.Compare)
	n := len(times)
	after = func(k int) time.Time {
		if k == 0 {
			return times[n-1].Add(time.Microsecond)
		}
		return times[n-k]
	}
	before = func(k int) time.Time {
		if k == 0 {
			return times[0].Add(-time.Microsecond)
		}
		return times[k-1]
	}
	return after, before
}
