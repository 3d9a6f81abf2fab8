package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/sqlitestore"
)

// TestListConnections lists tokens with every field set, and odd texts,
// through the connections Open gives List and through the *sql.DB of a
// Store from New on the same file, for shapes of every kind (counted from
// the counters or by a walk, a short page, an empty one, text arguments):
// both give the same tokens, field by field, and the same total.
func TestListConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	viaDB := newStore(t, openDB(t, path), nil)
	ctx := t.Context()
	var stored []*patkit.Token
	for i := range 45 {
		tok := token(fmt.Sprintf("token %d", i))
		tok.UserID = int64(1 + i%3)
		tok.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		switch i % 5 {
		case 0:
			tok.Description = "a description"
			tok.Scopes = []patkit.Scope{"api", "read_api", "write_repository"}
			tok.ResourceType, tok.ResourceID, tok.AccessLevel = patkit.ResourceProject, 1<<40, patkit.Maintainer
			tok.Revoked, tok.RevokedAt, tok.Rotated = true, base.Add(time.Hour), true
			tok.LastUsedAt, tok.LastUsedIPs = base.Add(time.Minute), []string{"10.0.0.1", "2001:db8::1"}
			tok.PreviousID = 1 << 50
			tok.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
			for n := patkit.NoticeSixtyDays; n <= patkit.NoticeExpired; n++ {
				tok.Notices.Set(n, base.Add(time.Duration(n)*time.Second))
			}
		case 1:
			tok.Impersonation, tok.ExpiresAt = true, time.Time{}
		case 2:
			tok.Name = fmt.Sprintf("a\x00name %d, \"quoted\" [] é", i)
			tok.Description = "\x00"
			tok.Scopes = []patkit.Scope{`a"b`, ""}
			tok.LastUsedIPs = []string{"<script>", "tab\there"}
		case 3:
			tok.Scopes = nil
			tok.ExpiresAt = base.Add(-time.Hour)
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, tok)
	}
	no, yes := false, true
	now := base.Add(30 * time.Minute)
	for _, q := range []patkit.Query{
		{},
		{Filter: patkit.Filter{Page: 2, PerPage: 20}},
		{Filter: patkit.Filter{Page: 3, PerPage: 20}},  // short: the page gives the total
		{Filter: patkit.Filter{Page: 9, PerPage: 20}},  // empty
		{Filter: patkit.Filter{Page: 1, PerPage: 100}}, // all of them
		{Filter: patkit.Filter{Sort: patkit.SortExpiresAsc, PerPage: 7, Page: 2}},
		{Filter: patkit.Filter{Sort: patkit.SortLastUsedDesc, Revoked: &no}},
		{Filter: patkit.Filter{State: patkit.StateActive, Sort: patkit.SortNameDesc}, Now: now},
		{Filter: patkit.Filter{State: patkit.StateInactive}, Now: now, UserID: 2},
		{Filter: patkit.Filter{Search: "token 1"}},
		{Filter: patkit.Filter{Search: "QUOTED"}},
		{Filter: patkit.Filter{Search: "token 14"}},
		{ResourceType: patkit.ResourceProject, ResourceID: 1 << 40},
		{UserID: 3, Impersonation: &yes},
		{Filter: patkit.Filter{Kind: patkit.KindPersonal, PerPage: 5}},
	} {
		q.Normalize()
		var got [2][]*patkit.Token
		var totals [2]int
		for i, st := range []*sqlitestore.Store{s, viaDB} {
			q := q
			var err error
			if got[i], totals[i], err = st.List(ctx, &q); err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
		}
		if len(got[1]) == 0 && q.Page == 1 && q.Search == "" {
			t.Errorf("%+v: no tokens: the shape checks nothing", q)
		}
		if diff := cmp.Diff(got[1], got[0], cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" || totals[0] != totals[1] {
			t.Errorf("%+v: total %d (Open) and %d (New), tokens (-New +Open):\n%s", q, totals[0], totals[1], diff)
		}
	}
	// And what was stored, for the tokens that span every field.
	q := patkit.Query{Filter: patkit.Filter{PerPage: 100}}
	q.Normalize()
	got, _, err := s.List(ctx, &q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("listed (-stored +listed):\n%s", diff)
	}
}

// TestListBadColumn checks that List fails, rather than guessing, on a
// value of a type the Store never writes, as Scan does for the Store from
// New.
func TestListBadColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s := openPath(t, path, nil)
	db := openDB(t, path)
	viaDB := newStore(t, db, nil)
	ctx := t.Context()
	tok := token("bad")
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"impersonation = 2", "user_id = 'one'", "expires_at = 1.5", "scopes = 7"} {
		if _, err := db.ExecContext(ctx, "UPDATE tokens SET "+set+" WHERE id = ?", tok.ID); err != nil {
			t.Fatal(err)
		}
		for name, st := range map[string]*sqlitestore.Store{"Open": s, "New": viaDB} {
			if got, _, err := st.List(ctx, &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}); err == nil {
				t.Errorf("%s after %s: List = %v, want an error", name, set, got)
			}
		}
		// Back to the stored value, for the next case.
		if _, err := db.ExecContext(ctx, "UPDATE tokens SET impersonation = 0, user_id = 1, expires_at = NULL, scopes = '[]' WHERE id = ?", tok.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListCanceled cancels Lists while they run: each returns its page or
// an error wrapping context.Canceled, and the interruption of one never
// reaches the next List on the same connection.
func TestListCanceled(t *testing.T) {
	s := open(t, nil)
	ctx := t.Context()
	for i := range 30 {
		if err := s.Create(ctx, token(fmt.Sprint("token ", i))); err != nil {
			t.Fatal(err)
		}
	}
	q := patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}
	q.Normalize()
	for i := range 200 {
		c, cancel := context.WithCancel(ctx)
		if i%2 == 0 {
			go cancel()
		}
		q := q
		if got, _, err := s.List(c, &q); err != nil && !errors.Is(err, context.Canceled) || err == nil && len(got) != 20 {
			t.Fatalf("List while canceled: %d tokens, %v", len(got), err)
		}
		cancel()
		q = patkit.Query{Filter: q.Filter}
		if got, total, err := s.List(ctx, &q); err != nil || len(got) != 20 || total != 30 {
			t.Fatalf("List after a canceled one: %d tokens of %d, %v; want 20 of 30", len(got), total, err)
		}
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.List(c, &q); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context: %v, want context.Canceled", err)
	}
}

// TestListClose runs Lists while the Store closes: each returns its page
// or an error wrapping ErrUnavailable, none panics, and after Close every
// one fails with ErrUnavailable. Under -race it checks the pool's locking.
func TestListClose(t *testing.T) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "patkit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Create(ctx, token("t")); err != nil {
		t.Fatal(err)
	}
	list := func() error {
		_, _, err := s.List(ctx, &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}})
		return err
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if err := list(); err != nil && !errors.Is(err, patkit.ErrUnavailable) {
					t.Errorf("List while closing: %v", err)
					return
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := list(); !errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("List after Close: %v, want ErrUnavailable", err)
	}
}
