package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/storetest"
)

// The instance key shared by the Services of these tests.
var testKey = []byte("pgstore test key, 32 bytes long!")

// admin returns user 1 acting as administrator, as a host gets it for an
// internal call.
func admin(t testing.TB, svc *patkit.Service) *patkit.Principal {
	t.Helper()
	p, err := svc.Principal(t.Context(), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newDirectory returns a directory holding user 1, an administrator, and
// user 2.
func newDirectory() *patkit.MemDirectory {
	dir := new(patkit.MemDirectory)
	dir.AddUser(patkit.User{ID: 1, Username: "root", Admin: true})
	dir.AddUser(patkit.User{ID: 2, Username: "alice"})
	return dir
}

func newService(t testing.TB, s *pgstore.Store, dir patkit.Directory, opts *patkit.Options) *patkit.Service {
	t.Helper()
	svc, err := patkit.New(s, dir, testKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// createPAT creates a personal access token of user 2 through svc.
func createPAT(t testing.TB, svc *patkit.Service, name string) (*patkit.Token, string) {
	t.Helper()
	tok, secret, err := svc.CreateToken(t.Context(), admin(t, svc), 2, patkit.TokenOptions{Name: name, Scopes: []patkit.Scope{patkit.ScopeAPI}})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return tok, secret
}

func authenticate(t testing.TB, svc *patkit.Service, secret string) error {
	t.Helper()
	_, err := svc.Authenticate(t.Context(), secret, patkit.AuthRequest{RemoteIP: "10.0.0.1"})
	return err
}

// waitListening waits until Watch on s listens and returns the backend PID
// of its connection, which must differ from not.
func waitListening(t testing.TB, s *pgstore.Store, not uint32) uint32 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if pid := s.ListenerPID(); pid != 0 && pid != not {
			return pid
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("Watch is not listening after 5 s")
	return 0
}

// terminate ends a backend, as a failover, a network fault or an
// administrator would.
func terminate(t testing.TB, pid uint32) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var ok bool
	if err := conn.QueryRow(t.Context(), "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

// pollRejected authenticates secret on svc every millisecond until it fails
// with ErrTokenRevoked, and returns the time since start; it fails the test
// after 5 s, a liveness bound, not a timing assertion.
func pollRejected(t testing.TB, svc *patkit.Service, secret string, start time.Time) time.Duration {
	t.Helper()
	for {
		err := authenticate(t, svc, secret)
		if errors.Is(err, patkit.ErrTokenRevoked) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("Authenticate: error = %v, want nil or %v", err, patkit.ErrTokenRevoked)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("revoked token still accepted after %v", d)
		}
		time.Sleep(time.Millisecond)
	}
}

// summary returns min, median and max.
func summary(ds []time.Duration) (lo, med, hi time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}

// twoInstances returns two Services on two Stores (two pools) on one
// schema, as two server processes sharing a database, sharing a directory
// and key; b runs Watch until the test ends. CacheTTL is an hour, so that
// only the notification can make b reject a token it has cached.
func twoInstances(t *testing.T) (a, b *patkit.Service, storeB *pgstore.Store) {
	t.Helper()
	schema := newSchema(t)
	storeA, storeB := openStore(t, schema), openStore(t, schema)
	dir := newDirectory()
	opts := &patkit.Options{CacheTTL: time.Hour}
	a, b = newService(t, storeA, dir, opts), newService(t, storeB, dir, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want %v", err, context.Canceled)
		}
	})
	waitListening(t, storeB, 0)
	return a, b, storeB
}

// A revocation or rotation on instance A reaches instance B, which has the
// token cached for an hour, through Watch. The time from A's call returning
// to B's first rejection is logged; the test fails only if B still accepts
// the token after 5 s. Not parallel, so that other tests do not load the
// machine while it measures.
func TestTwoInstancesRevocation(t *testing.T) {
	const rounds = 20
	a, b, _ := twoInstances(t)
	ctx := t.Context()
	measure := func(t *testing.T, change func(tok *patkit.Token)) {
		ds := make([]time.Duration, rounds)
		for i := range ds {
			tok, secret := createPAT(t, a, "two instances")
			if err := authenticate(t, b, secret); err != nil {
				t.Fatalf("B: Authenticate: %v", err)
			}
			change(tok)
			start := time.Now()
			ds[i] = pollRejected(t, b, secret, start)
		}
		lo, med, hi := summary(ds)
		t.Logf("revoked on A, rejected by B after: min %v, median %v, max %v (%d rounds)", lo, med, hi, rounds)
		t.Logf("all: %v", ds)
	}
	t.Run("Revoke", func(t *testing.T) {
		measure(t, func(tok *patkit.Token) {
			if err := a.RevokeToken(ctx, admin(t, a), tok.ID); err != nil {
				t.Fatalf("A: RevokeToken: %v", err)
			}
		})
	})
	t.Run("Rotate", func(t *testing.T) {
		var secret string
		measure(t, func(tok *patkit.Token) {
			var err error
			if _, secret, err = a.RotateToken(ctx, admin(t, a), tok.ID, time.Time{}); err != nil {
				t.Fatalf("A: RotateToken: %v", err)
			}
		})
		if err := authenticate(t, b, secret); err != nil {
			t.Errorf("B: Authenticate with the rotated token's successor: %v", err)
		}
	})
}

// When B's listening connection is killed, B distrusts its cache, reconnects
// and listens again: a token revoked on A while the listener is down, or
// just after, is rejected by B; so is one revoked once it has reconnected.
func TestWatchReconnects(t *testing.T) {
	t.Parallel()
	a, b, storeB := twoInstances(t)
	ctx := t.Context()
	pid := storeB.ListenerPID()
	for i := range 3 {
		tok, secret := createPAT(t, a, "reconnect")
		if err := authenticate(t, b, secret); err != nil {
			t.Fatalf("B: Authenticate: %v", err)
		}
		terminate(t, pid)
		if err := a.RevokeToken(ctx, admin(t, a), tok.ID); err != nil {
			t.Fatalf("A: RevokeToken: %v", err)
		}
		d := pollRejected(t, b, secret, time.Now())
		next := waitListening(t, storeB, pid)
		t.Logf("#%d: listener %d killed, revoked during the gap: rejected by B after %v; listening again as %d", i, pid, d, next)
		pid = next

		// Once listening again, a revocation is notified.
		tok, secret = createPAT(t, a, "after reconnect")
		if err := authenticate(t, b, secret); err != nil {
			t.Fatalf("B: Authenticate: %v", err)
		}
		if err := a.RevokeToken(ctx, admin(t, a), tok.ID); err != nil {
			t.Fatalf("A: RevokeToken: %v", err)
		}
		d = pollRejected(t, b, secret, time.Now())
		t.Logf("#%d: revoked after reconnecting: rejected by B after %v", i, d)
	}
}

// clock is a settable Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// An instance that does not run Watch keeps accepting a token revoked
// elsewhere from its cache until CacheTTL has passed since it cached it:
// the fallback bound.
func TestUnwatchedInstanceUsesCacheTTL(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	dir := newDirectory()
	const ttl = time.Minute
	a := newService(t, openStore(t, schema), dir, nil)
	clk := &clock{now: time.Now()}
	c := newService(t, openStore(t, schema), dir, &patkit.Options{CacheTTL: ttl, Now: clk.Now})

	tok, secret := createPAT(t, a, "unwatched")
	if err := authenticate(t, c, secret); err != nil {
		t.Fatalf("C: Authenticate: %v", err)
	}
	if err := a.RevokeToken(t.Context(), admin(t, a), tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(t, c, secret); err != nil {
		t.Fatalf("C: Authenticate right after the revocation on A: %v; want it accepted from the cache", err)
	}
	clk.Advance(ttl - time.Microsecond)
	if err := authenticate(t, c, secret); err != nil {
		t.Fatalf("C: Authenticate just before CacheTTL: %v; want it accepted from the cache", err)
	}
	clk.Advance(time.Microsecond)
	if err := authenticate(t, c, secret); !errors.Is(err, patkit.ErrTokenRevoked) {
		t.Fatalf("C: Authenticate at CacheTTL: %v; want %v", err, patkit.ErrTokenRevoked)
	}
	// Watch is what an unwatched instance lacks; on pgstore it is there.
	var _ patkit.Watcher = (*pgstore.Store)(nil)
}

// event is one call of a Watch callback.
type event struct {
	stale bool
	id    int64
}

// watch runs s.Watch until the test ends, sending every callback to the
// returned channel, and fails the test if two callbacks overlap.
func watch(t *testing.T, s *pgstore.Store) <-chan event {
	t.Helper()
	events := make(chan event, 1000)
	var busy atomic.Bool
	call := func(e event) {
		if busy.Swap(true) {
			t.Error("concurrent Watch callbacks")
		}
		time.Sleep(100 * time.Microsecond) // widen any overlap
		events <- e
		busy.Store(false)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func(id int64) { call(event{id: id}) }, func() { call(event{stale: true}) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want %v", err, context.Canceled)
		}
	})
	return events
}

func next(t *testing.T, events <-chan event, what string) event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no Watch callback within 5 s", what)
		return event{}
	}
}

// expect reads the next event and checks it.
func expect(t *testing.T, events <-chan event, want event, what string) {
	t.Helper()
	if got := next(t, events, what); got != want {
		t.Fatalf("%s: callback %+v, want %+v", what, got, want)
	}
}

// Store.Watch passes the Watcher conformance suite: through another Store
// (another pool) on the schema, and through the same Store.
func TestWatcher(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openStore(t, schema), openStore(t, schema)
	t.Run("TwoStores", func(t *testing.T) { storetest.RunWatcher(t, a, b) })
	t.Run("OneStore", func(t *testing.T) { storetest.RunWatcher(t, a, a) })
}

// What the Watcher contract leaves open, pgstore guarantees: only
// committed revocations in this schema are notified; and when the
// connection drops, stale is called at once and again once listening.
func TestWatchCallbacks(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, other := openStore(t, schema), openStore(t, schema)
	elsewhere := openStore(t, newSchema(t))
	ctx := t.Context()
	create := func(s *pgstore.Store, name string) *patkit.Token {
		tok := token(name)
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	events := watch(t, s)
	expect(t, events, event{stale: true}, "listening")

	// A marker revocation through another Store proves that nothing was
	// notified before it.
	marker := func(what string) {
		t.Helper()
		m := create(other, "marker")
		if err := other.Revoke(ctx, m.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		expect(t, events, event{id: m.ID}, what)
	}

	// A rotation rolled back (the successor's digest exists) notifies
	// nothing; nor does a missing token, nor a revocation in another schema.
	existing := create(s, "existing")
	tok := create(s, "rotation rolled back")
	dup := token("duplicate")
	dup.Digest = existing.Digest
	if err := other.Rotate(ctx, tok.ID, dup); !errors.Is(err, patkit.ErrConflict) {
		t.Fatalf("Rotate with an existing digest: %v, want %v", err, patkit.ErrConflict)
	}
	if err := other.Revoke(ctx, 1<<40, time.Now()); !errors.Is(err, patkit.ErrNotFound) {
		t.Fatalf("Revoke(missing): %v, want %v", err, patkit.ErrNotFound)
	}
	x := create(elsewhere, "other schema")
	if err := elsewhere.Revoke(ctx, x.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	marker("after a rolled back rotation, a missing token and another schema")

	// The connection killed: stale at once, and again once listening.
	for i := range 3 {
		pid := s.ListenerPID()
		terminate(t, pid)
		tok = create(other, "revoked during the gap")
		if err := other.Revoke(ctx, tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		expect(t, events, event{stale: true}, "connection lost")
		expect(t, events, event{stale: true}, "listening again")
		// The revocation made during the gap may or may not be notified
		// (the stale calls cover it); a marker revoked now is.
		m := create(other, "marker")
		if err := other.Revoke(ctx, m.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		e := next(t, events, "after reconnecting")
		if e == (event{id: tok.ID}) {
			e = next(t, events, "after reconnecting")
		} else {
			t.Logf("#%d: revocation during the gap not notified, covered by stale", i)
		}
		if e != (event{id: m.ID}) {
			t.Fatalf("#%d: after reconnecting: callback %+v, want %+v", i, e, event{id: m.ID})
		}
		t.Logf("#%d: listener %d killed, listening again as %d", i, pid, s.ListenerPID())
	}
}

// With a heartbeat shorter than the wait between notifications, the
// listener pings its connection and carries on: no spurious stale calls.
func TestWatchHeartbeat(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, other := openStore(t, schema), openStore(t, schema)
	s.SetWatchTimings(10*time.Millisecond, 50*time.Millisecond, 2*time.Second)
	events := watch(t, s)
	expect(t, events, event{stale: true}, "listening")
	pid := s.ListenerPID()
	for range 3 {
		time.Sleep(100 * time.Millisecond)
		tok := token("heartbeat")
		if err := other.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := other.Revoke(t.Context(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		expect(t, events, event{id: tok.ID}, "revocation between heartbeats")
	}
	if got := s.ListenerPID(); got != pid {
		t.Errorf("listener reconnected (%d, then %d); want the same connection", pid, got)
	}
}

// Watch returns ctx.Err() when ctx ends while it waits to reconnect to an
// unreachable server, which it retries until then; and an error once the
// Store is closed. (storetest.RunWatcher checks that it returns when ctx
// ends while it listens.)
func TestWatchEnds(t *testing.T) {
	t.Parallel()
	run := func(s *pgstore.Store, ctx context.Context) (chan error, *atomic.Int32) {
		done := make(chan error, 1)
		var stale atomic.Int32
		go func() { done <- s.Watch(ctx, func(int64) {}, func() { stale.Add(1) }) }()
		return done, &stale
	}
	wait := func(t *testing.T, done chan error, within time.Duration) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(within):
			t.Fatalf("Watch has not returned after %v", within)
			return nil
		}
	}

	t.Run("StoreClosed", func(t *testing.T) {
		t.Parallel()
		s := openStore(t, newSchema(t))
		done, _ := run(s, t.Context())
		waitListening(t, s, 0)
		s.Close()
		err := wait(t, done, 2*time.Second)
		if err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("Watch on a closed Store returned %v, want an error of its own", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		t.Parallel()
		cfg, err := pgxpool.ParseConfig("postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
		if err != nil {
			t.Fatal(err)
		}
		var attempts atomic.Int32
		cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
			attempts.Add(1)
			return nil
		}
		pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s, err := pgstore.New(pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		const life = 1500 * time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), life)
		defer cancel()
		done, stale := run(s, ctx)
		err = wait(t, done, life+2*time.Second)
		t.Logf("Watch returned %v after %d connection attempts, %d stale calls", err, attempts.Load(), stale.Load())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Watch returned %v, want %v", err, context.DeadlineExceeded)
		}
		// 0, 50, 150, 350, 750 ms: at least 4 attempts in 1.5 s.
		if n := attempts.Load(); n < 4 {
			t.Errorf("%d connection attempts in %v, want at least 4", n, life)
		}
		if n := stale.Load(); n != 0 {
			t.Errorf("%d stale calls without ever listening, want 0", n)
		}
	})

	t.Run("ServiceOnUnreachableStore", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s, err := pgstore.New(pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc := newService(t, s, newDirectory(), nil)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := svc.Watch(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Service.Watch returned %v, want %v", err, context.DeadlineExceeded)
		}
	})
}

// Each schema has a channel of its own, a valid identifier whatever the
// schema's name.
func TestChannelName(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, schema := range []string{"public", "patkit", "Patkit", `pgstore_Test"x`, strings.Repeat("é", 63), ""} {
		c := pgstore.ChannelName(schema)
		if len(c) > 63 || !strings.HasPrefix(c, "patkit_revoked_") || c != strings.ToLower(c) {
			t.Errorf("ChannelName(%q) = %q, want patkit_revoked_ and lower-case hex, at most 63 bytes", schema, c)
		}
		if prev, ok := seen[c]; ok {
			t.Errorf("schemas %q and %q share channel %q", prev, schema, c)
		}
		seen[c] = schema
		if c != pgstore.ChannelName(schema) {
			t.Errorf("ChannelName(%q) not stable", schema)
		}
	}
}

// With Options.ListenDSN, Watch listens there, not through the pool: here
// the pool points at a closed port and the listener still hears what is
// revoked through another Store.
func TestWatchListenDSN(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	other := openStore(t, schema)
	pool, err := pgxpool.New(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema, ListenDSN: testDSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunWatcher(t, s, other)

	if _, err := pgstore.New(pool, &pgstore.Options{ListenDSN: "postgres://%zz"}); err == nil {
		t.Error("New with a malformed ListenDSN succeeded")
	}
}
