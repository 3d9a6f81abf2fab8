package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
)

// The sort keys of the times, and the index of all tokens that ranges
// over each.
const (
	createdKey  = "created_at"
	expiryKey   = "coalesce(expires_at, 9223372036854775807)"
	lastUsedKey = "coalesce(last_used_at, 9223372036854775807)"
)

var timeIndexes = map[string]string{
	createdKey:  "tokens_created",
	expiryKey:   "tokens_expiry",
	lastUsedKey: "tokens_last_used",
}

// TestCoverTimes checks that each index of all tokens by a time holds the
// other two (migration 0012): the range of a list of all tokens bounded
// on one time and sorted by another (BoundPlan's Range) reads the bound's
// index alone, and so does the walk of one time's index filtered on
// another.
func TestCoverTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	for i := range 5 {
		tok := countToken(fmt.Sprint("cover ", i), int64(1+i%2), "", 0, i == 3)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	db := openReader(t, path)
	keys := []string{createdKey, expiryKey, lastUsedKey}
	for _, bound := range keys {
		for _, sort := range keys {
			if sort == bound {
				continue
			}
			index := timeIndexes[bound]
			rangeQuery := "SELECT id, " + sort + " AS k FROM tokens WHERE " + bound + " >= ? AND " + bound +
				" < 9223372036854775807 AND +impersonation = ? LIMIT -1 OFFSET 0"
			if plan := queryPlan(t, db, rangeQuery, []any{base.UnixMicro(), false}); !strings.Contains(plan, "COVERING INDEX "+index+" ") {
				t.Errorf("the range of %s sorted by %s does not read %s alone:\n%s\n%s", bound, sort, index, rangeQuery, plan)
			}
			index = timeIndexes[sort]
			walk := "SELECT id FROM tokens WHERE +" + bound + " >= ? AND +impersonation = ? ORDER BY " + sort + ", id LIMIT 20"
			if plan := queryPlan(t, db, walk, []any{base.UnixMicro(), false}); !strings.Contains(plan, "COVERING INDEX "+index) ||
				strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("the walk of %s filtered on %s does not read %s alone:\n%s\n%s", sort, bound, index, walk, plan)
			}
		}
	}
}

// TestCoverTimesUpgrade migrates a database at migration 0011 with tokens
// of every kind: they are kept, the database is sound, the indexes have
// the columns of 0012 and 0013, and lists that read them are right.
func TestCoverTimesUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openDB(t, path)
	migrateTo(t, db, 11)
	if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 500)
		INSERT INTO tokens (user_id, name, name_folded, scopes, impersonation, resource_type, resource_id, access_level,
			created_at, expires_at, revoked, last_used_at, digest)
		SELECT i % 7 + 1, 'old ' || i, 'old ' || i, '["api"]', i % 5 = 0,
			CASE i % 4 WHEN 1 THEN 'project' WHEN 2 THEN 'group' END, CASE WHEN i % 4 IN (1, 2) THEN i % 3 + 1 ELSE 0 END,
			CASE WHEN i % 4 IN (1, 2) THEN 30 ELSE 0 END,
			?1 + i * 60000000, CASE WHEN i % 3 = 0 THEN NULL ELSE ?1 + (i % 50) * 86400000000 END, i % 6 = 0,
			CASE WHEN i % 2 = 0 THEN NULL ELSE ?1 + i * 3600000000 END, 'digest ' || i
		FROM seq`, base.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	dump := func() []string {
		t.Helper()
		rows, err := db.QueryContext(t.Context(), `SELECT id, user_id, name, impersonation, resource_type, resource_id,
			created_at, expires_at, revoked, last_used_at, digest FROM tokens ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, user, imp, rid, created, revoked int64
			var name, digest string
			var rt *string
			var expires, lastUsed *int64
			if err := rows.Scan(&id, &user, &name, &imp, &rt, &rid, &created, &expires, &revoked, &lastUsed, &digest); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(id, user, name, imp, rt != nil && *rt != "", rid, created, expires != nil, revoked, lastUsed != nil, digest))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := dump()

	s := openPath(t, path, nil)
	if diff := cmp.Diff(before, dump()); diff != "" {
		t.Errorf("tokens after the migration (-before +after):\n%s", diff)
	}
	var ok string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
	var latest int
	if err := db.QueryRowContext(t.Context(), `SELECT max(version) FROM patkit_migrations`).Scan(&latest); err != nil || latest < 12 {
		t.Errorf("latest migration %d, %v; want 12 or later", latest, err)
	}
	for _, index := range []string{"tokens_user_name", "tokens_resource_name"} { // migration 0013
		var def string
		if err := db.QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, index).Scan(&def); err != nil {
			t.Fatalf("%s: %v", index, err)
		}
		if !strings.Contains(def, "name_folded)") {
			t.Errorf("%s does not end with name_folded: %s", index, def)
		}
	}
	for key, index := range timeIndexes {
		var def string
		if err := db.QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, index).Scan(&def); err != nil {
			t.Fatalf("%s: %v", index, err)
		}
		for other := range timeIndexes {
			if other != key && !strings.Contains(def, other) {
				t.Errorf("%s does not hold %s: %s", index, other, def)
			}
		}
	}

	// The lists bounded on one time and sorted by another give the tokens
	// Match keeps, in the order of Sort.Compare.
	list := func(q patkit.Query) []*patkit.Token {
		t.Helper()
		q.PerPage = 100
		q.Normalize()
		var all []*patkit.Token
		for page := 1; ; page++ {
			q.Page = page
			toks, _, err := s.List(t.Context(), &q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, toks...)
			if len(toks) < q.PerPage {
				return all
			}
		}
	}
	all := list(patkit.Query{})
	if len(all) != len(before) {
		t.Fatalf("List: %d tokens, want %d", len(all), len(before))
	}
	byID := map[int64]*patkit.Token{}
	for _, tok := range all {
		byID[tok.ID] = tok
	}
	for _, q := range []patkit.Query{
		{Filter: patkit.Filter{ExpiresAfter: base.AddDate(0, 0, 20), Sort: patkit.SortCreatedAsc}},
		{Filter: patkit.Filter{CreatedAfter: base.Add(200 * time.Minute), Sort: patkit.SortLastUsedAsc}},
		{Filter: patkit.Filter{LastUsedAfter: base.Add(100 * time.Hour), Sort: patkit.SortExpiresAsc}},
		// One owner's and one project's names, read from their indexes
		// of names since 0013.
		{UserID: 3, Filter: patkit.Filter{Search: `"OLD 1"`, Sort: patkit.SortNameDesc}},
		{ResourceType: patkit.ResourceProject, ResourceID: 2, Filter: patkit.Filter{Search: `"d 1"`, Sort: patkit.SortLastUsedAsc}},
	} {
		f := q.Filter
		q.Normalize()
		var want []int64
		for _, tok := range all {
			if q.Match(tok) {
				want = append(want, tok.ID)
			}
		}
		slices.SortFunc(want, func(a, b int64) int { return f.Sort.Compare(byID[a], byID[b]) })
		var got []int64
		for _, tok := range list(q) {
			got = append(got, tok.ID)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("owner %d, %s %d, %+v: got %v, want %v", q.UserID, q.ResourceType, q.ResourceID, f, got, want)
		}
	}
}
