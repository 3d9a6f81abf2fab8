package pgstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/storetest"
)

// The claim reads the partial index of the tokens that may still get a
// notice, never the table.
func TestClaimNoticesPlan(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	for i := range 50 {
		tok := token(fmt.Sprintf("token %d", i))
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := newPool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()+"; SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for n := patkit.NoticeSixtyDays; n <= patkit.NoticeExpired; n++ {
		plan := explainPlan(t, tx, s.ClaimSQL(n), []any{int16(n), now, now, now, 100})
		t.Logf("notice %v:\n%s", n, plan)
		if !strings.Contains(plan, "using tokens_notice_idx on tokens") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("notice %v: the claim does not read tokens_notice_idx:\n%s", n, plan)
		}
	}
}

// Two Stores with two pools claim each notice once.
func TestNoticeRaceTwoPools(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openStore(t, schema), openStore(t, schema)
	for range 2 {
		storetest.RunNoticeRace(t, a, b)
	}
}

// Upgrading a schema marks the tokens that have already expired as
// notified, once: running the migrations again changes nothing.
func TestMigrationMarksExpiredTokensNotified(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := newSchema(t)
	s := openStore(t, schema)
	conn, err := newPool(t).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(`SET search_path TO ` + pgx.Identifier{schema}.Sanitize())
	q(`DROP INDEX tokens_notice_idx`)
	q(`ALTER TABLE tokens DROP COLUMN notice, DROP COLUMN sixty_days_notification_sent_at,
		DROP COLUMN thirty_days_notification_sent_at, DROP COLUMN seven_days_notification_sent_at,
		DROP COLUMN after_expiry_notification_sent_at`)
	q(`DELETE FROM patkit_migrations WHERE version = 5`)
	now := time.Now().UTC()
	for i, r := range []struct {
		name    string
		expires time.Time
		revoked bool
	}{
		{"expired", now.AddDate(-1, 0, 0), false},
		{"revoked", now.AddDate(-1, 0, 0), true},
		{"active", now.AddDate(0, 0, 3), false},
	} {
		q(`INSERT INTO tokens (user_id, name, created_at, expires_at, revoked, digest) VALUES (1, $1, now(), $2, $3, $4)`,
			r.name, r.expires, r.revoked, []byte{byte(i)})
	}
	for range 2 { // the second run marks nothing more
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		q(`UPDATE tokens SET expires_at = $1 WHERE name = 'active'`, now.AddDate(-1, 0, 0))
		q(`DELETE FROM patkit_migrations WHERE version = 5`)
	}
	for _, name := range []string{"expired", "revoked", "active"} {
		var notified bool
		if err := conn.QueryRow(ctx, `SELECT after_expiry_notification_sent_at IS NOT NULL FROM tokens WHERE name = $1`, name).Scan(&notified); err != nil {
			t.Fatal(err)
		}
		if want := name == "expired"; notified != want {
			t.Errorf("%s: marked notified %v, want %v", name, notified, want)
		}
	}
}
