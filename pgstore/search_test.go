package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/pgtest"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/storetest"
)

// TestMain installs pg_trgm in public before any test runs, if the test
// database is given and does not have it yet. Otherwise the first test to
// migrate would install it in its own schema, and dropping that schema when
// the test ends would drop the extension, and with it the trigram index of
// every other test running. Tests that need pg_trgm not installed use a
// database of their own (TestSearchIndexFreshDatabase).
func TestMain(m *testing.M) {
	if dsn := os.Getenv(dsnEnv); dsn != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			// Best effort, as in Migrate: where it fails, so will Migrate's
			// attempt, and the tests that need the index say so.
			_, _ = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
			conn.Close(ctx)
		}
		cancel()
	}
	m.Run()
}

// trigramIndexes returns the definitions of the trigram indexes on schema's
// tokens table.
func trigramIndexes(t *testing.T, pool *pgxpool.Pool, schema string) map[string]string {
	t.Helper()
	// Filtering indexdef in SQL could make the server build the definition
	// of an index that another test is dropping, and fail.
	rows, err := pool.Query(t.Context(), `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = $1 AND tablename = 'tokens'`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ixs := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(def, "trgm") {
			ixs[name] = def
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ixs
}

func searchIndexed(t *testing.T, s *pgstore.Store) bool {
	t.Helper()
	ok, err := s.SearchIndexed(t.Context())
	if err != nil {
		t.Fatalf("SearchIndexed: %v", err)
	}
	return ok
}

// checkSearch creates three tokens and checks that a search finds the
// right one, with or without the index.
func checkSearch(t *testing.T, s *pgstore.Store) {
	t.Helper()
	tag := strings.ToLower(rand.Text()[:8]) // the store may hold earlier calls' tokens
	for _, name := range []string{"deploy production ", "deploy staging ", "ci runner "} {
		if err := s.Create(t.Context(), token(name+tag)); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	search := "PLOY prod " + strings.ToUpper(tag)
	got, n, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Search: search, Page: 1, PerPage: 20}})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if n != 1 || len(got) != 1 || got[0].Name != "deploy production "+tag {
		t.Errorf("search %q found %d: %+v, want the token \"deploy production %s\"", search, n, got, tag)
	}
}

// Migrate creates the trigram index; migrating again changes nothing.
func TestSearchIndex(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s := openStore(t, schema)
	pool := newPool(t)
	ixs := trigramIndexes(t, pool, schema)
	def, ok := ixs["tokens_name_trgm_idx"]
	if !ok || len(ixs) != 1 {
		t.Fatalf("trigram indexes after Migrate: %v, want tokens_name_trgm_idx", ixs)
	}
	if !strings.Contains(def, "USING gin (name_folded ") || !strings.Contains(def, "gin_trgm_ops)") {
		t.Errorf("index definition: %s", def)
	}
	if !searchIndexed(t, s) {
		t.Error("SearchIndexed = false after Migrate")
	}
	oid := func() (oid uint32) {
		t.Helper()
		err := pool.QueryRow(t.Context(), "SELECT $1::regclass::oid",
			pgx.Identifier{schema, "tokens_name_trgm_idx"}.Sanitize()).Scan(&oid)
		if err != nil {
			t.Fatal(err)
		}
		return oid
	}
	before := oid()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if after := oid(); after != before {
		t.Errorf("Migrate again rebuilt the index (oid %d, was %d)", after, before)
	}
	if got := trigramIndexes(t, pool, schema); len(got) != 1 {
		t.Errorf("trigram indexes after Migrate again: %v", got)
	}
	checkSearch(t, s)
}

// With NoSearchIndex, Migrate leaves the index out, and search works.
func TestNoSearchIndex(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, err := pgstore.Open(t.Context(), testDSN(t), &pgstore.Options{Schema: schema, NoSearchIndex: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	if ixs := trigramIndexes(t, newPool(t), schema); len(ixs) != 0 {
		t.Errorf("trigram indexes with NoSearchIndex: %v", ixs)
	}
	if searchIndexed(t, s) {
		t.Error("SearchIndexed = true with NoSearchIndex")
	}
	checkSearch(t, s)
}

// The conformance suite through the trigram index: with sequential and
// plain index scans discouraged, every search by words is a bitmap scan of
// the trigram index, whose results must be the same (LIKE's escapes, words
// shorter than a trigram, case).
func TestConformanceTrigramIndex(t *testing.T) {
	t.Parallel()
	testDSN(t) // skips without PostgreSQL
	storetest.Run(t, func(t *testing.T) patkit.Store {
		schema := newSchema(t)
		openStore(t, schema) // migrates
		// JIT off: with sequential scans off, the lists bounded in time,
		// which read token_zones whole, cost more than jit_above_cost, and
		// each was compiled (340 ms of 404 in EXPLAIN ANALYZE).
		s, pool := configuredStore(t, schema, func(cfg *pgxpool.Config) {
			cfg.ConnConfig.RuntimeParams["enable_seqscan"] = "off"
			cfg.ConnConfig.RuntimeParams["enable_indexscan"] = "off"
			cfg.ConnConfig.RuntimeParams["jit"] = "off"
		})
		if !searchIndexed(t, s) {
			t.Fatal("no trigram index")
		}
		q := patkit.Query{Filter: patkit.Filter{Search: `100%`, Page: 1, PerPage: 20}}
		page, args, _, _ := s.ListSQL(&q)
		if plan := explain(t, pool, page, args); !strings.Contains(plan, "Bitmap Index Scan on tokens_name_trgm_idx") {
			t.Fatalf("search does not use the trigram index:\n%s", plan)
		}
		return s
	})
}

// freshDatabase creates a database of its own for t, dropped when t ends,
// and returns a function opening a pool on it as a given role ("" for the
// test DSN's role). It skips t if the test role may not create databases.
func freshDatabase(t *testing.T) (connect func(role string) *pgxpool.Pool) {
	t.Helper()
	dsn := testDSN(t)
	admin := newPool(t)
	name := "patkit_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Skipf("cannot create a database: %v", err)
	}
	pgtest.AtEnd(t, dsn, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return func(role string) *pgxpool.Pool {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.Database = name
		if role != "" {
			cfg.ConnConfig.User = role
		}
		pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
}

// newRole creates a role with LOGIN and nothing else, or skips t if it
// cannot. Create it before a database it will own objects in
// (freshDatabase), so that it is dropped after the database (cleanups run
// last first), when it owns nothing any more.
func newRole(t *testing.T) string {
	t.Helper()
	role := "patkit_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := newPool(t).Exec(t.Context(), "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN"); err != nil {
		t.Skipf("cannot create a role: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN(t))
		if err != nil {
			t.Errorf("drop role: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	return role
}

// execAll runs each statement on pool in turn, failing the test at the
// first error.
func execAll(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// trgmSchema returns the schema pg_trgm is installed in, in pool's
// database, or "" if it is not installed there.
func trgmSchema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var ns string
	err := pool.QueryRow(t.Context(), "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'").Scan(&ns)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return ns
}

// In a database without pg_trgm: a role that may not create extensions
// migrates without the index; a role that may installs pg_trgm in its
// store's schema; a store in another schema then uses that installation;
// and the first role gets the index once it may use that schema.
func TestSearchIndexFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A role with no CREATE on the database, owning a schema made for
	// it: it can migrate, not install the extension.
	role := newRole(t)
	connect := freshDatabase(t)
	admin := connect("")
	if ns := trgmSchema(t, admin); ns != "" {
		t.Fatalf("pg_trgm is installed in a new database (in %s): template1 has it", ns)
	}

	appSchema := `app"schema`
	execAll(t, admin, "CREATE SCHEMA "+pgx.Identifier{appSchema}.Sanitize()+" AUTHORIZATION "+pgx.Identifier{role}.Sanitize())
	app, err := pgstore.New(connect(role), &pgstore.Options{Schema: appSchema})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("Migrate as a role without CREATE on the database: %v", err)
	}
	if searchIndexed(t, app) {
		t.Error("SearchIndexed = true, but the role may not create pg_trgm")
	}
	if ns := trgmSchema(t, admin); ns != "" {
		t.Errorf("pg_trgm installed in %s by a role without CREATE on the database", ns)
	}
	checkSearch(t, app)

	// The owner of the database installs it, in its store's schema.
	ownSchema := `own"schema`
	own, err := pgstore.New(connect(""), &pgstore.Options{Schema: ownSchema})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := own.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	if ns, want := trgmSchema(t, admin), (pgx.Identifier{ownSchema}).Sanitize(); ns != want {
		t.Errorf("pg_trgm installed in %q, want the store's schema %q", ns, want)
	}
	if !searchIndexed(t, own) {
		t.Error("SearchIndexed = false after Migrate installed pg_trgm")
	}
	checkSearch(t, own)

	// Another schema's store qualifies the operator class.
	otherSchema := "other"
	other, err := pgstore.New(connect(""), &pgstore.Options{Schema: otherSchema})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	def := trigramIndexes(t, admin, otherSchema)["tokens_name_trgm_idx"]
	if !strings.Contains(def, "(name_folded "+pgx.Identifier{ownSchema}.Sanitize()+".gin_trgm_ops)") {
		t.Errorf("index of the other schema: %q, want it on %s's gin_trgm_ops", def, ownSchema)
	}

	// The role still may not use the extension's schema: no index, no error.
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("Migrate as a role without USAGE on pg_trgm's schema: %v", err)
	}
	if searchIndexed(t, app) {
		t.Error("SearchIndexed = true, but the role may not use pg_trgm's schema")
	}
	// Once it may, its next Migrate creates the index.
	execAll(t, admin, "GRANT USAGE ON SCHEMA "+pgx.Identifier{ownSchema}.Sanitize()+" TO "+pgx.Identifier{role}.Sanitize())
	if err := app.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !searchIndexed(t, app) {
		t.Error("SearchIndexed = false after Migrate with USAGE on pg_trgm's schema")
	}
	checkSearch(t, app)
}

// Instances of stores in several schemas migrating at once in a database
// without pg_trgm: one installs it, and every schema gets its index.
func TestSearchIndexConcurrentFreshDatabase(t *testing.T) {
	t.Parallel()
	connect := freshDatabase(t)
	schemas := []string{"a", "a", "b", "b", "c"}
	stores := make([]*pgstore.Store, len(schemas))
	for i, schema := range schemas {
		s, err := pgstore.New(connect(""), &pgstore.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	errs := make([]error, len(stores))
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
			t.Errorf("Migrate #%d (schema %s): %v", i, schemas[i], err)
		}
	}
	for i, s := range stores {
		if !searchIndexed(t, s) {
			t.Errorf("store #%d (schema %s) has no trigram index", i, schemas[i])
		}
	}
	admin := connect("")
	for _, schema := range []string{"a", "b", "c"} {
		if ixs := trigramIndexes(t, admin, schema); len(ixs) != 1 {
			t.Errorf("trigram indexes of schema %s: %v, want one", schema, ixs)
		}
	}
}
