package pgstore_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// TestListDecodesAsScan checks List's own decoding of rows in binary
// format against pgx's Scan, which reads the same rows in text format
// from a pool in the simple protocol: every column, set and unset.
func TestListDecodesAsScan(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	ctx := t.Context()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	plain := token("plain")
	plain.Scopes = nil
	full := token("full ünïcode \"name\"")
	full.UserID = 2
	full.Description = "a description"
	full.Scopes = []patkit.Scope{patkit.ScopeAPI, patkit.ScopeReadRepository, "not_a_known_scope"}
	full.LastUsedAt = at
	full.LastUsedIPs = []string{"10.0.0.1", "2001:db8::1"}
	full.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	full.Notices.Set(patkit.NoticeSixtyDays, at.Add(-time.Hour))
	full.Notices.Set(patkit.NoticeSevenDays, at.Add(time.Hour))
	old := token("before 2000")
	old.CreatedAt = time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	old.ExpiresAt = time.Time{}
	bot := token("project bot")
	bot.UserID = 3
	bot.ResourceType, bot.ResourceID, bot.AccessLevel = patkit.ResourceProject, 7, patkit.AccessLevel(40)
	group := token("group bot")
	group.UserID = 4
	group.ResourceType, group.ResourceID, group.AccessLevel = patkit.ResourceGroup, 8, patkit.AccessLevel(30)
	imp := token("impersonation")
	imp.Impersonation = true
	for _, tok := range []*patkit.Token{plain, full, old, bot, group, imp} {
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Revoke(ctx, bot.ID, at); err != nil {
		t.Fatal(err)
	}
	rotated := token("rotated")
	rotated.PreviousID = full.ID
	if err := s.Rotate(ctx, full.ID, rotated); err != nil {
		t.Fatal(err)
	}

	text, _ := configuredStore(t, schema, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	})

	q := patkit.Query{}
	q.Normalize()
	for _, c := range []struct {
		name string
		s    *pgstore.Store
		want bool
	}{{"binary", s, true}, {"simple protocol", text, false}} {
		decodes, err := c.s.ListDecodesRows(ctx, &q)
		if err != nil {
			t.Fatal(err)
		}
		if decodes != c.want {
			t.Errorf("%s: List decodes rows itself: %v, want %v", c.name, decodes, c.want)
		}
	}
	got, n, err := s.List(ctx, &q)
	if err != nil {
		t.Fatal(err)
	}
	want, wantN, err := text.List(ctx, &q)
	if err != nil {
		t.Fatal(err)
	}
	if n != wantN || len(got) != 7 {
		t.Errorf("List: %d tokens of %d, want 7 of %d", len(got), n, wantN)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("binary rows (+) differ from pgx's Scan of text rows (-):\n%s", diff)
	}
	for _, tok := range got {
		if cap(tok.Digest) != len(tok.Digest) || cap(tok.Scopes) != len(tok.Scopes) {
			t.Errorf("token %d: digest or scopes share their array with the next token's", tok.ID)
		}
	}
}
