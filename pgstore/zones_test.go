package pgstore_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/internal/sqlq"
)

// zoneViolations counts the tokens outside the bounds of their zone
// (migrations 0015, 0016 and 0017), or without one.
func zoneViolations(t *testing.T, pool *pgxpool.Pool) (n int) {
	t.Helper()
	err := pool.QueryRow(t.Context(), `SELECT count(*) FROM tokens AS t
		LEFT JOIN token_zones AS z ON z.zone = t.id >> $1
		LEFT JOIN token_zone_names AS n ON n.zone = t.id >> $1
		WHERE z.zone IS NULL OR n.zone IS NULL OR t.name COLLATE "C" < n.name_lo
			OR t.created_at < z.created_lo OR t.created_at > z.created_hi
			OR coalesce(t.expires_at, 'infinity') < z.expires_lo
			OR t.expires_at IS NOT NULL AND (z.expires_hi IS NULL OR t.expires_at > z.expires_hi)
			OR t.expires_at IS NULL AND NOT z.expires_never
			OR coalesce(t.last_used_at, 'infinity') < z.used_lo
			OR t.last_used_at IS NOT NULL AND (z.used_hi IS NULL OR t.last_used_at > z.used_hi)
			OR t.last_used_at IS NULL AND NOT z.used_never`, sqlq.ZoneBits).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// zoneExpiriesWider counts the zones whose greatest expiry is not that of
// their tokens (migration 0016): an expiry is midnight of its date, and
// a list of the tokens expiring after a time within a zone's slack read
// the zone in vain.
func zoneExpiriesWider(t *testing.T, pool *pgxpool.Pool) (n int) {
	t.Helper()
	err := pool.QueryRow(t.Context(), `SELECT count(*) FROM token_zones AS z
		WHERE z.expires_hi IS DISTINCT FROM (SELECT max(expires_at) FROM tokens
			WHERE id BETWEEN z.zone << $1 AND ((z.zone + 1) << $1) - 1)`, sqlq.ZoneBits).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestZones checks the zones of migrations 0015, 0016, 0017 and 0023 and the
// lists that read them: over 10,000 tokens whose times grow with their
// IDs, as they do (ten zones of 1,024 IDs), written in SQL before the
// migrations (which bound them) and by the Store after them (whose
// triggers widen the bounds), every token lies within its zone's bounds,
// its name not before the zone's least, also after old tokens are used
// again and one is renamed, and each zone's greatest expiry is its
// tokens'; and every list of all tokens bounded in time, in every order,
// with the walk from the zones' seek or the bound's range, gives the
// pages Query.Match and Sort.Compare give.
func TestZones(t *testing.T) {
	t.Parallel()
	s, pool := schemaAt(t, 14)
	ctx := t.Context()
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	// 10,000 tokens, one every 2 hours up to now: a tenth never expire,
	// the others after 30 to 366 days; a third never used, the others
	// within 30 days of their creation.
	if _, err := pool.Exec(ctx, `INSERT INTO tokens (id, user_id, name, created_at, expires_at, last_used_at, digest)
		SELECT i, 1, 'token ' || i, at,
			CASE WHEN i % 10 = 0 THEN NULL ELSE at + (30 + i * 7919 % 337) * interval '1 day' END,
			CASE WHEN i % 3 = 0 THEN NULL ELSE least($1::timestamptz, at + i * 104729 % (30 * 24) * interval '1 hour') END,
			sha256(i::text::bytea)
		FROM generate_series(1, 10000) AS i, LATERAL (SELECT $1::timestamptz - (10000 - i) * interval '2 hours' AS at) AS c`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('tokens', 'id'), 10000)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Through the Store: old tokens used now, one created now.
	for _, id := range []int64{5, 700, 1500, 2100, 5000, 9000} {
		if err := s.SetLastUsed(ctx, id, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Two in the last zone: one whose name comes after its zone's least,
	// one whose name comes before every other.
	for _, name := range []string{"token fresh", "a token fresh"} {
		tok := &patkit.Token{UserID: 1, Name: name, Scopes: []patkit.Scope{patkit.ScopeAPI}, CreatedAt: now,
			ExpiresAt: patkit.Date(now.AddDate(1, 0, 0)), Digest: []byte(name)}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// A host's own rename, to a name before every other of its zone.
	if _, err := pool.Exec(ctx, `UPDATE tokens SET name = '0 renamed' WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	if n := zoneViolations(t, pool); n != 0 {
		t.Errorf("%d tokens outside the bounds of their zone", n)
	}
	if n := zoneExpiriesWider(t, pool); n != 0 {
		t.Errorf("%d zones' greatest expiry is not their tokens'", n)
	}
	// The triggers widen with statements of their own (migration 0023):
	// the LANGUAGE sql functions they called, planned again at every
	// call, are gone.
	var sqlFuncs bool
	if err := pool.QueryRow(ctx, `SELECT to_regprocedure('token_zones_widen(token_zones)') IS NOT NULL
		OR to_regprocedure('token_zone_names_widen(bigint, text)') IS NOT NULL`).Scan(&sqlFuncs); err != nil {
		t.Fatal(err)
	}
	if sqlFuncs {
		t.Error("the zones' LANGUAGE sql widening functions are still there")
	}

	listshape.CheckAll(t, s, s.SetBudgets, now)
}
