package sqlitestore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
	"github.com/patkit/patkit/sqlitestore"
	"github.com/patkit/patkit/storetest"
)

// TestIndexNames checks the trigram index of names (migration 0014): the
// Store indexes the names of the tokens it created every namesEvery
// creates, in the transaction of the next write, and records the highest
// ID indexed; FTS5's integrity check then finds the index equal to the
// table; and a search of all tokens by words lists exactly what
// Query.Match keeps, whether its matches are indexed or above the highest
// ID indexed, and for words the index cannot serve (GLOB's wildcards).
func TestIndexNames(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	s.SetNamesEvery(3)
	db := openReader(t, path)
	indexed := func() (n int64) {
		t.Helper()
		if err := db.QueryRowContext(t.Context(), `SELECT value FROM patkit_meta WHERE name = 'names_indexed'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := indexed(); n != 0 {
		t.Fatalf("names_indexed = %d on a new database, want 0", n)
	}
	names := []string{"Deploy prod", "ci runner", "deploy staging", "a*b deploy", "Ünïcode Deploy", "other  deploy Deploy",
		"deployer", "x?y", "DEPLOY", "ci deploy"}
	var all []*patkit.Token
	for i, name := range names {
		tok := token(name)
		tok.Digest = fmt.Appendf(nil, "digest %d", i)
		tok.CreatedAt = base.Add(-time.Duration(i) * time.Second)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		all = append(all, tok)
	}
	// Indexed with the 4th, 7th and 10th creates: each indexes up to
	// itself.
	if n := indexed(); n != all[9].ID {
		t.Errorf("names_indexed = %d, want %d", n, all[9].ID)
	}
	check := func() {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), `INSERT INTO tokens_fts (tokens_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Errorf("the index of names differs from the table: %v", err)
		}
	}
	check()
	checkWords(t, db)
	// Two more, above the highest ID indexed.
	for i, name := range []string{"deploy late", "late"} {
		tok := token(name)
		tok.Digest = fmt.Appendf(nil, "late digest %d", i)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		all = append(all, tok)
	}
	for _, search := range []string{"deploy", "DEPLOY prod", "ünï", "a*b", "x?y", "ci", "late", "nomatch", `"deploy s"`} {
		for _, sort := range []patkit.Sort{patkit.SortDefault, patkit.SortNameAsc, patkit.SortCreatedDesc} {
			for _, perPage := range []int{2, 20} {
				q := patkit.Query{Filter: patkit.Filter{Search: search, Sort: sort, PerPage: perPage}}
				q.Normalize()
				var want []int64
				for _, tok := range all {
					if q.Match(tok) {
						want = append(want, tok.ID)
					}
				}
				slices.SortFunc(want, func(a, b int64) int {
					return sort.Compare(byID(all, a), byID(all, b))
				})
				var got []int64
				for page := 1; ; page++ {
					q.Page = page
					toks, total, err := s.List(t.Context(), &q)
					if err != nil {
						t.Fatal(err)
					}
					if total != len(want) {
						t.Errorf("search %q, %s, page %d of %d: total %d, want %d", search, sort, page, perPage, total, len(want))
					}
					for _, tok := range toks {
						got = append(got, tok.ID)
					}
					if len(toks) < perPage {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("search %q, %s, pages of %d: %v, want %v", search, sort, perPage, got, want)
				}
			}
		}
	}
}

// TestSearchSparseMatches checks a search of all tokens whose matches
// are more than its Range reads and sparser than one in
// sqlq.CandidatesSpan IDs: counted from the trigram index (Count), paged
// by the walk of the order.
func TestSearchSparseMatches(t *testing.T) {
	t.Parallel()
	s := open(t, nil)
	s.SetNamesEvery(7)
	s.SetBudgets(sqlq.Budgets{SearchPages: 1})
	var want []int64
	for i := range 300 {
		name := fmt.Sprint("filler ", i)
		if i%50 == 25 {
			name = fmt.Sprint("Sparse ", i)
		}
		tok := token(name)
		tok.Digest = fmt.Appendf(nil, "sparse digest %d", i)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if i%50 == 25 {
			want = append(want, tok.ID)
		}
	}
	for _, perPage := range []int{1, 2, 4} {
		var got []int64
		for page := 1; page <= 7; page++ {
			q := patkit.Query{Filter: patkit.Filter{Search: "sparse", Page: page, PerPage: perPage}}
			q.Normalize()
			toks, total, err := s.List(t.Context(), &q)
			if err != nil {
				t.Fatal(err)
			}
			if total != len(want) {
				t.Errorf("pages of %d, page %d: total %d, want %d", perPage, page, total, len(want))
			}
			for _, tok := range toks {
				got = append(got, tok.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d: %v, want %v", perPage, got, want)
		}
	}
}

// checkWords compares tokens_words (migration 0018) with the words of the
// folded names, split at spaces, of 3 characters or more, each counted
// once per token, of the tokens up to the ID words_indexed records, which
// must be the highest.
func checkWords(t *testing.T, db *sql.DB) {
	t.Helper()
	if indexed, last := checkWordsUpTo(t, db); indexed != last {
		t.Errorf("words_indexed = %d, want the highest ID, %d", indexed, last)
	}
}

// checkWordsUpTo compares tokens_words with the words of the folded names
// of the tokens up to the ID words_indexed records, and returns that ID
// and the highest. Rows of no token (words whose tokens all left) are
// left out.
func checkWordsUpTo(t *testing.T, db *sql.DB) (indexed, last int64) {
	t.Helper()
	if err := db.QueryRowContext(t.Context(), `SELECT (SELECT value FROM patkit_meta WHERE name = 'words_indexed'), coalesce(max(id), 0) FROM tokens`).Scan(&indexed, &last); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	rows, err := db.QueryContext(t.Context(), `SELECT name_folded FROM tokens WHERE id <= ?`, indexed)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for w := range strings.SplitSeq(name, " ") {
			if utf8.RuneCountInString(w) >= 3 && !seen[w] {
				seen[w] = true
				want[w]++
			}
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	rows, err = db.QueryContext(t.Context(), `SELECT word, n FROM tokens_words WHERE n <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var w string
		var n int64
		if err := rows.Scan(&w, &n); err != nil {
			t.Fatal(err)
		}
		got[w] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens_words (-the names' words +the table):\n%s", diff)
	}
	return indexed, last
}

func byID(all []*patkit.Token, id int64) *patkit.Token {
	for _, tok := range all {
		if tok.ID == id {
			return tok
		}
	}
	return nil
}

// TestConformanceNamesIndexed runs the list subtests of the conformance
// suite with every token's name indexed as it is created, so that the
// searches of all tokens read their candidates from the trigram index
// rather than from the tokens above it.
func TestConformanceNamesIndexed(t *testing.T) {
	t.Parallel()
	storetest.RunLists(t, func(t *testing.T) patkit.Store {
		s := open(t, nil)
		s.SetNamesEvery(1)
		return s
	})
}

// TestMigrateIndexesNames checks that Migrate indexes the names of the
// tokens the index does not hold, written by anything but a Store: here
// an import in SQL between two Opens.
func TestMigrateIndexesNames(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, err := sqlitestore.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(t.Context(), token("deploy one")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := openReader(t, path)
	if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
		INSERT INTO tokens (user_id, name, name_folded, created_at, digest)
		SELECT 1, 'Imported deploy ' || i, 'imported deploy ' || i, 0, randomblob(32) FROM n`); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path, nil)
	var indexed, last int64
	if err := db.QueryRowContext(t.Context(), `SELECT (SELECT value FROM patkit_meta WHERE name = 'names_indexed'), max(id) FROM tokens`).Scan(&indexed, &last); err != nil {
		t.Fatal(err)
	}
	if indexed != last || last != 301 {
		t.Errorf("names_indexed = %d, want the highest ID, %d (301)", indexed, last)
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO tokens_fts (tokens_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("the index of names differs from the table: %v", err)
	}
	checkWords(t, db)
	q := patkit.Query{Filter: patkit.Filter{Search: "imported 299"}}
	q.Normalize()
	toks, total, err := s.List(t.Context(), &q)
	if err != nil || total != 1 || len(toks) != 1 || toks[0].Name != "Imported deploy 299" {
		t.Errorf("List: %d tokens, total %d, %v; want Imported deploy 299", len(toks), total, err)
	}
}

// TestIndexNamesTwoStores checks the index of names with two Stores
// writing one file, as two processes would: each indexes, every few of
// its own creates, every token above the highest ID indexed, its own and
// the other's, so that the index ends equal to the table and both list
// every match.
func TestIndexNamesTwoStores(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	a, b := openPath(t, path, nil), openPath(t, path, nil)
	a.SetNamesEvery(2)
	b.SetNamesEvery(3)
	var want []int64
	for i := range 40 {
		s := a
		if i%3 == 1 {
			s = b
		}
		tok := token(fmt.Sprint("shared deploy ", i))
		tok.Digest = fmt.Appendf(nil, "shared digest %d", i)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		want = append(want, tok.ID)
	}
	// A write of each, indexing once more if it created any token since
	// it last did: then every name is indexed, whoever indexed it.
	for _, s := range []*sqlitestore.Store{a, b} {
		s.SetNamesEvery(1)
		if err := s.Revoke(t.Context(), want[0], base); err != nil {
			t.Fatal(err)
		}
	}
	db := openReader(t, path)
	var indexed int64
	if err := db.QueryRowContext(t.Context(), `SELECT value FROM patkit_meta WHERE name = 'names_indexed'`).Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	if indexed != want[len(want)-1] {
		t.Errorf("names_indexed = %d, want %d", indexed, want[len(want)-1])
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO tokens_fts (tokens_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("the index of names differs from the table: %v", err)
	}
	checkWords(t, db)
	for _, s := range []*sqlitestore.Store{a, b} {
		q := patkit.Query{Filter: patkit.Filter{Search: "shared deploy", PerPage: 100}}
		q.Normalize()
		toks, total, err := s.List(t.Context(), &q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, tok := range toks {
			got = append(got, tok.ID)
		}
		if total != len(want) || !slices.Equal(got, want) {
			t.Errorf("List: total %d, %v; want %v", total, got, want)
		}
	}
}

// TestMigrateRecountsWords migrates a database at migration 0019 whose
// tokens_words had counted every token before the host deleted some and
// renamed one (0019's triggers then added -1 to the empty word's row for
// each): migration 0020 has Migrate count every token's words afresh,
// and the empty word's row is gone.
func TestMigrateRecountsWords(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openDB(t, path)
	migrateTo(t, db, 19)
	if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 300)
		INSERT INTO tokens (user_id, name, name_folded, created_at, digest)
		SELECT 2, 'Deploy ' || n || ' bot', 'deploy ' || n || ' bot', 1700000000000000 + n, randomblob(32) FROM i`); err != nil {
		t.Fatal(err)
	}
	// Counted as the Store counts them, then some leave.
	for _, q := range []string{
		`INSERT INTO tokens_words (word, n) VALUES ('deploy', 300), ('bot', 300)`,
		`INSERT INTO tokens_words (word, n) SELECT CAST(id AS TEXT), 1 FROM tokens WHERE id >= 100`,
		`INSERT INTO patkit_meta (name, value) VALUES ('words_indexed', 300)`,
		`DELETE FROM tokens WHERE id <= 20`,
		`UPDATE tokens SET name = 'renamed', name_folded = 'renamed' WHERE id = 21`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var empty int64
	if err := db.QueryRowContext(t.Context(), `SELECT n FROM tokens_words WHERE word = ''`).Scan(&empty); err != nil || empty != -21 {
		t.Fatalf("the empty word's row under 0019: %d, %v; want -21", empty, err)
	}
	openPath(t, path, nil)
	checkWords(t, db)
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM tokens_words WHERE word = ''`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the empty word's rows after 0020: %d, %v", n, err)
	}
}
