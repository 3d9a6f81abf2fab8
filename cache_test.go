package patkit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// feedStore is a Store shared by several Services, as one database is by
// several processes, that publishes revocations to watchers like pgstore's
// LISTEN/NOTIFY feed.
type feedStore struct {
	*countingStore
	mu   sync.Mutex
	subs []chan int64
}

func (s *feedStore) publish(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.subs {
		c <- id
	}
}

// waitWatched waits until a Watch has subscribed.
func (s *feedStore) waitWatched(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.subs) > 0
	})
}

func (s *feedStore) Revoke(ctx context.Context, id int64, at time.Time) error {
	err := s.countingStore.Revoke(ctx, id, at)
	s.publish(id)
	return err
}

func (s *feedStore) Rotate(ctx context.Context, id int64, t *patkit.Token) error {
	err := s.countingStore.Rotate(ctx, id, t)
	s.publish(id)
	return err
}

func (s *feedStore) Watch(ctx context.Context, revoked func(int64), stale func()) error {
	c := make(chan int64, 100)
	s.mu.Lock()
	s.subs = append(s.subs, c)
	s.mu.Unlock()
	stale()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case id := <-c:
			if id < 0 {
				stale()
			} else {
				revoked(id)
			}
		}
	}
}

func TestCacheSkipsStorage(t *testing.T) {
	w := newWorld(t, nil)
	_, s := w.pat(t, 2)
	w.login(t, s)
	before := w.store.getByDigest.Load()
	for range 100 {
		w.login(t, s)
	}
	if n := w.store.getByDigest.Load() - before; n != 0 {
		t.Errorf("%d storage lookups for a cached token", n)
	}
	// The entry lives CacheTTL (10s by default).
	w.clock.Add(10 * time.Second)
	w.login(t, s)
	if n := w.store.getByDigest.Load() - before; n != 1 {
		t.Errorf("%d storage lookups after the TTL, want 1", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	w := newWorld(t, &patkit.Options{CacheSize: -1})
	_, s := w.pat(t, 2)
	before := w.store.getByDigest.Load()
	for range 5 {
		w.login(t, s)
	}
	if n := w.store.getByDigest.Load() - before; n != 5 {
		t.Errorf("%d storage lookups with the cache off, want 5", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	w := newWorld(t, &patkit.Options{CacheSize: 1})
	_, s1 := w.pat(t, 2)
	_, s2 := w.pat(t, 3)
	before := w.store.getByDigest.Load()
	for range 5 {
		w.login(t, s1)
		w.login(t, s2)
	}
	if n := w.store.getByDigest.Load() - before; n != 10 {
		t.Errorf("%d storage lookups for two tokens in a cache of one, want 10", n)
	}
}

func TestCachedTokenStillExpires(t *testing.T) {
	w := newWorld(t, &patkit.Options{CacheTTL: time.Hour})
	_, s, err := w.svc.CreateToken(t.Context(), w.root, 2, patkit.TokenOptions{Name: "d", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 3, 11)})
	wantErr(t, err, nil, "")
	w.clock.Set(date(2026, 3, 11).Add(-time.Second))
	w.login(t, s)
	w.clock.Set(date(2026, 3, 11))
	_, err = w.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenExpired, "")
}

func TestCacheLocalRevocationIsImmediate(t *testing.T) {
	w := newWorld(t, &patkit.Options{CacheTTL: time.Hour})
	ctx := t.Context()
	tok, s := w.pat(t, 2)
	w.login(t, s)
	wantErr(t, w.svc.RevokeToken(ctx, w.alice, tok.ID), nil, "")
	_, err := w.svc.Authenticate(ctx, s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")

	// Rotation, self revocation and family revocation too.
	tok, s = w.pat(t, 2)
	w.login(t, s)
	_, s2, err := w.svc.RotateToken(ctx, w.alice, tok.ID, time.Time{})
	wantErr(t, err, nil, "")
	_, err = w.svc.Authenticate(ctx, s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	w.login(t, s2)
	_, err = w.svc.Authenticate(ctx, s, patkit.AuthRequest{Rotate: true})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
	_, err = w.svc.Authenticate(ctx, s2, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")

	imp, si, err := w.svc.CreateImpersonationToken(ctx, w.root, 2, patkit.TokenOptions{Name: "i", Scopes: []patkit.Scope{"api"}, ExpiresAt: date(2026, 6, 1)})
	wantErr(t, err, nil, "")
	w.login(t, si)
	wantErr(t, w.svc.RevokeImpersonationToken(ctx, w.root, 2, imp.ID), nil, "")
	_, err = w.svc.Authenticate(ctx, si, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")

	rt, sr := w.resourceToken(t, patkit.ResourceProject, "1", patkit.Developer)
	w.login(t, sr)
	wantErr(t, w.svc.RevokeResourceToken(ctx, w.alice, patkit.ResourceProject, "1", rt.ID), nil, "")
	_, err = w.svc.Authenticate(ctx, sr, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
}

// twoInstances returns two Services over one shared store, as two
// processes over one database, with a common clock.
func twoInstances(t *testing.T, ttl time.Duration) (a, b *world, shared *feedStore) {
	a = newWorld(t, &patkit.Options{CacheTTL: ttl})
	shared = &feedStore{countingStore: a.store}
	svcA, err := patkit.New(shared, a.dir, testKey, &patkit.Options{CacheTTL: ttl, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	svcB, err := patkit.New(shared, a.dir, testKey, &patkit.Options{CacheTTL: ttl, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	b = &world{}
	*b = *a
	a.svc, b.svc = svcA, svcB
	return a, b, shared
}

func TestCacheOtherInstanceWithinTTL(t *testing.T) {
	a, b, _ := twoInstances(t, 10*time.Second)
	tok, s := a.pat(t, 2)
	b.login(t, s) // b caches the token
	wantErr(t, a.svc.RevokeToken(t.Context(), a.alice, tok.ID), nil, "")
	// Unwatched, b trusts its cache until the entry's lifetime ends.
	a.clock.Add(9 * time.Second)
	b.login(t, s)
	a.clock.Add(time.Second)
	_, err := b.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
}

func TestCacheWatchedInstanceIsImmediate(t *testing.T) {
	a, b, shared := twoInstances(t, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- b.svc.Watch(ctx) }()
	shared.waitWatched(t)

	tok, s := a.pat(t, 2)
	b.login(t, s)
	wantErr(t, a.svc.RevokeToken(t.Context(), a.alice, tok.ID), nil, "")
	// The feed is asynchronous; the revocation lands without any clock
	// movement, long before the hour-long TTL.
	waitFor(t, func() bool {
		_, err := b.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		return errors.Is(err, patkit.ErrTokenRevoked)
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v", err)
	}
}

func TestCacheStalePurges(t *testing.T) {
	a, b, shared := twoInstances(t, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.svc.Watch(ctx)
	shared.waitWatched(t)
	tok, s := a.pat(t, 2)
	b.login(t, s)
	// A revocation the feed misses, as during a lost connection.
	if err := shared.countingStore.Store.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	b.login(t, s) // still cached
	// When the feed reports a gap, everything cached before it is dropped.
	shared.publish(-1)
	waitFor(t, func() bool {
		_, err := b.svc.Authenticate(t.Context(), s, patkit.AuthRequest{})
		return errors.Is(err, patkit.ErrTokenRevoked)
	})
}

func TestWatchUnsupported(t *testing.T) {
	w := newWorld(t, nil)
	if err := w.svc.Watch(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Watch on memstore = %v, want ErrUnsupported", err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// zeros is a Rand that makes the same secret every time.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestUnknownSecretsCached checks that a well-formed secret no token has
// costs one store lookup per CacheTTL, not one per request, and that a
// token this Service then makes with that very secret works at once.
func TestUnknownSecretsCached(t *testing.T) {
	w := newWorld(t, &patkit.Options{Rand: zeros{}})
	ctx := t.Context()
	secret := patkit.UnknownSecret(w.svc)
	w.store.getByDigest.Store(0)
	for range 5 {
		if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{}); !errors.Is(err, patkit.ErrUnauthorized) {
			t.Fatalf("unknown secret: %v", err)
		}
	}
	if n := w.store.getByDigest.Load(); n != 1 {
		t.Errorf("%d store lookups for 5 presentations of one unknown secret, want 1", n)
	}
	w.clock.Add(11 * time.Second) // past CacheTTL: asked again
	w.svc.Authenticate(ctx, secret, patkit.AuthRequest{})
	if n := w.store.getByDigest.Load(); n != 2 {
		t.Errorf("%d store lookups after CacheTTL, want 2", n)
	}
	_, made := w.pat(t, 2) // the same secret, from the same "randomness"
	if made != secret {
		t.Fatal("the test's Rand did not repeat the secret")
	}
	if _, err := w.svc.Authenticate(ctx, secret, patkit.AuthRequest{}); err != nil {
		t.Errorf("the token made with a secret once unknown: %v", err)
	}
}

// TestCacheTTLOnTheRealClock is TestCacheOtherInstanceWithinTTL on the
// real clock (no Options.Now), where a cached authentication measures the
// entry's age on the monotonic clock alone: the entry must still age.
func TestCacheTTLOnTheRealClock(t *testing.T) {
	store := memstore.New()
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	const ttl = 50 * time.Millisecond
	a, err := patkit.New(store, dir, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := patkit.New(store, dir, testKey, &patkit.Options{CacheTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	root, err := a.Principal(t.Context(), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := a.CreateToken(t.Context(), root, 1, patkit.TokenOptions{Name: "t", Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(t.Context(), secret, patkit.AuthRequest{}); err != nil {
		t.Fatal(err) // b caches the token
	}
	wantErr(t, a.RevokeToken(t.Context(), root, tok.ID), nil, "")
	time.Sleep(2 * ttl)
	_, err = b.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	wantErr(t, err, patkit.ErrTokenRevoked, "")
}

// TestCachedPrincipalShared: a cached token's repeated requests from one
// address share one Principal, and a Principal never carries another
// request's address, another state of the user, or a revoked token.
func TestCachedPrincipalShared(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	tok, secret := w.pat(t, 2)
	auth := func(ip string) (*patkit.Principal, error) {
		return w.svc.Authenticate(ctx, secret, patkit.AuthRequest{RemoteIP: ip})
	}
	if _, err := auth("10.0.0.1"); err != nil { // read from the Store, its use recorded
		t.Fatal(err)
	}
	first, err := auth("10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := auth("10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("a second request from the same address made a new Principal")
	}
	other, err := auth("10.0.0.2")
	if err != nil || other.RemoteIP() != "10.0.0.2" {
		t.Fatalf("from 10.0.0.2: %v, address %q", err, other.RemoteIP())
	}
	if p, _ := auth("10.0.0.1"); p.RemoteIP() != "10.0.0.1" {
		t.Errorf("back from 10.0.0.1: address %q", p.RemoteIP())
	}
	// An equal user from the Directory, at another address in memory, is
	// the same user.
	w.dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	if p, _ := auth("10.0.0.1"); p.User().Admin {
		t.Error("alice is not an administrator")
	}
	w.dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice", Admin: true})
	if p, _ := auth("10.0.0.1"); !p.Admin() || !p.User().Admin {
		t.Error("alice, made an administrator, is not one in the next Principal")
	}
	if err := w.svc.RevokeToken(ctx, w.root, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := auth("10.0.0.1"); !errors.Is(err, patkit.ErrTokenRevoked) && !errors.Is(err, patkit.ErrUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
}
