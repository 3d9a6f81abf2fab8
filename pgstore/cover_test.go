package pgstore_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// allTokenIndexes are the indexes of all tokens, one per sort key, which
// migration 0014 builds again to INCLUDE created_at and last_used_at.
var allTokenIndexes = []string{"tokens_created_idx", "tokens_expiry_idx", "tokens_last_used_idx", "tokens_name_idx"}

// The time keys, as List writes them and the indexes have them.
const (
	createdKey  = "created_at"
	expiryKey   = "coalesce(expires_at, 'infinity'::timestamptz)"
	lastUsedKey = "coalesce(last_used_at, 'infinity'::timestamptz)"
)

// coverTokens creates n tokens of five owners on s, created, used and
// expiring at times spread over a year, some never used or never expiring,
// some revoked, and returns them.
func coverTokens(t *testing.T, s *pgstore.Store, n int) []*patkit.Token {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	toks := make([]*patkit.Token, n)
	for i := range toks {
		tok := token(fmt.Sprintf("cover %d", i))
		tok.UserID = int64(i%5 + 1)
		tok.CreatedAt = now.AddDate(0, 0, -i*7%365)
		tok.ExpiresAt = time.Time{}
		if i%4 != 0 {
			tok.ExpiresAt = patkit.Date(now.AddDate(0, 0, i*11%365))
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			if err := s.SetLastUsed(ctx, tok.ID, now.AddDate(0, 0, -i*5%90), nil); err != nil {
				t.Fatal(err)
			}
		}
		if i%6 == 1 {
			if err := s.Revoke(ctx, tok.ID, now); err != nil {
				t.Fatal(err)
			}
		}
		toks[i] = tok
	}
	return toks
}

// TestCoverTimes checks that the index of each time key of all tokens
// holds the other times (migration 0014): with sequential and bitmap scans
// disabled, reading the range of one time's index and returning another
// time as the sort key, as a BoundPlan's range does, is an index-only scan
// of that index, and so is the ordered walk of one key's index (a time's
// or the name's) filtered on another time. Before 0014 the expiry and name
// indexes had neither created_at nor last_used_at, and the others only
// their own, and each such read fetched every row from the table.
func TestCoverTimes(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	coverTokens(t, s, 40)
	ctx := t.Context()
	tx, err := newPool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()+
		"; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-30 * 24 * time.Hour)
	keys := map[string]string{"created": createdKey, "expiry": expiryKey, "last_used": lastUsedKey}
	bounds := map[string]string{
		"created":   createdKey + " >= $1",
		"expiry":    expiryKey + " >= $1 AND " + expiryKey + " < 'infinity'",
		"last_used": lastUsedKey + " >= $1 AND " + lastUsedKey + " < 'infinity'",
	}
	for bound, where := range bounds {
		index := "tokens_" + bound + "_idx"
		for order, key := range keys {
			if order == bound {
				continue
			}
			// The bound's range, returning the order's key.
			q := "SELECT id, " + key + " AS k FROM tokens WHERE " + where + " OFFSET 0"
			if plan := explainPlan(t, tx, q, []any{at}); !strings.Contains(plan, "Index Only Scan using "+index+" on tokens") {
				t.Errorf("bound on %s, key %s: no index-only scan of %s:\n%s\n%s", bound, order, index, q, plan)
			}
			// The order's walk, filtered on the bound.
			walkIndex := "tokens_" + order + "_idx"
			q = "SELECT id FROM tokens WHERE " + where + " ORDER BY " + key + ", id LIMIT 20"
			if plan := explainPlan(t, tx, q, []any{at}); !strings.Contains(plan, "Index Only Scan using "+walkIndex+" on tokens") {
				t.Errorf("order %s, bound on %s: no index-only scan of %s:\n%s\n%s", order, bound, walkIndex, q, plan)
			}
		}
		q := "SELECT id FROM tokens WHERE " + where + ` ORDER BY name COLLATE "C", id LIMIT 20`
		if plan := explainPlan(t, tx, q, []any{at}); !strings.Contains(plan, "Index Only Scan using tokens_name_idx on tokens") {
			t.Errorf("order name, bound on %s: no index-only scan of tokens_name_idx:\n%s\n%s", bound, q, plan)
		}
	}
}

// coverInclude returns the INCLUDE clause of an index of all tokens from
// migration 0014 on: every column the filters read but its key's.
func coverInclude(name string) string {
	if name == "tokens_created_idx" {
		return "INCLUDE (revoked, expires_at, impersonation, last_used_at)"
	}
	return "INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)"
}

// indexState returns the definition and OID of each index of all tokens,
// and the names of any index a build of 0014 left under its temporary name.
func indexState(t *testing.T, pool *pgxpool.Pool) (defs map[string]string, oids map[string]uint32, left []string) {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.relname, pg_get_indexdef(c.oid), c.oid
		FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'tokens'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	type index struct {
		Name, Def string
		OID       uint32
	}
	ixs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		t.Fatal(err)
	}
	defs, oids = map[string]string{}, map[string]uint32{}
	for _, ix := range ixs {
		defs[ix.Name], oids[ix.Name] = ix.Def, ix.OID
		if strings.HasSuffix(ix.Name, "_0014") {
			left = append(left, ix.Name)
		}
	}
	return defs, oids, left
}

// listAll returns every token of s in each order of a time or the name,
// bounded on each time from at, through List.
func listAll(t *testing.T, s *pgstore.Store, at time.Time) map[string][]*patkit.Token {
	t.Helper()
	got := map[string][]*patkit.Token{}
	for _, sort := range []patkit.Sort{patkit.SortCreatedAsc, patkit.SortExpiresDesc, patkit.SortLastUsedAsc, patkit.SortNameAsc} {
		for bound, f := range map[string]patkit.Filter{
			"none": {}, "created": {CreatedAfter: at}, "expires": {ExpiresAfter: at}, "last used": {LastUsedAfter: at},
		} {
			q := patkit.Query{Filter: f}
			q.Sort, q.PerPage = sort, 100
			q.Normalize()
			page, total, err := s.List(t.Context(), &q)
			if err != nil {
				t.Fatal(err)
			}
			if total != len(page) {
				t.Errorf("%s, bound %s: total %d, page of %d", sort, bound, total, len(page))
			}
			got[string(sort)+", bound "+bound] = page
		}
	}
	return got
}

// TestCoverUpgrade migrates a schema of migration 0013, holding tokens,
// some used and some revoked: 0014 builds the four indexes of all tokens
// again with created_at and last_used_at, under their names, and every
// list lists the same tokens in the same order. Applying 0014 or every
// migration again builds nothing.
func TestCoverUpgrade(t *testing.T) {
	t.Parallel()
	s, pool := schemaAt(t, 13)
	ctx := t.Context()
	toks := coverTokens(t, s, 30)
	at := time.Now().AddDate(0, 0, -30)
	restore := s.WithoutZones()
	before := listAll(t, s, at)
	restore()
	if n := len(before["created_asc, bound none"]); n != len(toks) {
		t.Fatalf("%d tokens listed at 0013, want %d", n, len(toks))
	}
	defs, oldOIDs, _ := indexState(t, pool)
	for _, name := range allTokenIndexes {
		if strings.HasSuffix(defs[name], coverInclude(name)) {
			t.Fatalf("at 0013, %s already covers the times: %s", name, defs[name])
		}
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defs, oids, left := indexState(t, pool)
	if left != nil {
		t.Errorf("indexes left under their temporary names: %v", left)
	}
	for _, name := range allTokenIndexes {
		if include := coverInclude(name); !strings.HasSuffix(defs[name], include) {
			t.Errorf("%s: %s, want %s", name, defs[name], include)
		}
		if oids[name] == oldOIDs[name] {
			t.Errorf("%s was not built again", name)
		}
	}
	if after := listAll(t, s, at); !reflect.DeepEqual(after, before) {
		for k := range before {
			if !reflect.DeepEqual(after[k], before[k]) {
				t.Errorf("%s: %d tokens after 0014, %d before, or another order", k, len(after[k]), len(before[k]))
			}
		}
	}

	rerun(t, pool, "0014_cover_times.sql", func(step string) {
		if _, again, _ := indexState(t, pool); !reflect.DeepEqual(again, oids) {
			t.Errorf("%s built indexes again:\n%v\nwas\n%v", step, again, oids)
		}
	})
}
