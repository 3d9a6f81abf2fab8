package pgstore_test

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/pgtest"
	"github.com/patkit/patkit/internal/sqlq"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/storetest"
)

// dsnEnv names the environment variable holding the DSN of the test
// database; the tests that need PostgreSQL skip without it.
const dsnEnv = "PATKIT_TEST_POSTGRES_DSN"

func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " is not set")
	}
	return dsn
}

// newSchema returns the name of a schema no other test uses, dropped with
// everything in it when t ends. Names mix case and a quote, so that
// identifier quoting is exercised everywhere.
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	name := `pgstore_Test"` + strings.ToLower(rand.Text()[:12])
	pgtest.DropSchemaAtEnd(t, dsn, name)
	return name
}

// openStore opens a Store on schema, closed when t ends (before the schema
// is dropped, as cleanups run last first).
func openStore(t testing.TB, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(t.Context(), testDSN(t), &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

// configuredStore returns a Store on schema through a pool of its own,
// made from the test DSN as configure (if not nil) changes its config;
// both are closed when t ends.
func configuredStore(t testing.TB, schema string, configure func(*pgxpool.Config)) (*pgstore.Store, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s, pool
}

// closeStore closes s, failing t on error.
func closeStore(t testing.TB, s *pgstore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// newPool returns a pool on the test database, closed when t ends.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), testDSN(t))
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func token(name string) *patkit.Token {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &patkit.Token{
		UserID:    1,
		Name:      name,
		Scopes:    []patkit.Scope{patkit.ScopeAPI},
		CreatedAt: now,
		ExpiresAt: patkit.Date(now.AddDate(0, 1, 0)),
		Digest:    digest(name + rand.Text()),
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) patkit.Store {
		return openStore(t, newSchema(t))
	})
}

// Two Stores with two pools on one schema stand for two server processes:
// concurrent rotations of one token through both have exactly one winner.
func TestRotationRaceTwoPools(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a := openStore(t, schema)
	b := openStore(t, schema)
	for range 3 {
		storetest.RunRotationRace(t, a, b)
	}
}

// Instances starting at once all migrate; the advisory lock makes one apply
// each migration and the others find nothing to do.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	const instances = 5
	stores := make([]*pgstore.Store, instances)
	for i := range stores {
		s, err := pgstore.New(newPool(t), &pgstore.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	errs := make([]error, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	// Migrating again is a no-op.
	if err := stores[0].Migrate(t.Context()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	var n, distinct int
	err := newPool(t).QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version) FROM "+
		pgx.Identifier{schema, "patkit_migrations"}.Sanitize()).Scan(&n, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if n != distinct || n != len(strings.Split(strings.TrimSpace(migrationNames(t)), "\n")) {
		t.Errorf("patkit_migrations holds %d rows (%d versions), want one per migration file:\n%s", n, distinct, migrationNames(t))
	}
	// One instance created the trigram index, once.
	if ixs := trigramIndexes(t, newPool(t), schema); len(ixs) != 1 {
		t.Errorf("trigram indexes after concurrent Migrate: %v, want one", ixs)
	}
	for i, s := range stores {
		tok := token("after migrate")
		if err := s.Create(t.Context(), tok); err != nil {
			t.Errorf("Create through instance %d: %v", i, err)
		}
	}
}

func migrationNames(t *testing.T) string {
	t.Helper()
	entries, err := fs.ReadDir(pgstore.Migrations(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name() + "\n")
	}
	return b.String()
}

// A host with its own migration tooling applies MigrationSQL and uses New;
// Migrate on top of it, and the SQL applied twice, both succeed.
func TestMigrationSQLWithOwnTooling(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	pool := newPool(t)
	ctx := t.Context()
	for range 2 {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
			"SET LOCAL search_path TO " + pgx.Identifier{schema}.Sanitize(),
			pgstore.MigrationSQL(),
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				t.Fatalf("%.40s...: %v", sql, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	tok := token("own tooling")
	if err := s.Create(ctx, tok); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after the host's own migration: %v", err)
	}
	if _, err := s.Get(ctx, tok.ID); err != nil {
		t.Fatalf("Get after Migrate: %v", err)
	}
	// Close leaves the caller's pool open.
	closeStore(t, s)
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("pool unusable after Store.Close: %v", err)
	}
}

// A schema that a newer release migrated (it records a version this one
// does not have) is refused, with a fault, not ErrUnavailable.
func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	openStore(t, schema)
	pool := newPool(t)
	if _, err := pool.Exec(t.Context(), "INSERT INTO "+pgx.Identifier{schema, "patkit_migrations"}.Sanitize()+
		" (version, name) VALUES (9999, '9999_future')"); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Migrate(t.Context())
	t.Logf("Migrate: %v", err)
	if err == nil || errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("Migrate of a schema from a newer release: %v, want a fault", err)
	}
}

// Each schema is its own store: the same digest may exist in both.
func TestSchemasAreIsolated(t *testing.T) {
	t.Parallel()
	a := openStore(t, newSchema(t))
	b := openStore(t, newSchema(t))
	ta, tb := token("a"), token("b")
	tb.Digest = ta.Digest
	if err := a.Create(t.Context(), ta); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(t.Context(), tb); err != nil {
		t.Fatalf("Create of the same digest in another schema: %v", err)
	}
	got, err := b.GetByDigest(t.Context(), ta.Digest)
	if err != nil || got.Name != "b" {
		t.Errorf("GetByDigest in schema b = %+v, %v; want token b", got, err)
	}
}

// Times come back in UTC at microsecond precision.
func TestTimesUTCMicroseconds(t *testing.T) {
	t.Parallel()
	s := openStore(t, newSchema(t))
	zone := time.FixedZone("UTC-7", -7*3600)
	at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, zone)
	tok := token("times")
	tok.CreatedAt, tok.LastUsedAt = at, at
	if err := s.Create(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Microsecond)
	for name, v := range map[string]time.Time{"CreatedAt": got.CreatedAt, "LastUsedAt": got.LastUsedAt, "ExpiresAt": got.ExpiresAt} {
		if v.Location() != time.UTC {
			t.Errorf("%s in %v, want UTC", name, v.Location())
		}
	}
	if !got.CreatedAt.Equal(want) || !got.LastUsedAt.Equal(want) {
		t.Errorf("CreatedAt, LastUsedAt = %v, %v; want %v", got.CreatedAt, got.LastUsedAt, want)
	}
}

// An unreachable server is ErrUnavailable from Open and from every method of
// a Store on an unreachable pool, never a panic. Needs no database.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	const dsn = "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"
	s, err := pgstore.Open(t.Context(), dsn, nil)
	if !errors.Is(err, patkit.ErrUnavailable) || s != nil {
		t.Errorf("Open(port 1) = %v, %v; want an error wrapping %v", s, err, patkit.ErrUnavailable)
	}

	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err = pgstore.New(pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}
	for name, call := range map[string]func() error{
		"Migrate":     func() error { return s.Migrate(ctx) },
		"Create":      func() error { return s.Create(ctx, token("x")) },
		"Get":         func() error { _, err := s.Get(ctx, 1); return err },
		"GetByDigest": func() error { _, err := s.GetByDigest(ctx, digest("x")); return err },
		"List":        func() error { _, _, err := s.List(ctx, q); return err },
		"Revoke":      func() error { return s.Revoke(ctx, 1, time.Now()) },
		"Rotate":      func() error { return s.Rotate(ctx, 1, token("y")) },
		"SetLastUsed": func() error { return s.SetLastUsed(ctx, 1, time.Now(), nil) },
	} {
		err := call()
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, patkit.ErrUnavailable) {
			t.Errorf("%s on an unreachable server: error = %v, want an error wrapping %v", name, err, patkit.ErrUnavailable)
		}
	}
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	_, err := pgstore.Open(t.Context(), "postgres://%zz", nil)
	if err == nil || errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("Open(malformed DSN) error = %v, want a parse error, not %v", err, patkit.ErrUnavailable)
	}
	if _, err := pgstore.New(nil, nil); err == nil {
		t.Error("New(nil pool) succeeded")
	}
}

// When the server drops the connections, calls fail with ErrUnavailable at
// worst, and the Store recovers by itself.
func TestConnectionsTerminated(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	openStore(t, schema) // migrates
	s, pool := configuredStore(t, schema, func(cfg *pgxpool.Config) {
		cfg.MaxConns = 1 // so that the Store's only connection is the one terminated
	})
	tok := token("survivor")
	if err := s.Create(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	admin := newPool(t)
	for i := range 3 {
		var pid int32
		if err := pool.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(t.Context(), "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(t.Context(), tok.ID)
		t.Logf("#%d: Get after the connection was terminated: %v", i, err)
		if err != nil && !errors.Is(err, patkit.ErrUnavailable) {
			t.Errorf("#%d: Get after the connection was terminated: error = %v, want nil or an error wrapping %v", i, err, patkit.ErrUnavailable)
		}
		if _, err := s.Get(t.Context(), tok.ID); err != nil {
			t.Errorf("#%d: Get after recovery: %v", i, err)
		}
	}
}

// Calls on a closed Store (a server shutting down with requests in flight)
// fail with ErrUnavailable, also when the pool is the host's and stays
// open. (storetest's UseAfterClose checks that every method fails; this
// checks how.)
func TestClosed(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	opened := openStore(t, schema)
	pool := newPool(t)
	onPool, err := pgstore.New(pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*pgstore.Store{"Open": opened, "New": onPool} {
		tok := token("before close")
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		closeStore(t, s)
		ctx := t.Context()
		q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}
		for op, call := range map[string]func() error{
			"Migrate":       func() error { return s.Migrate(ctx) },
			"SearchIndexed": func() error { _, err := s.SearchIndexed(ctx); return err },
			"Create":        func() error { return s.Create(ctx, token("x")) },
			"Get":           func() error { _, err := s.Get(ctx, tok.ID); return err },
			"GetByDigest":   func() error { _, err := s.GetByDigest(ctx, tok.Digest); return err },
			"List":          func() error { _, _, err := s.List(ctx, q); return err },
			"Revoke":        func() error { return s.Revoke(ctx, tok.ID, time.Now()) },
			"Rotate":        func() error { return s.Rotate(ctx, tok.ID, token("y")) },
			"SetLastUsed":   func() error { return s.SetLastUsed(ctx, tok.ID, time.Now(), nil) },
			"Watch":         func() error { return s.Watch(ctx, func(int64) {}, func() {}) },
		} {
			if err := call(); !errors.Is(err, patkit.ErrUnavailable) {
				t.Errorf("%s: %s on a closed Store: error = %v, want an error wrapping %v", name, op, err, patkit.ErrUnavailable)
			}
		}
	}
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("host's pool after Close: %v", err)
	}
}

// TestConformanceBoundPlans runs the list subtests of the conformance
// suite with the budgets of List's BoundPlans (a list of all tokens
// bounded in time on another key than its order) set so that each of its
// plans answers where, on a large table, another would: Near whenever the
// first entries of the order hold the page, else the walk of the whole
// order (RangeMax -1), or the bound's range sorted. On the suite's few
// tokens, with the default budgets, Near is always empty (fewer tokens
// than it may read) and the range always answers.
func TestConformanceBoundPlans(t *testing.T) {
	t.Parallel()
	for _, b := range []sqlq.Budgets{{NearEntries: 1, RangeMax: -1}, {NearEntries: 1, RangeMax: 1 << 30}} {
		t.Run(fmt.Sprintf("near%d-range%d", b.NearEntries, b.RangeMax), func(t *testing.T) {
			t.Parallel()
			storetest.RunLists(t, func(t *testing.T) patkit.Store {
				s := openStore(t, newSchema(t))
				s.SetBudgets(b)
				return s
			})
		})
	}
}
