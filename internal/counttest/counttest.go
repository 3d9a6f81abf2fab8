// Package counttest holds what the SQL stores' tests of List's counts
// share: the queries that counters answer, a mix of tokens to count, and
// the check of List's totals against patkit.Query.Match.
package counttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/patkit/patkit"
)

// CheckListTotals reads every token of s and compares the total List
// gives for each query of Queries with the number of tokens it matches.
func CheckListTotals(t testing.TB, s patkit.Store, step string) {
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
			break
		}
	}
	for _, q := range Queries(all) {
		q.Normalize()
		want := 0
		for _, tok := range all {
			if q.Match(tok) {
				want++
			}
		}
		// A page past the end, so that List counts rather than infer the
		// total from a short page.
		q.Page = patkit.MaxPage
		if _, got, err := s.List(t.Context(), &q); err != nil || got != want {
			t.Errorf("%s: List(%s) total = %d, %v; want %d", step, describe(&q), got, err, want)
		}
	}
}

// describe returns the filters of a query of Queries.
func describe(q *patkit.Query) string {
	b := func(p *bool) string {
		if p == nil {
			return "any"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("user %d, resource %q %d, impersonation %s, revoked %s",
		q.UserID, q.ResourceType, q.ResourceID, b(q.Impersonation), b(q.Revoked))
}

// Queries returns the queries the counters answer: every combination of
// scope (all, each owner, each resource, and an owner and a resource of no
// token), impersonation and revocation among tokens.
func Queries(tokens []*patkit.Token) []patkit.Query {
	scopes := []patkit.Query{{}}
	users, resources := map[int64]bool{}, map[patkit.ResourceType]map[int64]bool{}
	for _, tok := range tokens {
		if !users[tok.UserID] {
			users[tok.UserID] = true
			scopes = append(scopes, patkit.Query{UserID: tok.UserID})
		}
		if tok.ResourceType != "" && !resources[tok.ResourceType][tok.ResourceID] {
			if resources[tok.ResourceType] == nil {
				resources[tok.ResourceType] = map[int64]bool{}
			}
			resources[tok.ResourceType][tok.ResourceID] = true
			scopes = append(scopes, patkit.Query{ResourceType: tok.ResourceType, ResourceID: tok.ResourceID})
		}
	}
	scopes = append(scopes, patkit.Query{UserID: 999}, patkit.Query{ResourceType: patkit.ResourceGroup, ResourceID: 999})
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
	return qs
}

// CreateMix creates, through s, personal, impersonation, project and group
// tokens of a few owners, made by token (name, owner, resource type and ID,
// impersonation), and revokes some. It returns them.
func CreateMix(t testing.TB, s patkit.Store, prefix string,
	token func(name string, user int64, rt patkit.ResourceType, id int64, imp bool) *patkit.Token) []*patkit.Token {
	t.Helper()
	var toks []*patkit.Token
	for i := range 24 {
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
