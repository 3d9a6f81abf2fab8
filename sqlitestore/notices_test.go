package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/storetest"
)

// The claim, and the read before it, read the partial index of the tokens that may still get a
// notice, one seek per earlier notice, and never the whole table.
func TestClaimNoticesPlan(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	for i := range 50 {
		tok := token(fmt.Sprintf("token %d", i))
		tok.ExpiresAt = patkit.Date(base.AddDate(0, 0, i))
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	db := openReader(t, path)
	for n := patkit.NoticeSixtyDays; n <= patkit.NoticeExpired; n++ {
		for _, q := range []string{s.ClaimableSQL(n), s.ClaimSQL(n)} {
			plan := queryPlan(t, db, q, []any{int64(n), 0, 0, 1, 100})
			t.Logf("notice %v: %s", n, plan)
			if !strings.Contains(plan, "USING INDEX tokens_notice (notice=? AND expires_at>? AND expires_at<?)") ||
				strings.Contains(plan, "SCAN tokens") {
				t.Errorf("notice %v: %s\ndoes not seek tokens_notice:\n%s", n, q, plan)
			}
		}
	}
}

// Two Stores on one file claim each notice once.
func TestNoticeRaceTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	a, b := openPath(t, path, nil), openPath(t, path, nil)
	storetest.RunNoticeRace(t, a, b)
}

// Upgrading a database marks the tokens that have already expired as
// notified, so that no notice is sent for an expiry long past; the others
// get theirs.
func TestMigrationMarksExpiredTokensNotified(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, db := openPath(t, path, nil), openDB(t, path)
	// The database as it was before the notices.
	for _, q := range []string{
		`DROP INDEX tokens_notice`,
		`ALTER TABLE tokens DROP COLUMN notice`,
		`ALTER TABLE tokens DROP COLUMN sixty_days_notification_sent_at`,
		`ALTER TABLE tokens DROP COLUMN thirty_days_notification_sent_at`,
		`ALTER TABLE tokens DROP COLUMN seven_days_notification_sent_at`,
		`ALTER TABLE tokens DROP COLUMN after_expiry_notification_sent_at`,
		`DELETE FROM patkit_migrations WHERE version = 6`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now().UTC()
	ins := `INSERT INTO tokens (user_id, name, name_folded, created_at, expires_at, revoked, digest) VALUES (1, ?, ?, 0, ?, ?, ?)`
	for i, r := range []struct {
		name    string
		expires time.Time
		revoked bool
	}{
		{"expired", now.AddDate(-1, 0, 0), false},
		{"revoked", now.AddDate(-1, 0, 0), true},
		{"active", now.AddDate(0, 0, 3), false},
	} {
		if _, err := db.ExecContext(ctx, ins, r.name, r.name, r.expires.UnixMicro(), r.revoked, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]bool{1: true, 2: false, 3: false} {
		tok, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := !tok.Notices.Expired.IsZero(); got != want || tok.Notices.Expired.After(time.Now()) {
			t.Errorf("%s: expired notice at %v, want set: %v", tok.Name, tok.Notices.Expired, want)
		}
	}
	got, err := s.ClaimNotices(ctx, patkit.NoticeExpired, time.Time{}, now.AddDate(1, 0, 0), now, 10)
	if err != nil || len(got) != 1 || got[0].Name != "active" {
		t.Errorf("ClaimNotices(expired, a year on) = %v, %v; want the active token only", got, err)
	}
}

// A sweep that finds no notice due does not take the write lock: with
// another connection holding it, ClaimNotices of an empty window returns
// at once, where a write would wait for the lock and fail.
func TestClaimNoticesNothingDueReadsOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	tok := token("due in ten days")
	tok.ExpiresAt = patkit.Date(base.AddDate(0, 0, 10))
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	wait, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err := s.ClaimNotices(wait, patkit.NoticeSevenDays, base, base.AddDate(0, 0, 7), base, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("ClaimNotices of an empty window, write lock held elsewhere = %v, %v; want none, nil", got, err)
	}
}
