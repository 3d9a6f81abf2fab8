package patkit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
)

// clock is an injectable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// countingStore wraps a Store, counting calls and optionally failing them.
type countingStore struct {
	patkit.Store
	getByDigest, setLastUsed, writes atomic.Int64
	failSetLastUsed                  bool
	// afterGetByDigest, when set, runs after each read by digest, before
	// the token is returned.
	afterGetByDigest func()
}

func (s *countingStore) GetByDigest(ctx context.Context, d []byte) (*patkit.Token, error) {
	s.getByDigest.Add(1)
	t, err := s.Store.GetByDigest(ctx, d)
	if s.afterGetByDigest != nil {
		s.afterGetByDigest()
	}
	return t, err
}

func (s *countingStore) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	s.setLastUsed.Add(1)
	if s.failSetLastUsed {
		return errors.New("disk on fire")
	}
	return s.Store.SetLastUsed(ctx, id, at, ips)
}

func (s *countingStore) Create(ctx context.Context, t *patkit.Token) error {
	s.writes.Add(1)
	return s.Store.Create(ctx, t)
}

func (s *countingStore) Rotate(ctx context.Context, id int64, t *patkit.Token) error {
	s.writes.Add(1)
	return s.Store.Rotate(ctx, id, t)
}

// Revoke counts a write unless the token was missing: a revocation of
// nothing writes nothing.
func (s *countingStore) Revoke(ctx context.Context, id int64, at time.Time) error {
	err := s.Store.Revoke(ctx, id, at)
	if !errors.Is(err, patkit.ErrNotFound) {
		s.writes.Add(1)
	}
	return err
}

var (
	testKey = []byte("0123456789abcdef0123456789abcdef")
	// t0 is 2026-03-10 12:00 UTC: the default test clock.
	t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
)

// world is a Service over memstore with the example server's directory:
// root (1, admin), alice (2), bob (3), carol (4, blocked); project 1
// acme/widgets (alice 40, bob 30), group 1 acme (alice 50, bob 20), project 2
// acme/locked (alice 40, token creation disabled).
type world struct {
	svc   *patkit.Service
	store *countingStore
	dir   *patkit.MemDirectory
	clock *clock

	root, alice, bob, carol *patkit.Principal
}

func newWorld(t testing.TB, opts *patkit.Options) *world {
	t.Helper()
	w := &world{store: &countingStore{Store: memstore.New()}, dir: new(patkit.MemDirectory), clock: &clock{now: t0}}
	w.dir.AddUser(patkit.User{ID: 1, Username: "root", Name: "Administrator", Admin: true})
	w.dir.AddUser(patkit.User{ID: 2, Username: "alice", Name: "Alice"})
	w.dir.AddUser(patkit.User{ID: 3, Username: "bob", Name: "Bob"})
	w.dir.AddUser(patkit.User{ID: 4, Username: "carol", Name: "Carol", Blocked: true})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 1, FullPath: "acme/widgets", Public: true}) // visibility has tests of its own
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceGroup, ID: 1, FullPath: "acme", Public: true})
	w.dir.AddResource(patkit.Resource{Type: patkit.ResourceProject, ID: 2, FullPath: "acme/locked", TokenCreationDisabled: true})
	w.dir.SetAccess(patkit.ResourceProject, 1, 2, patkit.Maintainer)
	w.dir.SetAccess(patkit.ResourceProject, 1, 3, patkit.Developer)
	w.dir.SetAccess(patkit.ResourceGroup, 1, 2, patkit.Owner)
	w.dir.SetAccess(patkit.ResourceGroup, 1, 3, patkit.Reporter)
	w.dir.SetAccess(patkit.ResourceProject, 2, 2, patkit.Maintainer)
	var o patkit.Options
	if opts != nil {
		o = *opts
	}
	o.Now = w.clock.Now
	svc, err := patkit.New(w.store, w.dir, testKey, &o)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	w.root = w.principal(t, 1)
	w.alice = w.principal(t, 2)
	w.bob = w.principal(t, 3)
	w.carol = w.principal(t, 4)
	return w
}

// principal returns a principal for a user authenticated without a token.
func (w *world) principal(t testing.TB, id int64) *patkit.Principal {
	t.Helper()
	u, err := w.dir.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return patkit.NewTestPrincipal(u, nil, u.Admin)
}

// pat creates a personal access token for user id as root and returns it
// with its secret.
func (w *world) pat(t testing.TB, id int64, scopes ...patkit.Scope) (*patkit.Token, string) {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []patkit.Scope{patkit.ScopeAPI}
	}
	tok, secret, err := w.svc.CreateToken(t.Context(), w.root, id, patkit.TokenOptions{Name: "t", Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return tok, secret
}

// login authenticates a secret and fails the test on error.
func (w *world) login(t testing.TB, secret string) *patkit.Principal {
	t.Helper()
	p, err := w.svc.Authenticate(t.Context(), secret, patkit.AuthRequest{})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// get reads a token straight from the store.
func (w *world) get(t testing.TB, id int64) *patkit.Token {
	t.Helper()
	tok, err := w.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantErr checks that err wraps code and, when msg is not empty, that its
// *patkit.Error message is msg.
func wantErr(t testing.TB, err, code error, msg string) {
	t.Helper()
	if code == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, code) {
		t.Fatalf("error = %v, want %v", err, code)
	}
	if msg == "" {
		return
	}
	var e *patkit.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *patkit.Error", err)
	}
	got := e.Message
	if len(e.Fields) > 0 {
		got = e.Sentence()
	}
	if got != msg {
		t.Fatalf("message = %q, want %q", got, msg)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
