package sqlitestore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/listshape"
	"github.com/patkit/patkit/internal/sqlq"
)

// zoneViolations counts the tokens outside the bounds of their zone
// (migrations 0015 and 0016), or without one.
func zoneViolations(t *testing.T, db *sql.DB) (n int) {
	t.Helper()
	const never = "9223372036854775807"
	err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM tokens AS t
		LEFT JOIN tokens_zones AS z ON z.zone = t.id >> `+fmt.Sprint(sqlq.ZoneBits)+`
		WHERE z.zone IS NULL OR t.created_at < z.created_lo OR t.created_at > z.created_hi
			OR coalesce(t.expires_at, `+never+`) < z.expires_lo
			OR t.expires_at IS NOT NULL AND (z.expires_hi IS NULL OR t.expires_at > z.expires_hi)
			OR t.expires_at IS NULL AND NOT z.expires_never
			OR coalesce(t.last_used_at, `+never+`) < z.used_lo
			OR t.last_used_at IS NOT NULL AND (z.used_hi IS NULL OR t.last_used_at > z.used_hi)
			OR t.last_used_at IS NULL AND NOT z.used_never
			OR t.name < z.name_lo OR t.name > z.name_hi`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// zoneExpiriesWider counts the zones whose greatest expiry is not that of
// their tokens (migration 0016): an expiry is midnight of its date, and
// a list of the tokens expiring after a time within a zone's slack read
// the zone in vain.
func zoneExpiriesWider(t *testing.T, db *sql.DB) (n int) {
	t.Helper()
	err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM tokens_zones AS z
		WHERE z.expires_hi IS NOT (SELECT max(expires_at) FROM tokens
			WHERE id BETWEEN z.zone << `+fmt.Sprint(sqlq.ZoneBits)+` AND ((z.zone + 1) << `+fmt.Sprint(sqlq.ZoneBits)+`) - 1)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestZones checks the zones of migrations 0015 and 0016 and the lists
// that read them: over 10,000 tokens whose times grow with their IDs, as
// they do (ten zones of 1,024 IDs), written in SQL before Migrate and by
// the Store after it, every token lies within its zone's bounds, also
// after old tokens are used again (their zone's last use widens), and
// each zone's greatest expiry is its tokens'; and every list of all
// tokens bounded in time, in every order, with the walk from the zones'
// seek or the bound's range, gives the pages Query.Match and Sort.Compare
// give.
func TestZones(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	db := openReader(t, path)
	now := base.Truncate(time.Microsecond)
	// Migrations up to 0014, then 10,000 tokens in SQL, one every 2 hours
	// up to now: a tenth never expire, the others after 30 to 366 days; a
	// third never used, the others within 30 days of their creation.
	migrateTo(t, db, 14)
	const hour = int64(time.Hour / time.Microsecond)
	if _, err := db.ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000),
		c(i, at) AS (SELECT i, ?1 - (10000 - i) * 2 * ?2 FROM n)
		INSERT INTO tokens (id, user_id, name, name_folded, created_at, expires_at, last_used_at, digest)
		SELECT i, 1, 'token ' || i, 'token ' || i, at,
			CASE WHEN i % 10 = 0 THEN NULL ELSE at + (30 + i * 7919 % 337) * 24 * ?2 END,
			CASE WHEN i % 3 = 0 THEN NULL ELSE min(?1, at + i * 104729 % (30 * 24) * ?2) END,
			randomblob(32) FROM c`, now.UnixMicro(), hour); err != nil {
		t.Fatal(err)
	}
	s := openPath(t, path, nil)
	// Through the Store: old tokens used now, one created now.
	for _, id := range []int64{5, 700, 1500, 2100, 5000, 9000} {
		if err := s.SetLastUsed(t.Context(), id, now, nil); err != nil {
			t.Fatal(err)
		}
	}
	tok := token("token fresh")
	tok.CreatedAt, tok.ExpiresAt = now, patkit.Date(now.AddDate(1, 0, 0))
	if err := s.Create(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if n := zoneViolations(t, db); n != 0 {
		t.Errorf("%d tokens outside the bounds of their zone", n)
	}
	if n := zoneExpiriesWider(t, db); n != 0 {
		t.Errorf("%d zones' greatest expiry is not their tokens'", n)
	}

	listshape.CheckAll(t, s, s.SetBudgets, now)
}
