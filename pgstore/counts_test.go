package pgstore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/counttest"
	"github.com/patkit/patkit/internal/migrate"
	"github.com/patkit/patkit/internal/sqlq"
	"github.com/patkit/patkit/pgstore"
)

// The counters of token_counts, and List's totals that read them, must
// match the tokens whoever writes them and whatever happens to the
// transaction.

// countsSQL is token_counts summed over stripes, without empty scopes;
// wantCountsSQL is what it should hold, counted from tokens.
const (
	countsSQL = `SELECT scope, resource_type, id, sum(n)::bigint, sum(n_revoked)::bigint, sum(n_imp)::bigint, sum(n_imp_revoked)::bigint
		FROM token_counts GROUP BY 1, 2, 3
		HAVING sum(n) <> 0 OR sum(n_revoked) <> 0 OR sum(n_imp) <> 0 OR sum(n_imp_revoked) <> 0 ORDER BY 1, 2, 3`
	wantCountsSQL = `SELECT k.scope, k.resource_type, k.id,
		count(*) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), count(*) FILTER (WHERE NOT t.impersonation AND t.revoked),
		count(*) FILTER (WHERE t.impersonation AND NOT t.revoked), count(*) FILTER (WHERE t.impersonation AND t.revoked)
		FROM tokens AS t CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
			AS k (scope, resource_type, id)
		WHERE k.scope < 2 OR t.resource_type <> ''
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
)

// expiryCounts returns token_expiry_counts summed over stripes (n,
// n_revoked, n_imp, n_imp_revoked), without keys at zero, and what it
// should hold, counted from tokens.
func expiryCounts(t *testing.T, pool *pgxpool.Pool) (got, want map[counttest.ExpiryKey][4]int64) {
	t.Helper()
	got = map[counttest.ExpiryKey][4]int64{}
	rows, err := pool.Query(t.Context(), `SELECT scope, resource_type, id, level, expires_at,
		sum(n)::bigint, sum(n_revoked)::bigint, sum(n_imp)::bigint, sum(n_imp_revoked)::bigint
		FROM token_expiry_counts GROUP BY 1, 2, 3, 4, 5
		HAVING sum(n) <> 0 OR sum(n_revoked) <> 0 OR sum(n_imp) <> 0 OR sum(n_imp_revoked) <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k counttest.ExpiryKey
		var at pgtype.Timestamptz
		var n [4]int64
		if err := rows.Scan(&k.Scope, &k.ResourceType, &k.ID, &k.Level, &at, &n[0], &n[1], &n[2], &n[3]); err != nil {
			t.Fatal(err)
		}
		k.ExpiresAt = at.Time.UnixMicro()
		if at.InfinityModifier == pgtype.Infinity {
			k.ExpiresAt = math.MaxInt64
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = pool.Query(t.Context(), `SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM tokens`)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (counttest.Row, error) {
		var r counttest.Row
		var at *time.Time
		err := row.Scan(&r.UserID, &r.ResourceType, &r.ResourceID, &r.Impersonation, &r.Revoked, &at)
		if at != nil {
			us := at.UnixMicro()
			r.ExpiresAt = &us
		}
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, counttest.WantExpiry(toks)
}

type countRow struct {
	Scope        int16
	ResourceType string
	ID           int64
	N            [4]int64
}

// schemaPool returns a pool whose connections have search_path set to
// schema, for the host's own SQL.
func schemaPool(t *testing.T, schema string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func countRows(t *testing.T, pool *pgxpool.Pool, query string) []countRow {
	t.Helper()
	rows, err := pool.Query(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (countRow, error) {
		var c countRow
		err := r.Scan(&c.Scope, &c.ResourceType, &c.ID, &c.N[0], &c.N[1], &c.N[2], &c.N[3])
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// useKey is a key of token_use_counts: its level (0 a day, 1 a block of
// sqlq.UseBlockDays days) and the day's or block's number from 1970-01-01.
type useKey struct{ Level, Key int64 }

// useCounts returns the rows of token_use_counts, their stripes added up,
// and those the tokens' last uses give, computed in Go.
func useCounts(t *testing.T, pool *pgxpool.Pool) (got, want map[useKey]int64) {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT level, key, sum(n)::bigint FROM token_use_counts GROUP BY 1, 2 HAVING sum(n) <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	got = map[useKey]int64{}
	for rows.Next() {
		var k useKey
		var n int64
		if err := rows.Scan(&k.Level, &k.Key, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = pool.Query(t.Context(), `SELECT last_used_at FROM tokens WHERE last_used_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	uses, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		t.Fatal(err)
	}
	want = map[useKey]int64{}
	floorDiv := func(a, b int64) int64 { return int64(math.Floor(float64(a) / float64(b))) }
	for _, u := range uses {
		day := floorDiv(u.Unix(), 86400)
		want[useKey{0, day}]++
		want[useKey{1, floorDiv(day, sqlq.UseBlockDays)}]++
	}
	return got, want
}

// checkCounts compares the counters with a count of the tokens, and the
// totals of List for the queries the counters answer with the matches of
// every token.
func checkCounts(t *testing.T, s *pgstore.Store, pool *pgxpool.Pool, step string) {
	t.Helper()
	if diff := cmp.Diff(countRows(t, pool, wantCountsSQL), countRows(t, pool, countsSQL)); diff != "" {
		t.Errorf("%s: token_counts (-want +got):\n%s", step, diff)
	}
	if got, want := expiryCounts(t, pool); !cmp.Equal(want, got) {
		t.Errorf("%s: token_expiry_counts (-want +got):\n%s", step, cmp.Diff(want, got))
	}
	if got, want := useCounts(t, pool); !cmp.Equal(want, got) {
		t.Errorf("%s: token_use_counts (-want +got):\n%s", step, cmp.Diff(want, got))
	}
	// A token inserted with an ID at or below the mark, or committed after
	// a catch-up that counted beyond it, is never counted: no more.
	got, want := wordCounts(t, pool)
	for w, n := range got {
		if n > want[w] {
			t.Errorf("%s: token_words counts %d names with the word %q, %d hold it", step, n, w, want[w])
		}
	}
	counttest.CheckListTotals(t, s, step)
}

// wordCounts returns the rows of token_words (got) and the words of the
// names of the tokens up to token_words_mark's upto (want: what the
// table must count), each word counted once per token: the names
// lower-cased and split at spaces, words of 3 characters or more,
// computed in Go.
func wordCounts(t *testing.T, pool *pgxpool.Pool) (got, want map[string]int64) {
	t.Helper()
	got, want = map[string]int64{}, map[string]int64{}
	rows, err := pool.Query(t.Context(), `SELECT word, n FROM token_words WHERE n <> 0`)
	if err != nil {
		t.Fatal(err)
	}
	var w string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&w, &n}, func() error { got[w] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	var upto int64
	if err := pool.QueryRow(t.Context(), `SELECT upto FROM token_words_mark`).Scan(&upto); err != nil {
		t.Fatal(err)
	}
	rows, err = pool.Query(t.Context(), `SELECT name FROM tokens WHERE id <= $1`, upto)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&name}, func() error {
		seen := map[string]bool{}
		for w := range strings.SplitSeq(strings.ToLower(name), " ") {
			if utf8.RuneCountInString(w) >= 3 && !seen[w] {
				seen[w] = true
				want[w]++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// countToken returns a token of user, for the resource rt id if rt is set.
func countToken(name string, user int64, rt patkit.ResourceType, id int64, imp bool) *patkit.Token {
	tok := token(name)
	tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation = user, rt, id, imp
	return tok
}

// createMix creates, through s, personal, impersonation, project and group
// tokens of a few owners, and revokes some.
func createMix(t *testing.T, s *pgstore.Store, prefix string) []*patkit.Token {
	t.Helper()
	return counttest.CreateMix(t, s, prefix, countToken)
}

func TestCountsThroughTheStore(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	checkCounts(t, s, pool, "empty")
	toks := createMix(t, s, "mix")
	checkCounts(t, s, pool, "created")

	for _, tok := range toks[:6] {
		if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil { // some twice
			t.Fatal(err)
		}
	}
	checkCounts(t, s, pool, "revoked")

	for i, tok := range toks[6:12] {
		next := countToken(fmt.Sprint("rotated ", i), tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation)
		next.PreviousID = tok.ID
		err := s.Rotate(t.Context(), tok.ID, next)
		if err != nil && !(errors.Is(err, patkit.ErrTokenRevoked) && tok.ID == toks[10].ID) {
			t.Fatalf("rotate %d: %v", tok.ID, err)
		}
	}
	checkCounts(t, s, pool, "rotated")

	if err := s.SetLastUsed(t.Context(), toks[13].ID, toks[13].CreatedAt, []string{"192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "last used")

	// A rotation to a digest that exists fails after its revocation of
	// the old token: the transaction rolls back, counters included.
	dup := countToken("dup", 2, "", 0, false)
	dup.Digest = toks[2].Digest
	if err := s.Rotate(t.Context(), toks[13].ID, dup); !errors.Is(err, patkit.ErrConflict) {
		t.Fatalf("Rotate to a duplicate = %v, want ErrConflict", err)
	}
	if tok, err := s.Get(t.Context(), toks[13].ID); err != nil || tok.Revoked {
		t.Fatalf("after a failed rotation: %+v, %v; want the token unrevoked", tok, err)
	}
	if err := s.Create(t.Context(), dup); !errors.Is(err, patkit.ErrConflict) {
		t.Fatalf("Create of a duplicate = %v, want ErrConflict", err)
	}
	checkCounts(t, s, pool, "failed writes")
}

// TestCountsHostSQL changes tokens with the host's own SQL: every change
// of a counted column is counted, whatever the statement, and a
// transaction rolled back changes nothing.
func TestCountsHostSQL(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	createMix(t, s, "mix")
	exec := func(step string, stmts ...string) {
		t.Helper()
		for _, q := range stmts {
			if _, err := pool.Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %s: %v", step, q, err)
			}
		}
		checkCounts(t, s, pool, step)
		// The words of every token counted, so that the next step's
		// deletes and renames have them to take away.
		if _, err := pool.Exec(t.Context(), `SELECT token_words_catch_up()`); err != nil {
			t.Fatal(err)
		}
	}
	exec("insert",
		`INSERT INTO tokens (user_id, name, impersonation, created_at, revoked, digest)
		VALUES (7, 'host', false, now(), false, '\x01'), (7, 'host imp', true, now(), true, '\x02')`,
		`INSERT INTO tokens (user_id, name, impersonation, created_at, expires_at, digest)
		VALUES (7, 'host exp', true, now(), '2026-12-03Z', '\x04'), (8, 'host exp', false, now(), '2026-12-03Z', '\x05')`,
		`INSERT INTO tokens (user_id, name, resource_type, resource_id, created_at, digest)
		VALUES (300, 'host bot', 'project', 9, now(), '\x03')`,
		`INSERT INTO tokens (user_id, name, impersonation, resource_type, resource_id, created_at, expires_at, revoked, digest)
		SELECT user_id + 1000, name || ' copy', impersonation, resource_type, resource_id, created_at, expires_at, revoked, digest || '\xff'::bytea
		FROM tokens`)
	exec("upsert", `INSERT INTO tokens (user_id, name, created_at, digest)
		SELECT 5, 'upsert', now(), d FROM (VALUES ('\x01'::bytea), ('\x04'), ('\x06')) AS v (d)
		ON CONFLICT (digest) DO UPDATE SET revoked = NOT tokens.revoked, user_id = 6, expires_at = '2026-12-20Z'`)
	// Statements that change one token, as the Store's do, in every way.
	exec("one token",
		`UPDATE tokens SET revoked = true WHERE id = (SELECT min(id) FROM tokens WHERE impersonation AND NOT revoked)`,
		`UPDATE tokens SET revoked = false WHERE id = (SELECT min(id) FROM tokens WHERE revoked)`,
		`UPDATE tokens SET revoked = true WHERE id = (SELECT min(id) FROM tokens WHERE resource_type <> '' AND NOT revoked)`,
		`UPDATE tokens SET revoked = true WHERE id = (SELECT min(id) FROM tokens WHERE expires_at IS NULL AND NOT revoked)`,
		`UPDATE tokens SET user_id = 9 WHERE id = (SELECT max(id) FROM tokens WHERE NOT revoked)`,
		`UPDATE tokens SET resource_id = 10 WHERE id = (SELECT max(id) FROM tokens WHERE resource_type <> '')`,
		`UPDATE tokens SET expires_at = '2026-12-24Z' WHERE id = (SELECT max(id) FROM tokens WHERE NOT revoked AND expires_at IS NOT NULL)`,
		`UPDATE tokens SET impersonation = NOT impersonation, revoked = NOT revoked WHERE id = (SELECT min(id) FROM tokens)`,
		`UPDATE tokens SET expires_at = '2026-12-24Z' WHERE id = (SELECT max(id) FROM tokens WHERE revoked AND expires_at IS NOT NULL)`,
		`UPDATE tokens SET expires_at = NULL WHERE id = (SELECT min(id) FROM tokens WHERE revoked AND expires_at IS NOT NULL)`,
		`UPDATE tokens SET expires_at = '2026-11-10Z' WHERE id = (SELECT min(id) FROM tokens WHERE revoked AND expires_at IS NULL)`,
		`UPDATE tokens SET user_id = 9 WHERE id = (SELECT max(id) FROM tokens WHERE revoked)`,
		`UPDATE tokens SET resource_id = 11 WHERE id = (SELECT max(id) FROM tokens WHERE revoked AND resource_type <> '')`,
		`UPDATE tokens SET impersonation = NOT impersonation WHERE id = (SELECT max(id) FROM tokens WHERE revoked)`,
		`UPDATE tokens SET name = 'renamed', last_used_at = now() WHERE id = (SELECT min(id) FROM tokens)`,
		`DELETE FROM tokens WHERE id = (SELECT min(id) FROM tokens WHERE NOT revoked AND expires_at IS NOT NULL)`,
		`DELETE FROM tokens WHERE id = (SELECT min(id) FROM tokens WHERE revoked)`,
		`DELETE FROM tokens WHERE id = (SELECT min(id) FROM tokens WHERE impersonation)`,
		`DELETE FROM tokens WHERE id = (SELECT min(id) FROM tokens WHERE resource_type <> '')`,
		`INSERT INTO tokens (user_id, name, impersonation, created_at, expires_at, revoked, digest)
		VALUES (7, 'one', true, now(), '2026-12-03Z', true, '\x07')`)
	exec("revoke", `UPDATE tokens SET revoked = true WHERE user_id IN (2, 7)`)
	exec("unrevoke", `UPDATE tokens SET revoked = false WHERE id % 3 = 0`)
	exec("impersonation", `UPDATE tokens SET impersonation = NOT impersonation WHERE id % 4 = 1`)
	exec("move owner", `UPDATE tokens SET user_id = user_id % 5 + 2 WHERE id % 2 = 0`)
	exec("move resource", `UPDATE tokens SET resource_id = resource_id + 1 WHERE resource_type = 'group'`)
	exec("to personal", `UPDATE tokens SET resource_type = '', resource_id = 0 WHERE resource_type = 'project' AND id % 2 = 1`)
	exec("to project", `UPDATE tokens SET resource_type = 'project', resource_id = 5, revoked = true WHERE id % 7 = 0`)
	exec("everything", `UPDATE tokens SET user_id = 8, resource_type = 'group', resource_id = 8, impersonation = false,
		revoked = NOT revoked WHERE id % 5 = 2`)
	exec("swap", `UPDATE tokens SET revoked = NOT revoked WHERE user_id = 8`) // some in, some out
	exec("later expiry", `UPDATE tokens SET expires_at = expires_at + interval '1 day' WHERE id % 3 = 0`)
	exec("to never", `UPDATE tokens SET expires_at = NULL WHERE id % 4 = 3`)
	exec("from never", `UPDATE tokens SET expires_at = '2027-01-01Z' WHERE expires_at IS NULL AND id % 3 = 1`)
	exec("odd expiries", `UPDATE tokens SET expires_at = '1969-12-30 23:59:59.999999Z' WHERE id % 11 = 4`, // before 1970, not a midnight
		`UPDATE tokens SET expires_at = '2026-11-11 00:00:00.000001Z' WHERE id % 11 = 5`) // 1 µs after a block starts
	exec("expiry and revocation", `UPDATE tokens SET expires_at = coalesce(expires_at, 'epoch') + interval '32 days',
		revoked = NOT revoked WHERE id % 5 = 1`)
	exec("nothing counted", `UPDATE tokens SET revoked = revoked, user_id = user_id, expires_at = expires_at,
		last_used_at = now(), name = name || '.'`)
	exec("last uses", `UPDATE tokens SET last_used_at = timestamptz '2026-11-11 00:00:00Z' - (id % 70) * interval '13 hours' WHERE id % 3 <> 2`,
		`UPDATE tokens SET last_used_at = '1969-12-31 23:59:59.999999Z' WHERE id % 13 = 6`, // before 1970
		`UPDATE tokens SET last_used_at = NULL WHERE id % 5 = 3`,
		`UPDATE tokens SET last_used_at = last_used_at + interval '1 microsecond' WHERE id % 2 = 0`,
		`INSERT INTO tokens (user_id, name, created_at, last_used_at, digest) VALUES (9, 'used', now(), '2026-01-05Z', '\x0d')`)
	exec("revoked expiry", `UPDATE tokens SET expires_at = 'epoch' WHERE revoked`)
	exec("revoked moves", `UPDATE tokens SET user_id = user_id % 3 + 2, expires_at = coalesce(expires_at, '2026-12-03Z') + interval '1 day'
		WHERE revoked AND id % 2 = 0`,
		`UPDATE tokens SET resource_id = 3 - resource_id WHERE revoked AND resource_type <> ''`) // some swap keys
	exec("revoked deleted", `DELETE FROM tokens WHERE revoked AND id % 4 = 0`)
	exec("new ids", `UPDATE tokens SET id = id + 100000 WHERE id % 2 = 1`)
	exec("delete", `DELETE FROM tokens WHERE id % 3 = 1`)
	exec("copy", `COPY tokens (user_id, name, created_at, expires_at, revoked, digest) FROM PROGRAM 'printf "40\tcopied\t2025-01-01\t2026-12-20\tt\t\\\\x0a\n41\tcopied\t2025-01-01\t2026-12-20\tf\t\\\\x0b\n42\tcopied\t2025-01-01\t\\\\N\tf\t\\\\x0c\n"'`)
	exec("rolled back",
		`BEGIN`,
		`INSERT INTO tokens (user_id, name, created_at, digest) VALUES (9, 'gone', now(), '\x09')`,
		`UPDATE tokens SET revoked = NOT revoked, user_id = 9`,
		`UPDATE tokens SET expires_at = NULL`,
		`DELETE FROM tokens WHERE id % 2 = 0`,
		`ROLLBACK`)
	exec("truncate", `TRUNCATE tokens`)
	createMix(t, s, "again")
	checkCounts(t, s, pool, "created again")
	exec("delete all", `DELETE FROM tokens`)
}

// TestCountsConcurrentWriters creates, revokes, rotates and uses from many
// goroutines at once, most for one user and one project: no write fails
// (no deadlock between the stripes), and the counters end exact.
func TestCountsConcurrentWriters(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 25 {
				tok := countToken(fmt.Sprintf("g%d-%d", g, i), int64(2+i%2), "", 0, i%5 == 0)
				if g%4 == 3 {
					tok = countToken(fmt.Sprintf("g%d-%d", g, i), int64(1000+g*100+i), patkit.ResourceProject, int64(i%2), false)
				}
				if err := s.Create(t.Context(), tok); err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 1:
					if err := s.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
						t.Error(err)
					}
				case 2:
					next := countToken(fmt.Sprintf("g%d-%d next", g, i), tok.UserID, tok.ResourceType, tok.ResourceID, tok.Impersonation)
					if err := s.Rotate(t.Context(), tok.ID, next); err != nil {
						t.Error(err)
					}
				}
				// Uses moved between days and blocks, in both directions,
				// while others create, revoke and rotate: the use counts
				// end exact too.
				for k := range i % 3 {
					at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, (g+i+k*37)%70)
					if err := s.SetLastUsed(t.Context(), tok.ID, at, []string{"192.0.2.1"}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	checkCounts(t, s, pool, "concurrent")
	var stripes int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM token_counts WHERE scope = 0`).Scan(&stripes); err != nil {
		t.Fatal(err)
	}
	t.Logf("the total is kept in %d rows", stripes)
}

// TestCountsBackfill migrates a schema that has tokens but no counters,
// as one made before they existed: the migration counts what is there.
func TestCountsBackfill(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	createMix(t, s, "mix")
	for _, q := range []string{
		`DROP TRIGGER token_counters_insert ON tokens`, `DROP TRIGGER token_counters_delete ON tokens`,
		`DROP TRIGGER token_counters_update ON tokens`,
		`DROP FUNCTION token_counters_insert, token_counters_delete, token_counters_update`,
		`DELETE FROM patkit_migrations WHERE version IN (8, 10, 11, 13)`,
		`DROP TABLE token_counts`,
		`DROP TRIGGER token_counts_truncate ON tokens`, `DROP FUNCTION token_counts_truncate`,
		`DELETE FROM patkit_migrations WHERE version = 4`,
		`DROP TABLE token_expiry_counts`,
		`DROP TRIGGER token_expiry_counts_truncate ON tokens`,
		`DROP FUNCTION token_expiry_counts_truncate, token_expiry_block`,
		`DELETE FROM patkit_migrations WHERE version = 7`,
		`INSERT INTO tokens (user_id, name, created_at, revoked, digest) VALUES (7, 'old', now(), true, '\x01')`,
	} {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "backfilled")
	createMix(t, s, "after")
	checkCounts(t, s, pool, "after")

	// Applying the migrations again, as a host's tooling may, rebuilds the
	// same counts.
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), pgstore.MigrationSQL()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "migrated again")
}

// schemaAt returns a Store on a new schema migrated up to version only, as
// a release of that version left it, and a pool on the schema for the
// host's SQL. The Store's Migrate applies the later migrations.
func schemaAt(t *testing.T, version int) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	schema := newSchema(t)
	pool := schemaPool(t, schema)
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	migrateTo(t, pool, schema, version)
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema, NoSearchIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

// migrateTo applies the migrations up to version only to schema, which
// exists, over pool, in one transaction, and records them as Migrate
// does.
func migrateTo(t *testing.T, pool *pgxpool.Pool, schema string, version int) {
	t.Helper()
	ctx := t.Context()
	ms, err := migrate.Load(pgstore.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		`SET LOCAL search_path TO ` + pgx.Identifier{schema}.Sanitize(),
		`CREATE TABLE patkit_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	applied := 0
	for _, m := range ms {
		if m.Version > version {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO patkit_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
		applied = m.Version
	}
	if applied != version {
		t.Fatalf("no migration %d", version)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCountsRevokedBackfill migrates a schema of migration 0012, whose
// expiry counters count only the tokens not revoked, holding revoked and
// unrevoked tokens of every kind and expiry, some revoked by its own
// triggers: migration 0013 counts the revoked ones by expiry too, and so
// do the triggers from then on. Applying 0013 again changes nothing.
func TestCountsRevokedBackfill(t *testing.T) {
	t.Parallel()
	s, pool := schemaAt(t, 12)
	ctx := t.Context()
	toks := createMix(t, s, "old")
	for _, q := range []string{
		// Each token again, revoked if it is not and the other way round.
		`INSERT INTO tokens (user_id, name, impersonation, resource_type, resource_id, created_at, expires_at, revoked, digest)
		SELECT user_id, name || ' flipped', impersonation, resource_type, resource_id, created_at, expires_at, NOT revoked, digest || '\xfe'::bytea
		FROM tokens`,
		// Counter rows in other stripes than 0, where the backfill adds.
		`UPDATE tokens SET expires_at = expires_at + interval '1 day' WHERE id % 3 = 0`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tok := range toks[1:4] {
		if err := s.Revoke(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "migrated")

	more := createMix(t, s, "new")
	for _, tok := range append(toks[4:8], more[1:3]...) {
		if err := s.Revoke(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `DELETE FROM tokens WHERE id = (SELECT min(id) FROM tokens WHERE revoked AND expires_at IS NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "written after")

	// 0013 alone again, then every migration again (0007 counts afresh,
	// without the revoked tokens, and 0013 after it).
	rerun(t, pool, "0013_revoked_expiry_counts.sql", func(step string) { checkCounts(t, s, pool, step) })
}

// rerun applies migration file alone again, then every migration again,
// each in a transaction of its own, and calls check after each with its
// name: a migration must leave a schema as it found it when run again.
func rerun(t *testing.T, pool *pgxpool.Pool, file string, check func(step string)) {
	t.Helper()
	ctx := t.Context()
	sql, err := fs.ReadFile(pgstore.Migrations(), file)
	if err != nil {
		t.Fatal(err)
	}
	for step, script := range map[string]string{file + " again": string(sql), "all again": pgstore.MigrationSQL()} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, script); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		check(step)
	}
}

// TestCountsMigrationNoDeadlock migrates a schema of 0012 to 0013 while a
// transaction that has written tokens, without writing counters yet, is
// open, and then creates a token in it: the migration locks tokens before
// it alters token_expiry_counts, as the triggers lock them, so it waits
// for that transaction instead of holding the counters the transaction
// needs next (a deadlock, which the server ends by failing one).
func TestCountsMigrationNoDeadlock(t *testing.T) {
	t.Parallel()
	s, pool := schemaAt(t, 12)
	ctx := t.Context()
	toks := createMix(t, s, "mix")
	a, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(ctx)
	// Holds a lock on tokens, and none on the counter tables.
	if _, err := a.Exec(ctx, `UPDATE tokens SET last_used_at = now() WHERE id = $1`, toks[1].ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Migrate(ctx) }()
	time.Sleep(300 * time.Millisecond) // the migration waits for a, or holds what a needs next
	if _, err := a.Exec(ctx, `INSERT INTO tokens (user_id, name, created_at, expires_at, revoked, digest)
		VALUES (3, 'a', now(), '2026-12-03Z', false, '\xa0')`); err != nil {
		t.Fatalf("the writer: %v", err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the migration: %v", err)
	}
	checkCounts(t, s, pool, "both committed")
}

// TestCountsRowsWritten counts the counter rows a create and a revocation
// of one token write (those whose row version the statement's transaction
// made): one per scope in token_counts, and in token_expiry_counts one per
// scope and level (level 0 only if the token expires), a revoked token's
// as any other; a second revocation writes none.
func TestCountsRowsWritten(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	written := func(id int64) (counts, expiries int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM token_counts WHERE xmin = t.xmin),
			(SELECT count(*) FROM token_expiry_counts WHERE xmin = t.xmin)
			FROM tokens AS t WHERE id = $1`, id).Scan(&counts, &expiries); err != nil {
			t.Fatal(err)
		}
		return counts, expiries
	}
	for i, expires := range []time.Time{counttest.Expiries[2], {}} {
		for _, tok := range []*patkit.Token{
			countToken(fmt.Sprint("personal ", i), 2, "", 0, false),
			countToken(fmt.Sprint("impersonation ", i), 2, "", 0, true),
			countToken(fmt.Sprint("project ", i), 100, patkit.ResourceProject, 1, false),
		} {
			tok.ExpiresAt = expires
			scopes, levels := 2, 1
			if tok.ResourceType != "" {
				scopes = 3
			}
			if !expires.IsZero() {
				levels = 2
			}
			if err := s.Create(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if c, e := written(tok.ID); c != scopes || e != scopes*levels {
				t.Errorf("create of %s: %d and %d counter rows, want %d and %d", tok.Name, c, e, scopes, scopes*levels)
			}
			if err := s.Revoke(ctx, tok.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if c, e := written(tok.ID); c != scopes || e != scopes*levels {
				t.Errorf("revocation of %s: %d and %d counter rows, want %d and %d", tok.Name, c, e, scopes, scopes*levels)
			}
			if err := s.Revoke(ctx, tok.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			if c, e := written(tok.ID); c != 0 || e != 0 {
				t.Errorf("second revocation of %s: %d and %d counter rows, want none", tok.Name, c, e)
			}
		}
	}
	checkCounts(t, s, pool, "written")
}

// TestCountsExpiryUpdateNoDeadlock runs two transactions that share a
// stripe: one changes only an expiry (which token_counts does not count)
// and then creates a token, the other creates a token expiring on the
// same date meanwhile. Both lock the stripe's row of all tokens in
// token_counts first, so the second waits for the first rather than hold
// it while waiting for an expiry row the first holds, a deadlock the
// server would end by failing one of them.
func TestCountsExpiryUpdateNoDeadlock(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	tok := countToken("expiring", 2, "", 0, false)
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	later := tok.ExpiresAt.AddDate(0, 0, 1)
	txid := func(tx pgx.Tx) int64 {
		var x int64
		if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(ctx)
	stripe := txid(a) % 16
	var b pgx.Tx
	for b == nil {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if txid(tx)%16 == stripe {
			b = tx
		} else {
			tx.Rollback(ctx)
		}
	}
	defer b.Rollback(ctx)

	if _, err := a.Exec(ctx, `UPDATE tokens SET expires_at = $1 WHERE id = $2`, later, tok.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b.Exec(ctx, `INSERT INTO tokens (user_id, name, created_at, expires_at, digest)
			VALUES (3, 'b', now(), $1, '\xb0')`, later)
		if err == nil {
			err = b.Commit(ctx)
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // b waits for a, or holds what a needs next
	if _, err := a.Exec(ctx, `INSERT INTO tokens (user_id, name, created_at, expires_at, digest)
		VALUES (4, 'a', now(), $1, '\xa0')`, later); err != nil {
		t.Fatalf("the first transaction: %v", err)
	}
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the second transaction: %v", err)
	}
	checkCounts(t, s, pool, "both committed")
}

// counterKeys returns the primary keys of the counter tables, as
// pg_get_constraintdef gives them, and the OIDs of their indexes.
func counterKeys(t *testing.T, pool *pgxpool.Pool) (keys [2]string, oids [2]uint32) {
	t.Helper()
	for i, table := range []string{"token_counts", "token_expiry_counts"} {
		if err := pool.QueryRow(t.Context(), `SELECT pg_get_constraintdef(oid), conindid FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype = 'p'`, table).Scan(&keys[i], &oids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return keys, oids
}

// TestCounterKeys checks that the keys of the counter tables end with
// resource_type (so that a lookup compares the fixed-width columns first),
// on a new schema and on one whose keys are in the order of 0004 and 0007
// with counters in it, which Migrate brings to the new order keeping the
// counts, and that migrating again rebuilds nothing.
func TestCounterKeys(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	want := [2]string{
		"PRIMARY KEY (scope, id, stripe, resource_type)",
		"PRIMARY KEY (scope, id, level, expires_at, stripe, resource_type)",
	}
	if keys, _ := counterKeys(t, pool); keys != want {
		t.Fatalf("new schema: keys %q, want %q", keys, want)
	}
	toks := createMix(t, s, "mix")

	// The keys as 0004 and 0007 made them.
	for _, q := range []string{
		`ALTER TABLE token_counts DROP CONSTRAINT token_counts_pkey,
			ADD CONSTRAINT token_counts_pkey PRIMARY KEY (scope, resource_type, id, stripe)`,
		`ALTER TABLE token_expiry_counts DROP CONSTRAINT token_expiry_counts_pkey,
			ADD CONSTRAINT token_expiry_counts_pkey PRIMARY KEY (scope, resource_type, id, level, expires_at, stripe)`,
		`DELETE FROM patkit_migrations WHERE version = 11`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if keys, _ := counterKeys(t, pool); keys == want {
		t.Fatalf("keys %q before 0011", keys)
	}
	createMix(t, s, "old keys")
	if err := s.Revoke(ctx, toks[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, pool, "old keys")

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, oids := counterKeys(t, pool)
	if keys != want {
		t.Fatalf("migrated: keys %q, want %q", keys, want)
	}
	checkCounts(t, s, pool, "migrated")
	createMix(t, s, "new keys")
	checkCounts(t, s, pool, "new keys")

	// Every migration again, as a host's tooling may apply them.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, pgstore.MigrationSQL()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if again, againOIDs := counterKeys(t, pool); again != want || againOIDs != oids {
		t.Errorf("migrated again: keys %q (indexes %v), want %q (indexes %v)", again, againOIDs, want, oids)
	}
	checkCounts(t, s, pool, "migrated again")
}

// TestCountsUsed checks List's totals of all tokens bounded on last use,
// which take every token but those last used on the days within the
// bounds away from the counters (see counttest.CheckUsedTotals), on
// tokens inserted in SQL; then that the count takes token_use_counts at
// its word: counts that say every token was used on one early day make
// it answer more than patkit.MaxCount for a bound that keeps none.
func TestCountsUsed(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	const n = counttest.UsedTokens * 9 / 8
	if _, err := pool.Exec(t.Context(), `INSERT INTO tokens (user_id, name, impersonation, created_at, expires_at, revoked, last_used_at, digest)
		SELECT i % 50 + 2, 'used ' || i, i % 50 = 0, timestamptz '2023-11-14 22:13:20Z' + i * interval '1 minute',
			CASE WHEN i % 10 = 0 THEN NULL ELSE timestamptz '2026-01-01Z' + i * interval '2 hours' END, i % 7 = 0,
			CASE WHEN i % 9 = 0 THEN NULL ELSE timestamptz '2025-01-01Z' + i * interval '37 minutes' + i % 1000 * interval '1 microsecond' END,
			sha256(int8send(i))
		FROM generate_series(1, $1::int) AS i`, n); err != nil {
		t.Fatal(err)
	}
	if got, want := useCounts(t, pool); !cmp.Equal(want, got) {
		t.Fatalf("token_use_counts (-want +got):\n%s", cmp.Diff(want, got))
	}
	counttest.CheckUsedTotals(t, s)

	q := patkit.Query{Filter: patkit.Filter{LastUsedBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
	q.Normalize()
	if _, total, err := s.List(t.Context(), &q); err != nil || total != 0 {
		t.Fatalf("List of the tokens used before 2024: total %d, %v", total, err)
	}
	if _, err := pool.Exec(t.Context(), `UPDATE token_use_counts SET key = key - 1000`); err != nil {
		t.Fatal(err)
	}
	if _, total, err := s.List(t.Context(), &q); err != nil || total != patkit.MaxCount+1 {
		t.Errorf("List of the tokens used before 2024, counts of every use 1,000 days earlier: total %d, %v; want %d", total, err, patkit.MaxCount+1)
	}
}

// TestCountsWords checks List's totals of searches of all tokens by a
// word, which take every token but those with the word among their
// name's words (token_words) away from the counters (see
// counttest.CheckWordTotals), on tokens inserted in SQL and counted when
// the Store next migrates, then with tokens the table does not count
// yet; that creates and rotations whose new ID is a multiple of
// wordsEvery count the words of the tokens created since; and that the
// count takes the table at its word: a row that says a million names hold the word makes it answer
// more than patkit.MaxCount for a search that keeps a few.
func TestCountsWords(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	// One name in 13 holds "deploy" within "redeploy" only, one holds
	// neither; every other has "deploy" as a word of its own.
	insert := func(from, to int) {
		t.Helper()
		if _, err := pool.Exec(t.Context(), `INSERT INTO tokens (user_id, name, impersonation, created_at, expires_at, revoked, digest)
			SELECT i % 50 + 2, CASE i % 13 WHEN 0 THEN 'bulk ' || i || ' redeploy' WHEN 1 THEN 'bulk ' || i ELSE 'Bulk ' || i || ' Deploy' END,
				i % 50 = 0, timestamptz '2023-11-14 22:13:20Z' + i * interval '1 minute',
				CASE WHEN i % 10 = 0 THEN NULL ELSE timestamptz '2023-11-14 22:13:20Z' + i * interval '2 hours' END,
				i % 7 = 0, sha256(int8send(i))
			FROM generate_series($1::int, $2::int) AS i`, from, to); err != nil {
			t.Fatal(err)
		}
	}
	checkWords := func(step string) {
		t.Helper()
		if got, want := wordCounts(t, pool); !cmp.Equal(want, got) {
			t.Errorf("%s: token_words (-the names' words +the table):\n%s", step, cmp.Diff(want, got))
		}
	}
	n := counttest.WordTokens*13/12 + 1
	insert(1, n)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkWords("migrated")
	counttest.CheckWordTotals(t, s, "deploy")

	insert(n+1, n+1000)
	counttest.CheckWordTotals(t, s, "deploy")

	// Creates and rotations through the Store: the one whose ID is a
	// multiple of 7 counts every token before it.
	s.SetWordsEvery(7)
	var last int64 // rotated in turn
	for _, rotate := range []bool{false, true} {
		for first := true; first || last%7 != 0; first = false {
			tok := &patkit.Token{UserID: 2, Name: "Created deploy", CreatedAt: time.Now(), Scopes: []patkit.Scope{patkit.ScopeAPI},
				Digest: fmt.Appendf(nil, "created %d", time.Now().UnixNano())}
			var err error
			if rotate {
				err = s.Rotate(t.Context(), last, tok)
			} else {
				err = s.Create(t.Context(), tok)
			}
			if err != nil {
				t.Fatal(err)
			}
			last = tok.ID
		}
		var upto int64
		if err := pool.QueryRow(t.Context(), `SELECT upto FROM token_words_mark`).Scan(&upto); err != nil || upto != last {
			t.Errorf("rotations %v: token_words_mark's upto = %d, %v; want the last new token's ID, %d", rotate, upto, err, last)
		}
		checkWords(fmt.Sprint("created, rotations ", rotate))
	}

	yes := true
	counttest.CheckWordRowTaken(t, s, patkit.Query{Filter: patkit.Filter{Search: "deploy", Revoked: &yes}}, func() error {
		_, err := pool.Exec(t.Context(), `UPDATE token_words SET n = 1000000 WHERE word = 'deploy'`)
		return err
	})
}

// TestCountsCreated checks List's totals of all tokens bounded on
// creation, which subtract the zones that may hold tokens created out of
// the bounds from the counters (see counttest.CheckCreatedTotals), on
// tokens inserted in SQL; then that the count takes the zones at their
// word: zones that say no token was created before a bound make it
// answer more than patkit.MaxCount for a bound that keeps a few.
func TestCountsCreated(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	if _, err := pool.Exec(t.Context(), `INSERT INTO tokens (user_id, name, impersonation, created_at, expires_at, revoked, digest)
		SELECT i % 50 + 2, 'bulk ' || i, i % 50 = 0, timestamptz '2023-11-14 22:13:20Z' + i * interval '1 minute',
			CASE WHEN i % 10 = 0 THEN NULL ELSE timestamptz '2023-11-14 22:13:20Z' + i * interval '2 hours' END,
			i % 7 = 0, sha256(int8send(i))
		FROM generate_series(1, $1::int) AS i`, counttest.CreatedTokens); err != nil {
		t.Fatal(err)
	}
	counttest.CheckCreatedTotals(t, s)

	q := patkit.Query{Filter: patkit.Filter{CreatedAfter: time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC).Add((counttest.CreatedTokens - 2) * time.Minute), Page: patkit.MaxPage}}
	q.Normalize()
	if _, n, err := s.List(t.Context(), &q); err != nil || n != 3 {
		t.Fatalf("List of the last 3 tokens: total %d, %v", n, err)
	}
	if _, err := pool.Exec(t.Context(), `UPDATE token_zones SET created_lo = 'infinity'`); err != nil {
		t.Fatal(err)
	}
	if _, n, err := s.List(t.Context(), &q); err != nil || n != patkit.MaxCount+1 {
		t.Errorf("List of the last 3 tokens, zones created in the future: total %d, %v; want %d", n, err, patkit.MaxCount+1)
	}
}

// TestCountsWordsNoDeadlock renames, in two statements at once, tokens
// whose counted words the triggers take away in opposite orders: the
// first statement's first token has "alpha", its second "beta"; the
// other's, "beta" then "alpha". A trigger of the test's, after each
// token's words are taken away, waits, so that each statement holds its
// first word's row of token_words when it asks for the second: neither
// fails (PostgreSQL aborts one of two transactions that wait for each
// other), and the table counts the new names' words; a token moved down
// to a counted ID is counted. Then TRUNCATE ... RESTART IDENTITY:
// the tokens created after it, whose IDs start again from 1, are counted
// by the next catch-up.
func TestCountsWordsNoDeadlock(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	var ids []int64
	for _, name := range []string{"alpha one", "beta two", "beta three", "alpha four"} {
		tok := countToken(name, 2, "", 0, false)
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	checkWords := func(step string) {
		t.Helper()
		if got, want := wordCounts(t, pool); !cmp.Equal(want, got) {
			t.Errorf("%s: token_words (-the names' words +the table):\n%s", step, cmp.Diff(want, got))
		}
	}
	if _, err := pool.Exec(ctx, `SELECT token_words_catch_up()`); err != nil {
		t.Fatal(err)
	}
	checkWords("created")
	// Named after token_words_update, so that it runs after it, row by row.
	if _, err := pool.Exec(ctx, `CREATE FUNCTION zz_pause() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
		CREATE TRIGGER token_words_update_zz AFTER UPDATE OF name ON tokens FOR EACH ROW EXECUTE FUNCTION zz_pause()`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, pair := range [][2]int64{{ids[0], ids[1]}, {ids[2], ids[3]}} {
		go func() {
			_, err := pool.Exec(ctx, `UPDATE tokens SET name = name || ' renamed' WHERE id = ANY($1)`, pair[:])
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("rename: %v", err)
		}
	}
	checkWords("renamed")
	// A token not counted yet, moved down to an ID that is: counted there.
	moved := countToken("delta moved", 2, "", 0, false)
	if err := s.Create(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE tokens SET id = 0 WHERE id = $1`, moved.ID); err != nil {
		t.Fatal(err)
	}
	checkWords("moved down")
	if _, err := pool.Exec(ctx, `DROP TRIGGER token_words_update_zz ON tokens`); err != nil {
		t.Fatal(err)
	}

	if _, err := pool.Exec(ctx, `TRUNCATE tokens RESTART IDENTITY`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gamma one", "gamma two"} {
		if err := s.Create(ctx, countToken(name, 2, "", 0, false)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `SELECT token_words_catch_up()`); err != nil {
		t.Fatal(err)
	}
	checkWords("truncated and created again")
}

// TestCountsWordsCatchUpSkips holds token_words_mark's row, as a host's
// transaction that deleted tokens does until it ends: a create that
// would count the new words does not wait for it (its catch-up skips,
// and a later one counts the same tokens).
func TestCountsWordsCatchUpSkips(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	s.SetWordsEvery(1)
	if err := s.Create(ctx, countToken("alpha one", 2, "", 0, false)); err != nil {
		t.Fatal(err)
	}
	host, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Rollback(ctx)
	if _, err := host.Exec(ctx, `DELETE FROM tokens WHERE name = 'nothing'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Create(ctx, countToken("alpha two", 2, "", 0, false)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Error("Create waits for a transaction that holds token_words_mark")
		host.Rollback(ctx)
		<-done
		return
	}
	if err := host.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT token_words_catch_up()`); err != nil {
		t.Fatal(err)
	}
	if got, want := wordCounts(t, pool); !cmp.Equal(want, got) || got["alpha"] != 2 {
		t.Errorf("token_words = %v, want %v, alpha counted twice", got, want)
	}
}
