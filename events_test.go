package patkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// recorder is an OnEvent handler that keeps the events it receives.
type recorder struct {
	mu     sync.Mutex
	events []patkit.Event
}

func (r *recorder) handle(e patkit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take waits for svc's events to be delivered and returns those received
// since the last take.
func (r *recorder) take(t testing.TB, svc *patkit.Service) []patkit.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := svc.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// summary is what the tests compare of an event.
type summary struct {
	Type    patkit.EventType
	Actor   patkit.Actor
	TokenID int64
	Revoked bool
	Reason  patkit.RevocationReason
	Notice  patkit.Notice
}

func summarize(t testing.TB, evs []patkit.Event) []summary {
	t.Helper()
	var out []summary
	for _, e := range evs {
		if e.Token == nil {
			t.Fatalf("event %s has no token", e.Type)
		}
		if e.Token.Digest != nil {
			t.Errorf("event %s carries the token's digest", e.Type)
		}
		out = append(out, summary{e.Type, e.Actor, e.Token.ID, e.Token.Revoked, e.Reason, e.Notice})
	}
	return out
}

func wantEvents(t testing.TB, r *recorder, svc *patkit.Service, want ...summary) []patkit.Event {
	t.Helper()
	evs := r.take(t, svc)
	if diff := cmp.Diff(want, summarize(t, evs)); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	return evs
}

func TestEventsOfTheTokenAPI(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: rec.handle})
	ctx := t.Context()
	root, err := w.svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	rootActor := patkit.Actor{UserID: 1, Username: "root"}

	tok, secret, err := w.svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	evs := wantEvents(t, rec, w.svc, summary{Type: patkit.EventCreated, Actor: rootActor, TokenID: tok.ID})
	if len(evs) == 1 && (evs[0].Token.Name != "ci" || !evs[0].Time.Equal(t0)) {
		t.Errorf("created event: token %+v at %v, want the token named ci at %v", evs[0].Token, evs[0].Time, t0)
	}

	// The first use from an address is an event; more uses from it are
	// not; another address, once recorded, is.
	aliceAt := func(ip string) patkit.Actor {
		return patkit.Actor{UserID: 2, Username: "alice", TokenID: tok.ID, IP: ip}
	}
	p, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.RemoteIP() != "192.0.2.1" {
		t.Errorf("RemoteIP = %q, want 192.0.2.1", p.RemoteIP())
	}
	w.login(t, secret)
	w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.1"})
	wantEvents(t, rec, w.svc, summary{Type: patkit.EventNewAddress, Actor: aliceAt("192.0.2.1"), TokenID: tok.ID})
	w.clock.Add(2 * time.Minute) // past LastUsedIPInterval
	if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "198.51.100.7"}); err != nil {
		t.Fatal(err)
	}
	evs = wantEvents(t, rec, w.svc, summary{Type: patkit.EventNewAddress, Actor: aliceAt("198.51.100.7"), TokenID: tok.ID})
	if len(evs) == 1 && !slices.Equal(evs[0].Token.LastUsedIPs, []string{"192.0.2.1", "198.51.100.7"}) {
		t.Errorf("new address event: LastUsedIPs = %q", evs[0].Token.LastUsedIPs)
	}

	// Alice rotates her token with it, from her address: the event is
	// about the new token, which names the old one.
	p, err = w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := w.svc.RotateSelf(ctx, p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	evs = wantEvents(t, rec, w.svc, summary{Type: patkit.EventRotated, Actor: aliceAt("198.51.100.7"), TokenID: next.ID})
	if len(evs) == 1 && evs[0].Token.PreviousID != tok.ID {
		t.Errorf("rotated event: PreviousID = %d, want %d", evs[0].Token.PreviousID, tok.ID)
	}
	// A rotation that fails stores nothing and emits nothing.
	if _, _, err := w.svc.RotateToken(ctx, root, tok.ID, time.Time{}); err == nil {
		t.Fatal("rotated a revoked token")
	}
	wantEvents(t, rec, w.svc)

	// Revocations, with who revoked: the owner, an administrator, the
	// token information API. Revoking a revoked token emits nothing.
	own, _ := w.pat(t, 2)
	other, _ := w.pat(t, 3)
	api, apiSecret := w.pat(t, 3)
	rec.take(t, w.svc)
	alice, err := w.svc.Principal(ctx, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		w.svc.RevokeToken(ctx, alice, own.ID),
		w.svc.RevokeToken(ctx, root, other.ID),
		w.svc.RevokeToken(ctx, root, other.ID),
		w.svc.RevokeToken(ctx, alice, other.ID), // refused: not hers
	} {
		if err != nil && !errors.Is(err, patkit.ErrBadRequest) {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.RevokeTokenBySecret(ctx, root, apiSecret); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, rec, w.svc,
		summary{Type: patkit.EventRevoked, Actor: patkit.Actor{UserID: 2, Username: "alice"}, TokenID: own.ID, Revoked: true, Reason: patkit.ReasonOwner},
		summary{Type: patkit.EventRevoked, Actor: rootActor, TokenID: other.ID, Revoked: true, Reason: patkit.ReasonAdministrator},
		summary{Type: patkit.EventRevoked, Actor: rootActor, TokenID: api.ID, Revoked: true, Reason: patkit.ReasonAdminTokenAPI},
	)

	// A project token, created and revoked by a Maintainer.
	proj, _, err := w.svc.CreateResourceToken(ctx, alice, patkit.ResourceProject, "1", patkit.TokenOptions{Name: "bot", Scopes: []patkit.Scope{patkit.ScopeReadAPI}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RevokeResourceToken(ctx, alice, patkit.ResourceProject, "1", proj.ID); err != nil {
		t.Fatal(err)
	}
	aliceActor := patkit.Actor{UserID: 2, Username: "alice"}
	wantEvents(t, rec, w.svc,
		summary{Type: patkit.EventCreated, Actor: aliceActor, TokenID: proj.ID},
		summary{Type: patkit.EventRevoked, Actor: aliceActor, TokenID: proj.ID, Revoked: true, Reason: patkit.ReasonResourceManager},
	)
	if st := w.svc.EventStats(); st.Dropped != 0 || st.Panics != 0 || st.Queued != st.Delivered {
		t.Errorf("EventStats = %+v", st)
	}
}

// A revoked token presented on a rotation path: its active descendants
// are revoked, each an event, and the reuse is one.
func TestEventsOfReuseDetection(t *testing.T) {
	for _, name := range []string{"FamilyRevoker", "walk"} {
		t.Run(name, func(t *testing.T) {
			rec := new(recorder)
			w := newWorld(t, nil)
			var store patkit.Store = w.store
			if name == "FamilyRevoker" {
				store = &familyStore{countingStore: w.store, revoker: w.store.Store.(patkit.FamilyRevoker)}
			}
			svc, err := patkit.New(store, w.dir, testKey, &patkit.Options{Now: w.clock.Now, OnEvent: rec.handle})
			if err != nil {
				t.Fatal(err)
			}
			f := newFamily(t, w, svc, 2)
			rec.take(t, svc)
			_, err = svc.Authenticate(t.Context(), f.secrets[0], patkit.AuthRequest{RemoteIP: "203.0.113.9", Rotate: true})
			if !errors.Is(err, patkit.ErrTokenRevoked) {
				t.Fatalf("Authenticate = %v, want ErrTokenRevoked", err)
			}
			actor := patkit.Actor{TokenID: f.tokens[0].ID, IP: "203.0.113.9"}
			wantEvents(t, rec, svc,
				summary{Type: patkit.EventRevoked, Actor: actor, TokenID: f.tokens[2].ID, Revoked: true, Reason: patkit.ReasonReuseDetected},
				summary{Type: patkit.EventReuseDetected, Actor: actor, TokenID: f.tokens[0].ID, Revoked: true},
			)
		})
	}
}

// No event for a change the Store refused.
func TestNoEventWhenTheStoreFails(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: rec.handle})
	_, secret := w.pat(t, 2)
	rec.take(t, w.svc)
	w.store.failSetLastUsed = true
	if _, err := w.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{RemoteIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, rec, w.svc)

	closed := memstore.New()
	svc, err := patkit.New(closed, w.dir, testKey, &patkit.Options{OnEvent: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, _, err := svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}}); err == nil {
		t.Fatal("created a token on a closed store")
	}
	wantEvents(t, rec, svc)
}

// A handler that panics loses its event, not the others, and no request
// fails.
func TestEventHandlerPanics(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: func(e patkit.Event) {
		if e.Type == patkit.EventCreated && e.Token.Name == "boom" {
			panic("handler bug")
		}
		rec.handle(e)
	}})
	ctx := t.Context()
	for _, name := range []string{"a", "boom", "b", "boom", "c"} {
		if _, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: name, Scopes: []patkit.Scope{patkit.ScopeAPI}}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, e := range rec.take(t, w.svc) {
		names = append(names, e.Token.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("delivered %q, want [a b c]", names)
	}
	if st := w.svc.EventStats(); st.Panics != 2 || st.Delivered != 5 || st.Queued != 5 {
		t.Errorf("EventStats = %+v, want 5 queued, 5 delivered, 2 panics", st)
	}
}

// A handler that blocks holds up no request: the buffer fills, then
// events are dropped and counted; once it returns, delivery goes on.
func TestEventHandlerBlocks(t *testing.T) {
	release := make(chan struct{})
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{EventBuffer: 3, OnEvent: func(e patkit.Event) {
		<-release
		rec.handle(e)
	}})
	ctx := t.Context()
	const n = 20
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if _, _, err := w.svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: fmt.Sprint(i), Scopes: []patkit.Scope{patkit.ScopeAPI}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("requests are held up by a blocked event handler")
	}
	fctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := w.svc.Flush(fctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush with a blocked handler = %v, want DeadlineExceeded", err)
	}
	cancel()
	close(release)
	got := rec.take(t, w.svc)
	st := w.svc.EventStats()
	// Three in the buffer, perhaps one more in the handler (if it took
	// one before the buffer filled), the rest dropped.
	if len(got) < 3 || len(got) > 4 || st.Delivered != uint64(len(got)) || st.Dropped != n-st.Delivered {
		t.Errorf("delivered %d events, stats %+v; want 3 or 4 delivered and the rest of %d dropped", len(got), st, n)
	}
	// Delivery goes on.
	w.pat(t, 2)
	if got := rec.take(t, w.svc); len(got) != 1 {
		t.Errorf("after the handler returned: %d events, want 1", len(got))
	}
}

// Event IDs are UUIDv7s (RFC 9562) that sort as the events were emitted,
// and carry the event's time.
func TestEventIDs(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: rec.handle, EventBuffer: 6000})
	for i := range 5000 { // 3000 a millisecond: more than the 12-bit counter holds
		if i%3000 == 0 {
			w.clock.Add(1500 * time.Millisecond)
		}
		w.pat(t, 2)
	}
	w.clock.Add(-time.Hour) // the clock steps back
	w.pat(t, 2)
	evs := rec.take(t, w.svc)
	if len(evs) != 5001 {
		t.Fatalf("%d events, want 5001", len(evs))
	}
	seen := make(map[string]bool)
	for i, e := range evs {
		id, err := uuid.Parse(e.ID)
		if err != nil {
			t.Fatalf("event %d: ID %q: %v", i, e.ID, err)
		}
		if id.Version() != 7 || id.Variant() != uuid.RFC4122 || id.String() != e.ID {
			t.Fatalf("event %d: ID %q is version %d, variant %v; want a canonical version 7 RFC 4122 UUID", i, e.ID, id.Version(), id.Variant())
		}
		if seen[e.ID] {
			t.Fatalf("event %d: ID %s repeated", i, e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Fatalf("event %d: ID %s after %s: IDs must increase", i, e.ID, evs[i-1].ID)
		}
		sec, nsec := id.Time().UnixTime()
		at := time.Unix(sec, nsec)
		// The counter overflows into the next milliseconds; the clock
		// stepping back keeps the IDs' time where it was.
		if i < 5000 && (at.Before(e.Time.Truncate(time.Millisecond)) || at.Sub(e.Time) > 10*time.Millisecond) {
			t.Fatalf("event %d: ID time %v, event time %v", i, at, e.Time)
		}
	}
}

// Without a handler nothing is emitted, counted or claimed.
func TestNoHandler(t *testing.T) {
	mem := memstore.New()
	w := newWorld(t, nil)
	svc, err := patkit.New(mem, w.dir, testKey, &patkit.Options{Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "x", Scopes: []patkit.Scope{patkit.ScopeAPI}, ExpiresAt: date(2026, 3, 12)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.SendExpiryNotices(t.Context())
	if n != 0 || err != nil {
		t.Errorf("SendExpiryNotices = %d, %v; want 0, nil", n, err)
	}
	if got, _ := mem.Get(t.Context(), tok.ID); got.Notices != (patkit.ExpiryNotices{}) {
		t.Errorf("notices claimed without a handler: %+v", got.Notices)
	}
	if st := svc.EventStats(); st != (patkit.EventStats{}) {
		t.Errorf("EventStats = %+v", st)
	}
	if err := svc.Flush(t.Context()); err != nil {
		t.Errorf("Flush = %v", err)
	}
}

func TestSendExpiryNotices(t *testing.T) {
	rec := new(recorder)
	mem := memstore.New()
	w := newWorld(t, nil)
	svc, err := patkit.New(mem, w.dir, testKey, &patkit.Options{Now: w.clock.Now, OnEvent: rec.handle, AllowNoExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// t0 is 2026-03-10 12:00 UTC.
	mk := func(name string, expires time.Time) *patkit.Token {
		t.Helper()
		tok, _, err := svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: name, Scopes: []patkit.Scope{patkit.ScopeAPI}, ExpiresAt: expires})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	far := mk("far", date(2026, 6, 1))            // 82 days: none yet
	sixty := mk("sixty", date(2026, 5, 9))        // 60 days
	thirty := mk("thirty", date(2026, 4, 9))      // 30 days
	five := mk("five", date(2026, 3, 15))         // 5 days: the 7-day notice only
	tomorrow := mk("tomorrow", date(2026, 3, 11)) // 1 day
	never := mk("never", time.Time{})
	revoked := mk("revoked", date(2026, 3, 12))
	if err := svc.RevokeToken(ctx, w.root, revoked.ID); err != nil {
		t.Fatal(err)
	}
	// An impersonation token that expired already (past dates are
	// accepted for them).
	imp, _, err := svc.CreateImpersonationToken(ctx, w.root, 3, patkit.TokenOptions{Name: "imp", Scopes: []patkit.Scope{patkit.ScopeAPI}, ExpiresAt: date(2026, 3, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = never
	rec.take(t, svc)

	sweep := func(want ...summary) {
		t.Helper()
		n, err := svc.SendExpiryNotices(ctx)
		if err != nil || n != len(want) {
			t.Errorf("SendExpiryNotices = %d, %v; want %d, nil", n, err, len(want))
		}
		evs := rec.take(t, svc)
		got := summarize(t, evs)
		slices.SortStableFunc(got, func(a, b summary) int { return int(a.TokenID - b.TokenID) })
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("notices mismatch (-want +got):\n%s", diff)
		}
	}
	soon := func(tok *patkit.Token, n patkit.Notice) summary {
		return summary{Type: patkit.EventExpiringSoon, TokenID: tok.ID, Notice: n}
	}
	expired := func(tok *patkit.Token) summary {
		return summary{Type: patkit.EventExpired, TokenID: tok.ID, Notice: patkit.NoticeExpired}
	}
	sweep(soon(sixty, patkit.NoticeSixtyDays), soon(thirty, patkit.NoticeThirtyDays),
		soon(five, patkit.NoticeSevenDays), soon(tomorrow, patkit.NoticeSevenDays), expired(imp))
	sweep() // exactly once
	got, _ := mem.Get(ctx, five.ID)
	if want := (patkit.ExpiryNotices{SevenDays: t0}); !cmp.Equal(want, got.Notices) {
		t.Errorf("five's notices = %+v, want %+v", got.Notices, want)
	}

	// Midnight UTC starts 2026-03-11: tomorrow has expired.
	w.clock.Set(date(2026, 3, 11))
	sweep(expired(tomorrow))
	// 2026-04-02 00:00: 7 days before thirty's expiry; sixty is 37 days
	// away, far 60.
	w.clock.Set(date(2026, 4, 2).Add(-time.Second))
	sweep(expired(five))
	w.clock.Set(date(2026, 4, 2))
	sweep(soon(far, patkit.NoticeSixtyDays), soon(thirty, patkit.NoticeSevenDays))
	// Years later: every token has expired, each notified once more.
	w.clock.Set(date(2030, 1, 1))
	sweep(expired(far), expired(sixty), expired(thirty))
	sweep()
	got, _ = mem.Get(ctx, thirty.ID)
	want := patkit.ExpiryNotices{ThirtyDays: t0, SevenDays: date(2026, 4, 2), Expired: date(2030, 1, 1)}
	if !cmp.Equal(want, got.Notices) {
		t.Errorf("thirty's notices = %+v, want %+v", got.Notices, want)
	}
}

// A Store that cannot claim notices: an error, not a guess.
func TestSendExpiryNoticesUnsupported(t *testing.T) {
	w := newWorld(t, &patkit.Options{OnEvent: func(patkit.Event) {}})
	if _, err := w.svc.SendExpiryNotices(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SendExpiryNotices on a store without NoticeClaimer = %v, want ErrUnsupported", err)
	}
}

// A request made with Sudo is the impersonated user's, with the
// administrator, the token and the address named.
func TestEventsUnderSudo(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: rec.handle})
	ctx := t.Context()
	rootTok, rootSecret := w.pat(t, 1, patkit.ScopeAPI, patkit.ScopeSudo)
	aliceTok, _ := w.pat(t, 2)
	p, err := w.svc.Authenticate(ctx, rootSecret, patkit.AuthRequest{RemoteIP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	as, err := w.svc.Sudo(ctx, p, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if as.RemoteIP() != "192.0.2.7" {
		t.Errorf("RemoteIP under Sudo = %q", as.RemoteIP())
	}
	rec.take(t, w.svc)
	if err := w.svc.RevokeToken(ctx, as, aliceTok.ID); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, rec, w.svc, summary{Type: patkit.EventRevoked, TokenID: aliceTok.ID, Revoked: true, Reason: patkit.ReasonOwner,
		Actor: patkit.Actor{UserID: 2, Username: "alice", SudoerID: 1, TokenID: rootTok.ID, IP: "192.0.2.7"}})
}

// SendExpiryNotices waits for room in the buffer rather than drop a
// notice it claimed, until its context ends; what it could not queue then
// is counted as dropped.
func TestSendExpiryNoticesWaitsForRoom(t *testing.T) {
	release := make(chan struct{})
	var delivered sync.WaitGroup
	mem := memstore.New()
	w := newWorld(t, nil)
	svc, err := patkit.New(mem, w.dir, testKey, &patkit.Options{Now: w.clock.Now, EventBuffer: 1, OnEvent: func(e patkit.Event) {
		if e.Type == patkit.EventExpiringSoon {
			<-release
			delivered.Done()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 5 {
		if _, _, err := svc.CreateToken(ctx, w.root, 2, patkit.TokenOptions{Name: fmt.Sprint(i), Scopes: []patkit.Scope{patkit.ScopeAPI}, ExpiresAt: date(2026, 3, 12)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	before := svc.EventStats().Dropped // of the creations, through a buffer of 1
	// The handler holds one, the buffer one; the others wait for room.
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	n, err := svc.SendExpiryNotices(sctx)
	if !errors.Is(err, context.DeadlineExceeded) || n < 1 || n > 2 {
		t.Errorf("SendExpiryNotices with a blocked handler = %d, %v; want 1 or 2 and DeadlineExceeded", n, err)
	}
	if st := svc.EventStats(); st.Dropped-before != uint64(5-n) {
		t.Errorf("EventStats = %+v, want %d more dropped than %d", st, 5-n, before)
	}
	delivered.Add(n)
	close(release)
	delivered.Wait()

	// With room, it waits: 5 more notices through a buffer of 1.
	w.clock.Set(date(2026, 3, 12))
	if got, err := svc.SendExpiryNotices(ctx); got != 5 || err != nil {
		t.Errorf("SendExpiryNotices of the expired = %d, %v; want 5, nil", got, err)
	}
}

// Events emitted from many goroutines at once are delivered one at a
// time, their IDs increasing and their times never going back.
func TestEventsInOrderUnderConcurrency(t *testing.T) {
	var (
		mu      sync.Mutex
		evs     []patkit.Event
		inside  int
		overlap bool
	)
	w := newWorld(t, &patkit.Options{EventBuffer: 10_000, OnEvent: func(e patkit.Event) {
		mu.Lock()
		inside++
		overlap = overlap || inside > 1
		evs = append(evs, e)
		mu.Unlock()
		time.Sleep(time.Microsecond)
		mu.Lock()
		inside--
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, _, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "c", Scopes: []patkit.Scope{patkit.ScopeAPI}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 800 || overlap {
		t.Fatalf("%d events, handler calls overlapping: %v; want 800, one at a time", len(evs), overlap)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID || evs[i].Time.Before(evs[i-1].Time) {
			t.Fatalf("event %d (%s at %v) after %s at %v", i, evs[i].ID, evs[i].Time, evs[i-1].ID, evs[i-1].Time)
		}
	}
}

// A token bound to networks, presented from an address outside them, is
// refused and the refusal is an event, naming the address.
func TestEventOfAddressRefused(t *testing.T) {
	rec := new(recorder)
	w := newWorld(t, &patkit.Options{OnEvent: rec.handle})
	ctx := t.Context()
	root, err := w.svc.Principal(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := w.svc.CreateToken(ctx, root, 2, patkit.TokenOptions{Name: "ci", Scopes: []patkit.Scope{patkit.ScopeAPI},
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	rec.take(t, w.svc) // the creation
	if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: "192.0.2.9"}); !errors.Is(err, patkit.ErrAddressNotAllowed) {
		t.Fatalf("Authenticate from outside its networks: %v, want ErrAddressNotAllowed", err)
	}
	wantEvents(t, rec, w.svc, summary{Type: patkit.EventAddressRefused,
		Actor: patkit.Actor{UserID: 2, TokenID: tok.ID, IP: "192.0.2.9"}, TokenID: tok.ID})
}
