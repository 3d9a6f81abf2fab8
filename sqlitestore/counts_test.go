package sqlitestore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/counttest"
	"github.com/patkit/patkit/internal/migrate"
	"github.com/patkit/patkit/sqlitestore"
)

// The counters of token_counts, and List's totals that read them, must
// match the tokens whoever writes them and whatever happens to the
// transaction.

// countsSQL is token_counts without its empty rows; wantCountsSQL is what
// it should hold, counted from tokens.
const (
	countsSQL = `SELECT scope, resource_type, id, n, n_revoked, n_imp, n_imp_revoked FROM token_counts
		WHERE n <> 0 OR n_revoked <> 0 OR n_imp <> 0 OR n_imp_revoked <> 0 ORDER BY 1, 2, 3`
	wantCountsSQL = `SELECT * FROM (
		SELECT 0 AS scope, '' AS resource_type, 0 AS id, ` + splitSQL + ` FROM tokens HAVING count(*) > 0
		UNION ALL SELECT 1, '', user_id, ` + splitSQL + ` FROM tokens GROUP BY user_id
		UNION ALL SELECT 2, resource_type, resource_id, ` + splitSQL + ` FROM tokens
			WHERE resource_type <> '' GROUP BY resource_type, resource_id
	) ORDER BY 1, 2, 3`
	splitSQL = `sum(impersonation = 0 AND revoked = 0), sum(impersonation = 0 AND revoked <> 0),
		sum(impersonation <> 0 AND revoked = 0), sum(impersonation <> 0 AND revoked <> 0)`
)

// expiryCounts returns token_expiry_counts, which holds no row at zero,
// and what it should hold, counted from tokens: for each row, its counters
// n, n_revoked, n_imp and n_imp_revoked.
func expiryCounts(t *testing.T, db *sql.DB) (got, want map[counttest.ExpiryKey][4]int64) {
	t.Helper()
	got = map[counttest.ExpiryKey][4]int64{}
	rows, err := db.QueryContext(t.Context(), `SELECT scope, resource_type, id, level, expires_at,
		n, n_revoked, n_imp, n_imp_revoked FROM token_expiry_counts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k counttest.ExpiryKey
		var n [4]int64
		if err := rows.Scan(&k.Scope, &k.ResourceType, &k.ID, &k.Level, &k.ExpiresAt, &n[0], &n[1], &n[2], &n[3]); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = db.QueryContext(t.Context(), `SELECT user_id, coalesce(resource_type, ''), resource_id, impersonation <> 0, revoked <> 0, expires_at FROM tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var toks []counttest.Row
	for rows.Next() {
		var r counttest.Row
		if err := rows.Scan(&r.UserID, &r.ResourceType, &r.ResourceID, &r.Impersonation, &r.Revoked, &r.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got, counttest.WantExpiry(toks)
}

type countRow struct {
	Scope        int
	ResourceType string
	ID           int64
	N            [4]int64
}

func countRows(t *testing.T, db *sql.DB, query string) []countRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rs []countRow
	for rows.Next() {
		var r countRow
		if err := rows.Scan(&r.Scope, &r.ResourceType, &r.ID, &r.N[0], &r.N[1], &r.N[2], &r.N[3]); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return rs
}

// checkCounts compares the counters with a count of the tokens, and the
// totals of List for queries the counters answer with the matches of
// every token.
func checkCounts(t *testing.T, s *sqlitestore.Store, db *sql.DB, step string) {
	t.Helper()
	if diff := cmp.Diff(countRows(t, db, wantCountsSQL), countRows(t, db, countsSQL)); diff != "" {
		t.Errorf("%s: token_counts (-want +got):\n%s", step, diff)
	}
	if got, want := expiryCounts(t, db); !cmp.Equal(want, got) {
		t.Errorf("%s: token_expiry_counts (-want +got):\n%s", step, cmp.Diff(want, got))
	}
	counttest.CheckListTotals(t, s, step)
}

// countToken returns a token of user, for resource if id is not 0.
func countToken(name string, user int64, rt patkit.ResourceType, id int64, imp bool) *patkit.Token {
	tok := token(name)
	tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation = user, rt, id, imp
	return tok
}

// createMix creates, through s, personal, impersonation, project and group
// tokens of a few owners, and revokes some.
func createMix(t *testing.T, s *sqlitestore.Store, prefix string) []*patkit.Token {
	t.Helper()
	return counttest.CreateMix(t, s, prefix, countToken)
}

func TestCountsThroughTheStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, db := openPath(t, path, nil), openDB(t, path)
	checkCounts(t, s, db, "empty")
	toks := createMix(t, s, "mix")
	checkCounts(t, s, db, "created")

	for _, tok := range toks[:6] {
		if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil { // some twice
			t.Fatal(err)
		}
	}
	checkCounts(t, s, db, "revoked")

	for i, tok := range toks[6:12] {
		next := countToken(fmt.Sprint("rotated ", i), tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation)
		next.PreviousID = tok.ID
		err := s.Rotate(t.Context(), tok.ID, next)
		if err != nil && !(errors.Is(err, patkit.ErrTokenRevoked) && tok.ID == toks[10].ID) {
			t.Fatalf("rotate %d: %v", tok.ID, err)
		}
	}
	checkCounts(t, s, db, "rotated")

	if err := s.SetLastUsed(t.Context(), toks[13].ID, base, []string{"192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, db, "last used")

	// Writes that fail are rolled back in their savepoint, and change no
	// count: a duplicate digest, the rotation of a revoked token, the
	// rotation to a duplicate digest.
	if err := s.Create(t.Context(), countToken("mix1", 2, "", 0, true)); !errors.Is(err, patkit.ErrConflict) {
		t.Fatalf("Create of a duplicate = %v, want ErrConflict", err)
	}
	if err := s.Rotate(t.Context(), toks[0].ID, countToken("never", 2, "", 0, false)); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Fatalf("Rotate of a revoked token = %v, want ErrTokenRevoked", err)
	}
	if err := s.Rotate(t.Context(), toks[13].ID, countToken("mix2", 2, "", 0, false)); !errors.Is(err, patkit.ErrConflict) {
		t.Fatalf("Rotate to a duplicate = %v, want ErrConflict", err)
	}
	if tok, err := s.Get(t.Context(), toks[13].ID); err != nil || tok.Revoked {
		t.Fatalf("after a failed rotation: %+v, %v; want the token unrevoked", tok, err)
	}
	checkCounts(t, s, db, "failed writes")
}

// TestCountsHostSQL changes tokens with the host's own SQL, on another
// connection: every change of a counted column is counted, and a
// transaction rolled back changes nothing.
func TestCountsHostSQL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, db := openPath(t, path, nil), openDB(t, path)
	createMix(t, s, "mix")
	exec := func(step string, stmts ...string) {
		t.Helper()
		for _, q := range stmts {
			if _, err := db.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %s: %v", step, q, err)
			}
		}
		checkCounts(t, s, db, step)
	}
	exec("insert",
		`INSERT INTO tokens (user_id, name, name_folded, impersonation, created_at, revoked, digest)
		VALUES (7, 'host', 'host', 0, 0, 0, x'01'), (7, 'host imp', 'host imp', 1, 0, 1, x'02')`,
		`INSERT INTO tokens (user_id, name, name_folded, impersonation, created_at, expires_at, digest)
		VALUES (7, 'host exp', 'host exp', 1, 0, 1796256000000000, x'04'), (8, 'host exp', 'host exp', 0, 0, 1796256000000000, x'05')`,
		`INSERT INTO tokens (user_id, name, name_folded, resource_type, resource_id, created_at, digest)
		VALUES (300, 'host bot', 'host bot', 'project', 9, 0, x'03')`,
		`INSERT INTO tokens (user_id, name, name_folded, resource_type, resource_id, created_at, expires_at, digest)
		SELECT user_id + 1000, name || ' copy', name_folded || ' copy', resource_type, resource_id, created_at, expires_at, digest || x'ff'
		FROM tokens`)
	exec("revoke", `UPDATE tokens SET revoked = 1 WHERE user_id IN (2, 7)`)
	exec("unrevoke", `UPDATE tokens SET revoked = 0 WHERE id % 3 = 0`)
	exec("impersonation", `UPDATE tokens SET impersonation = 1 - impersonation WHERE id % 4 = 1`)
	exec("move owner", `UPDATE tokens SET user_id = user_id % 5 + 2 WHERE id % 2 = 0`)
	exec("move resource", `UPDATE tokens SET resource_id = resource_id + 1 WHERE resource_type = 'group'`)
	exec("to personal", `UPDATE tokens SET resource_type = NULL, resource_id = 0 WHERE resource_type = 'project' AND id % 2 = 1`)
	exec("to project", `UPDATE tokens SET resource_type = 'project', resource_id = 5, revoked = 1 WHERE id % 7 = 0`)
	exec("everything", `UPDATE tokens SET user_id = 8, resource_type = 'group', resource_id = 8, impersonation = 0, revoked = 1 - revoked WHERE id % 5 = 2`)
	exec("later expiry", `UPDATE tokens SET expires_at = expires_at + 86400000000 WHERE id % 3 = 0`)
	exec("to never", `UPDATE tokens SET expires_at = NULL WHERE id % 4 = 3`)
	exec("from never", `UPDATE tokens SET expires_at = 1798761600000000 WHERE expires_at IS NULL AND id % 3 = 1`)
	exec("odd expiries", `UPDATE tokens SET expires_at = -86400000001 WHERE id % 11 = 4`, // before 1970, not a midnight
		`UPDATE tokens SET expires_at = 1794355200000001 WHERE id % 11 = 5`) // 1 µs after a block starts
	exec("expiry and revocation", `UPDATE tokens SET expires_at = coalesce(expires_at, 0) + 2764800000000, revoked = 1 - revoked WHERE id % 5 = 1`)
	exec("nothing counted", `UPDATE tokens SET revoked = revoked, user_id = user_id, expires_at = expires_at, last_used_at = 5, name = name || '.'`)
	exec("revoked expiry", `UPDATE tokens SET expires_at = 1 WHERE revoked <> 0`)
	exec("delete revoked", `DELETE FROM tokens WHERE revoked <> 0 AND id % 2 = 0`)
	exec("delete", `DELETE FROM tokens WHERE id % 3 = 1`)
	exec("rolled back",
		`BEGIN`,
		`INSERT INTO tokens (user_id, name, name_folded, created_at, digest) VALUES (9, 'gone', 'gone', 0, x'09')`,
		`UPDATE tokens SET revoked = 1 - revoked, user_id = 9`,
		`UPDATE tokens SET expires_at = NULL`,
		`DELETE FROM tokens WHERE id % 2 = 0`,
		`ROLLBACK`)
	exec("delete all", `DELETE FROM tokens`)
	createMix(t, s, "again")
	checkCounts(t, s, db, "created again")
}

// TestCountsConcurrentWriters writes from many goroutines through two
// Stores on one file.
func TestCountsConcurrentWriters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	stores := []*sqlitestore.Store{openPath(t, path, nil), openPath(t, path, nil)}
	var wg sync.WaitGroup
	for g := range 16 {
		s := stores[g%2]
		wg.Go(func() {
			for i := range 20 {
				tok := countToken(fmt.Sprintf("g%d-%d", g, i), int64(2+i%3), "", 0, i%5 == 0)
				if g%4 == 3 {
					tok = countToken(fmt.Sprintf("g%d-%d", g, i), int64(1000+g*100+i), patkit.ResourceProject, int64(i%2), false)
				}
				if err := s.Create(t.Context(), tok); err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 1:
					err := s.Revoke(t.Context(), tok.ID, time.Now())
					if err != nil {
						t.Error(err)
					}
				case 2:
					next := countToken(fmt.Sprintf("g%d-%d next", g, i), tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation)
					if err := s.Rotate(t.Context(), tok.ID, next); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	checkCounts(t, stores[0], openDB(t, path), "concurrent")
}

// TestCountsBackfill migrates a database that has tokens but no counters,
// as one made before they existed: the migration counts what is there.
func TestCountsBackfill(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, db := openPath(t, path, nil), openDB(t, path)
	createMix(t, s, "mix")
	for _, q := range []string{
		`DROP TABLE token_counters`, `DROP VIEW token_counts`, `DROP VIEW token_expiry_counts`,
		`DROP TRIGGER token_counters_insert`, `DROP TRIGGER token_counters_delete`,
		`DROP TRIGGER token_counters_update`, `DROP TRIGGER token_counters_move`,
		`DELETE FROM patkit_migrations WHERE version IN (5, 8, 9, 11)`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO tokens (user_id, name, name_folded, created_at, revoked, digest)
		VALUES (7, 'old', 'old', 0, 1, x'01')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, db, "backfilled")
	createMix(t, s, "after")
	checkCounts(t, s, db, "after")
}

// migrateTo applies to db, a new database, the migrations up to version
// last as Migrate would have when they were the latest, and records them.
func migrateTo(t *testing.T, db *sql.DB, last int) {
	t.Helper()
	ms, err := migrate.Load(os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), `CREATE TABLE patkit_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version > last {
			continue
		}
		if _, err := tx.ExecContext(t.Context(), strings.ReplaceAll(m.SQL, "{{prefix}}", "")); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO patkit_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestCountsBackfillRevoked migrates a database at migration 0010, whose
// expiry counters count only the tokens not revoked, with tokens of every
// kind and expiry: revoked when created, revoked later, revoked and then
// given another expiry, deleted when revoked, and not revoked. The
// migration that counts revoked tokens by expiry counts those already
// there.
func TestCountsBackfillRevoked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openDB(t, path)
	migrateTo(t, db, 10)
	type kind struct {
		rt  any // NULL, as the Store writes a personal token, or '', as a host may
		imp bool
	}
	kinds := []kind{{nil, false}, {nil, true}, {"", false}, {"", true}, {"project", false}, {"group", false}}
	i := 0
	for _, k := range kinds {
		for _, exp := range counttest.Expiries {
			var expiresAt any
			if !exp.IsZero() {
				expiresAt = exp.UnixMicro()
			}
			for revoked := range 3 { // not, when created, later
				user, rid := int64(2+i%3), int64(0)
				if k.rt == "project" || k.rt == "group" {
					user, rid = int64(100+i), int64(1+i%2)
				}
				name := fmt.Sprint("old ", i)
				res, err := db.ExecContext(t.Context(), `INSERT INTO tokens (user_id, name, name_folded, impersonation,
					resource_type, resource_id, created_at, expires_at, revoked, digest) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
					user, name, name, k.imp, k.rt, rid, expiresAt, revoked == 1, []byte(name))
				if err != nil {
					t.Fatal(err)
				}
				if revoked == 2 {
					id, err := res.LastInsertId()
					if err != nil {
						t.Fatal(err)
					}
					if _, err := db.ExecContext(t.Context(), `UPDATE tokens SET revoked = 1 WHERE id = ?`, id); err != nil {
						t.Fatal(err)
					}
				}
				i++
			}
		}
	}
	for _, q := range []string{
		`UPDATE tokens SET expires_at = coalesce(expires_at, 0) + 86400000000 WHERE revoked <> 0 AND id % 4 = 0`,
		`UPDATE tokens SET expires_at = NULL WHERE revoked <> 0 AND id % 4 = 1`,
		`DELETE FROM tokens WHERE revoked <> 0 AND id % 5 = 0`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var latest int
	if err := db.QueryRowContext(t.Context(), `SELECT max(version) FROM patkit_migrations`).Scan(&latest); err != nil || latest != 10 {
		t.Fatalf("before Open: latest migration %d, %v; want 10", latest, err)
	}

	s := openPath(t, path, nil)
	checkCounts(t, s, db, "migrated")
	toks := createMix(t, s, "after")
	for _, tok := range toks[:8] {
		if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	checkCounts(t, s, db, "after")
}

// TestCountsCreatedAndWords checks List's totals on tokens inserted in
// SQL, one dataset for two bounds from below of the counters, as each
// count of 10,001 entries is slow under the race detector: of all tokens
// bounded on creation, which subtract the zones that may hold tokens
// created out of the bounds (see counttest.CheckCreatedTotals), and of
// searches of all tokens by a word, which take every token but those with
// the word among their name's words (tokens_words, counted when the Store
// next migrates) away (see counttest.CheckWordTotals), then with tokens
// the table does not count yet, whose names the count must read. Then that
// each count takes its table at its word: zones that say no token was
// created before a bound make it answer more than patkit.MaxCount for a
// bound that keeps a few, and so does a row of tokens_words that says a
// million names hold the word, for a search that keeps a few.
func TestCountsCreatedAndWords(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openDB(t, path)
	openPath(t, path, nil) // migrated
	// One name in 13 holds "deploy" within "redeploy" only, one holds
	// neither; every other has "deploy" as a word of its own.
	insert := func(from, to int) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE i(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM i WHERE n < ?)
			INSERT INTO tokens (user_id, name, name_folded, impersonation, created_at, expires_at, revoked, digest)
			SELECT n % 50 + 2, name, lower(name), n % 50 = 0, 1700000000000000 + n * 60000000,
				CASE n % 10 WHEN 0 THEN NULL ELSE 1700000000000000 + n * 7200000000 END, n % 7 = 0, randomblob(32)
			FROM (SELECT n, CASE n % 13 WHEN 0 THEN 'bulk ' || n || ' redeploy' WHEN 1 THEN 'bulk ' || n
				ELSE 'Bulk ' || n || ' Deploy' END AS name FROM i)`, from, to); err != nil {
			t.Fatal(err)
		}
	}
	insert(1, counttest.CreatedTokens)
	s := openPath(t, path, nil) // counts the words
	counttest.CheckCreatedTotals(t, s)
	counttest.CheckWordTotals(t, s, "deploy")

	insert(counttest.CreatedTokens+1, counttest.CreatedTokens+1000)
	counttest.CheckWordTotals(t, s, "deploy")

	// Counted tokens that leave (migration 0019): 3,600 renamed leave
	// fewer than 10,001 names holding the word, where tokens_words still
	// counts 11,342 under it.
	search := patkit.Query{Filter: patkit.Filter{Search: "deploy"}}
	search.Normalize()
	checkSearch := func(step string) {
		t.Helper()
		var want int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM tokens WHERE name_folded LIKE '%deploy%'`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if _, n, err := s.List(t.Context(), &search); err != nil || n != min(want, patkit.MaxCount+1) {
			t.Errorf("%s: List of the tokens named deploy: total %d, %v; want %d", step, n, err, min(want, patkit.MaxCount+1))
		}
	}
	if _, err := db.ExecContext(t.Context(), `UPDATE tokens SET name = 'gone ' || id, name_folded = 'gone ' || id
		WHERE id IN (SELECT id FROM tokens WHERE name_folded LIKE '% deploy' ORDER BY id LIMIT 3600)`); err != nil {
		t.Fatal(err)
	}
	checkSearch("renamed")
	// Their new names are searched from tokens_fts too.
	gone := patkit.Query{Filter: patkit.Filter{Search: "gone"}}
	gone.Normalize()
	if _, n, err := s.List(t.Context(), &gone); err != nil || n != 3600 {
		t.Errorf("List of the tokens renamed gone: total %d, %v; want 3600", n, err)
	}
	// 100 counted and 10 not counted deleted: only those counted leave.
	if _, err := db.ExecContext(t.Context(), `DELETE FROM tokens WHERE id <= 100 OR id BETWEEN ? AND ?`,
		counttest.CreatedTokens+1, counttest.CreatedTokens+10); err != nil {
		t.Fatal(err)
	}
	checkSearch("deleted")
	// tokens_words takes exactly their words away, and adds the renamed
	// ones' new words (migration 0020).
	checkWordsUpTo(t, db)
	// A token not counted yet moved down to a free counted ID: indexed and
	// counted there, where the Store's batches only look above.
	if _, err := db.ExecContext(t.Context(), `UPDATE tokens SET id = 50, name = 'moved down', name_folded = 'moved down'
		WHERE id = ?`, counttest.CreatedTokens+500); err != nil {
		t.Fatal(err)
	}
	checkWordsUpTo(t, db)
	moved := patkit.Query{Filter: patkit.Filter{Search: "moved"}}
	moved.Normalize()
	if _, n, err := s.List(t.Context(), &moved); err != nil || n != 1 {
		t.Errorf("List of the token moved down: total %d, %v; want 1", n, err)
	}
	// Words that JSON escapes, spaces doubled, and then gone.
	odd := "q\"uote back\\slash \u00e9t\u00e9\U0001F600  tab\tx \x01ctl deploy"
	for _, q := range []string{`UPDATE tokens SET name = ?, name_folded = ? WHERE id = 50`, `DELETE FROM tokens WHERE id = 50 AND name <> ?`} {
		args := []any{odd, odd}
		if strings.HasPrefix(q, "DELETE") {
			args = []any{""}
		}
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatal(err)
		}
		checkWordsUpTo(t, db)
	}

	// The search's first page, whose count is the count query (a page far
	// out, or matches sparser than one ID in 16, are counted from the
	// trigram index's candidates): fewer than 10,001 match now.
	counttest.CheckWordRowTaken(t, s, search, func() error {
		_, err := db.ExecContext(t.Context(), `UPDATE tokens_words SET n = 1000000 WHERE word = 'deploy'`)
		return err
	})

	created := patkit.Query{Filter: patkit.Filter{CreatedAfter: time.UnixMicro(1700000000000000 + (counttest.CreatedTokens+998)*60000000), Page: patkit.MaxPage}}
	created.Normalize()
	if _, n, err := s.List(t.Context(), &created); err != nil || n != 3 {
		t.Fatalf("List of the last 3 tokens: total %d, %v", n, err)
	}
	if _, err := db.ExecContext(t.Context(), `UPDATE tokens_zones SET created_lo = 9000000000000000000`); err != nil {
		t.Fatal(err)
	}
	if _, n, err := s.List(t.Context(), &created); err != nil || n != patkit.MaxCount+1 {
		t.Errorf("List of the last 3 tokens, zones created in the future: total %d, %v; want %d", n, err, patkit.MaxCount+1)
	}
}
