package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/storetest"
)

// The claim reads the partial index of the tokens that may still get a
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
		plan := queryPlan(t, db, s.ClaimSQL(n), []any{int64(n), 0, 0, 1, 100})
		t.Logf("notice %v: %s", n, plan)
		if !strings.Contains(plan, "USING INDEX tokens_notice (notice=? AND expires_at>? AND expires_at<?)") ||
			strings.Contains(plan, "SCAN tokens") {
			t.Errorf("notice %v: the claim does not seek tokens_notice:\n%s", n, plan)
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
