package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
	"github.com/patkit/patkit/sqlitestore"
	"github.com/patkit/patkit/storetest"
)

// open opens a store on a new file in a temporary directory, closed at the
// end of the test.
func open(t *testing.T, opts *sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "patkit.db"), opts)
}

func openPath(t *testing.T, path string, opts *sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) patkit.Store { return open(t, nil) })
}

func TestConformanceMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) patkit.Store { return openPath(t, ":memory:", nil) })
}

func TestConformanceNew(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) patkit.Store {
		db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
		return newStore(t, db, &sqlitestore.Options{TablePrefix: "patkit_"})
	})
}

// newStore returns a migrated Store on db, closed at the end of the test.
func newStore(t *testing.T, db *sql.DB, opts *sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestRotationRaceTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	a, b := openPath(t, path, nil), openPath(t, path, nil)
	for range 3 {
		storetest.RunRotationRace(t, a, b)
	}
}

// openDB opens a *sql.DB with the recommended DSN, closed at the end of the
// test.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlitestore.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var base = time.Date(2025, 3, 4, 5, 6, 7, 891011000, time.UTC)

func token(name string) *patkit.Token {
	return &patkit.Token{
		UserID:    1,
		Name:      name,
		Scopes:    []patkit.Scope{patkit.ScopeAPI},
		CreatedAt: base,
		ExpiresAt: patkit.Date(base.AddDate(0, 1, 0)),
		Digest:    []byte("digest of " + name),
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	s, err := sqlitestore.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := token("kept")
	if err := s.Create(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, path)

	s = openPath(t, path, nil)
	got, err := s.GetByDigest(t.Context(), want.Digest)
	if err != nil {
		t.Fatalf("GetByDigest after reopening: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token after reopening (-want +got):\n%s", diff)
	}
	after := migrationRows(t, path)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("migrations table changed by reopening (-before +after):\n%s", diff)
	}
	if len(after) == 0 {
		t.Errorf("no migration recorded")
	}
	// IDs keep increasing across reopenings.
	n := token("next")
	if err := s.Create(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if n.ID <= want.ID {
		t.Errorf("ID after reopening = %d, want > %d", n.ID, want.ID)
	}
}

// migrationRows returns "version name applied_at" for each recorded
// migration of the database at path.
func migrationRows(t *testing.T, path string) []string {
	t.Helper()
	db := openDB(t, path)
	rows, err := db.QueryContext(t.Context(), `SELECT version, name, applied_at FROM patkit_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			v, at int64
			name  string
		)
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v, " ", name, " ", at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkMigratedOnce checks that the database at path records every
// migration of the package's migrations directory, each once.
func checkMigratedOnce(t *testing.T, path string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	var got []string
	for _, row := range migrationRows(t, path) {
		got = append(got, strings.Fields(row)[1]) // "version name applied_at"
	}
	if diff := cmp.Diff(want, got); diff != "" || len(want) == 0 {
		t.Errorf("migrations recorded (-want +got):\n%s", diff)
	}
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlitestore.Open(t.Context(), path, nil)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkMigratedOnce(t, path)
}

func TestNewDoesNotCloseCallersDB(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
	s := newStore(t, db, nil)
	tok := token("mine")
	if err := s.Create(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var name string
	if err := db.QueryRowContext(t.Context(), `SELECT name FROM tokens WHERE id = ?`, tok.ID).Scan(&name); err != nil {
		t.Fatalf("caller's DB after Close: %v", err)
	}
	if name != "mine" {
		t.Errorf("name = %q, want %q", name, "mine")
	}
	// A second New on the same DB finds the schema in place, without
	// Migrate.
	s2, err := sqlitestore.New(db, nil)
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	defer s2.Close()
	if _, err := s2.Get(t.Context(), tok.ID); err != nil {
		t.Errorf("Get through the second Store: %v", err)
	}
}

func TestTablePrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	a := openPath(t, path, &sqlitestore.Options{TablePrefix: "a_"})
	b := openPath(t, path, &sqlitestore.Options{TablePrefix: "b_"})
	if err := a.Create(t.Context(), token("in a")); err != nil {
		t.Fatal(err)
	}
	q := &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}
	if got, total, err := b.List(t.Context(), q); err != nil || total != 0 || len(got) != 0 {
		t.Errorf("List on prefix b_ = %d tokens, total %d, %v; want none", len(got), total, err)
	}
	if got, total, err := a.List(t.Context(), q); err != nil || total != 1 || len(got) != 1 {
		t.Errorf("List on prefix a_ = %d tokens, total %d, %v; want one", len(got), total, err)
	}
	for _, bad := range []string{"1x", "a-b", "x; DROP TABLE y", "é"} {
		if s, err := sqlitestore.Open(t.Context(), path, &sqlitestore.Options{TablePrefix: bad}); err == nil {
			s.Close()
			t.Errorf("Open with TablePrefix %q succeeded, want an error", bad)
		}
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{
		"",
		filepath.Join(dir, "missing", "dir", "patkit.db"),
		dir, // a directory
	} {
		s, err := sqlitestore.Open(t.Context(), path, nil)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
			continue
		}
		t.Logf("Open(%q): %v", path, err)
	}
}

func TestOpenPathWithURIChars(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	s := openPath(t, path, nil)
	if err := s.Create(t.Context(), token("x")); err != nil {
		t.Fatal(err)
	}
	openPath(t, path, nil) // reopens the same file
	if _, err := filepath.Glob(path); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	openPath(t, path, nil)
	db := openDB(t, path)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO patkit_migrations VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlitestore.Open(t.Context(), path, nil); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer version succeeded")
	} else if errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("Open of a database from a newer version: %v; want a fault, not ErrUnavailable", err)
	}
}

// A closed Store refuses every call with ErrUnavailable, also when the
// *sql.DB is the caller's and stays open. (storetest's UseAfterClose checks
// that every method fails; this checks how.)
func TestClosedStoreUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	for name, s := range map[string]*sqlitestore.Store{
		"Open": openPath(t, path, nil),
		"New":  newStore(t, openDB(t, path), nil),
	} {
		tok := token("before close " + name)
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: Close: %v", name, err)
		}
		for op, err := range calls(t, s, tok) {
			if !errors.Is(err, patkit.ErrUnavailable) {
				t.Errorf("%s: %s on a closed Store: %v, want an error wrapping ErrUnavailable", name, op, err)
			}
		}
	}
}

// calls calls every method of s on tok and returns their errors by name.
func calls(t *testing.T, s *sqlitestore.Store, tok *patkit.Token) map[string]error {
	ctx := t.Context()
	errs := map[string]error{
		"Migrate":     s.Migrate(ctx),
		"Create":      s.Create(ctx, token("new")),
		"Revoke":      s.Revoke(ctx, tok.ID, time.Now()),
		"Rotate":      s.Rotate(ctx, tok.ID, token("next")),
		"SetLastUsed": s.SetLastUsed(ctx, tok.ID, base, nil),
	}
	_, errs["Get"] = s.Get(ctx, tok.ID)
	_, errs["GetByDigest"] = s.GetByDigest(ctx, tok.Digest)
	_, _, errs["List"] = s.List(ctx, &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}})
	_, errs["KeyCheck"] = s.KeyCheck(ctx)
	_, errs["SwapKeyCheck"] = s.SwapKeyCheck(ctx, nil, []byte("check"))
	errs["SetDigest"] = s.SetDigest(ctx, tok.ID, tok.Digest, []byte("next"))
	return errs
}

// New does no I/O: it succeeds on a database that cannot even be opened,
// and it is Migrate that fails, with ErrUnavailable. A Store used before
// Migrate fails with a fault (no such table), not ErrUnavailable: the
// database answered.
func TestNewDoesNoIO(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "missing", "patkit.db"))
	s, err := sqlitestore.New(db, nil)
	if err != nil {
		t.Fatalf("New on an unreachable file: %v", err)
	}
	err = s.Migrate(t.Context())
	t.Logf("Migrate: %v", err)
	if !errors.Is(err, patkit.ErrUnavailable) {
		t.Errorf("Migrate on a file in a missing directory: %v, want an error wrapping ErrUnavailable", err)
	}

	db = openDB(t, filepath.Join(t.TempDir(), "patkit.db"))
	s, err = sqlitestore.New(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(t.Context(), 1)
	t.Logf("Get before Migrate: %v", err)
	if err == nil || errors.Is(err, patkit.ErrUnavailable) || errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("Get before Migrate: %v, want a fault (neither ErrUnavailable nor ErrNotFound)", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The statement that failed to prepare is prepared again.
	if _, err := s.Get(t.Context(), 1); !errors.Is(err, patkit.ErrNotFound) {
		t.Errorf("Get after Migrate: %v, want ErrNotFound", err)
	}
}

// Stores migrating one new file at once, each on a *sql.DB of its own
// whose DSN has no busy_timeout (so SQLite does not wait for its lock):
// Migrate waits for the lock itself, and each migration is applied once.
func TestConcurrentMigrateWithoutBusyTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := sqlitestore.New(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkMigratedOnce(t, path)
}

// TestConcurrentWriters checks that SQLITE_BUSY never surfaces when two
// Stores on one file create, rotate, revoke and mark tokens used at once.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patkit.db")
	stores := []*sqlitestore.Store{openPath(t, path, nil), openPath(t, path, nil)}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 50 {
		s := stores[g%2]
		wg.Go(func() {
			for i := range 10 {
				tok := token(fmt.Sprintf("g%d-%d", g, i))
				if err := s.Create(t.Context(), tok); err != nil {
					errs <- fmt.Errorf("create: %w", err)
					return
				}
				n := token(fmt.Sprintf("g%d-%d rotated", g, i))
				n.PreviousID = tok.ID
				if err := s.Rotate(t.Context(), tok.ID, n); err != nil {
					errs <- fmt.Errorf("rotate: %w", err)
				}
				if err := s.SetLastUsed(t.Context(), n.ID, base, []string{"192.0.2.1"}); err != nil {
					errs <- fmt.Errorf("set last used: %w", err)
				}
				if _, _, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}}); err != nil {
					errs <- fmt.Errorf("list: %w", err)
				}
				if err := s.Revoke(t.Context(), n.ID, time.Now()); err != nil {
					errs <- fmt.Errorf("revoke: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, total, err := stores[0].List(t.Context(), &patkit.Query{Filter: patkit.Filter{Page: 1, PerPage: 20}})
	if err != nil || total != 1000 {
		t.Errorf("List total = %d, %v; want 1000", total, err)
	}
}

// TestListEdgeCases covers what the conformance suite leaves out: NULL
// ordering across pages, LIKE metacharacters, and non-ASCII case folding.
func TestListEdgeCases(t *testing.T) {
	s := open(t, nil)
	names := []string{"Ünïcode Token", "100% sure", "snake_case", `back\slash`, "plain"}
	var ids []int64
	for i, name := range names {
		tok := token(name)
		if i%2 == 0 {
			tok.ExpiresAt = time.Time{}
		}
		if err := s.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	for _, tc := range []struct {
		search string
		want   []int64
	}{
		{"ünï", []int64{ids[0]}},
		{"ÜNÏCODE", []int64{ids[0]}},
		{"0% s", []int64{ids[1]}}, // "0%" is short: exact match of the whole query fails; "s" short too
		{"00%", []int64{ids[1]}},
		{"e_c", []int64{ids[2]}},
		{`k\s`, []int64{ids[3]}},
		{"%%%", nil},
		{"___", nil},
		{"PLAIN", []int64{ids[4]}},
	} {
		got, total, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Search: tc.search, Page: 1, PerPage: 20}})
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []int64
		for _, tok := range got {
			gotIDs = append(gotIDs, tok.ID)
		}
		if tc.search == "0% s" {
			// Neither term has 3 characters: the whole query must equal a name.
			tc.want = nil
		}
		if diff := cmp.Diff(tc.want, gotIDs); diff != "" || total != len(tc.want) {
			t.Errorf("search %q: total %d, ids (-want +got):\n%s", tc.search, total, diff)
		}
	}

	// expires_asc across pages of 2: expiring tokens (ids 1, 3) then NULLs.
	var got []int64
	for page := 1; page <= 3; page++ {
		list, total, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Sort: patkit.SortExpiresAsc, Page: page, PerPage: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Errorf("page %d: total %d, want 5", page, total)
		}
		for _, tok := range list {
			got = append(got, tok.ID)
		}
	}
	want := []int64{ids[1], ids[3], ids[0], ids[2], ids[4]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expires_asc (-want +got):\n%s", diff)
	}
	// A page past the end is empty but keeps the total.
	list, total, err := s.List(t.Context(), &patkit.Query{Filter: patkit.Filter{Page: 9, PerPage: 2}})
	if err != nil || len(list) != 0 || total != 5 {
		t.Errorf("page past the end: %d tokens, total %d, %v; want 0, 5", len(list), total, err)
	}
}

// contextWithCancel returns a context canceled at the end of the test, or
// by cancel.
func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// TestConformanceBoundPlans runs the list subtests of the conformance
// suite with the budgets of List's BoundPlans (a list of all tokens
// bounded in time on another key than its order) set so that each of its
// plans answers where, on a large table, another would: Near whenever the
// first entries of the order hold the page, else the walk of the whole
// order (RangeMax -1), or the bound's range sorted. On the suite's few
// tokens, with the default budgets, Near is always empty (fewer tokens
// than it may read) and the range always answers. The same for the
// SearchPlans of searches by words: the walk of the order (SearchPages
// -1), or the matches read from the index of names (with the default
// budgets, the suite's searches have fewer matches than four pages, and
// read them so; a page past them reads nothing).
func TestConformanceBoundPlans(t *testing.T) {
	t.Parallel()
	for _, b := range []sqlq.Budgets{{NearEntries: 1, RangeMax: -1, SearchPages: -1}, {NearEntries: 1, RangeMax: 1 << 30, SearchPages: 1 << 20}} {
		t.Run(fmt.Sprintf("near%d-range%d-search%d", b.NearEntries, b.RangeMax, b.SearchPages), func(t *testing.T) {
			t.Parallel()
			t.Run("File", func(t *testing.T) {
				storetest.RunLists(t, func(t *testing.T) patkit.Store {
					s := open(t, nil)
					s.SetBudgets(b)
					return s
				})
			})
			t.Run("Memory", func(t *testing.T) {
				storetest.RunLists(t, func(t *testing.T) patkit.Store {
					s := openPath(t, ":memory:", nil)
					s.SetBudgets(b)
					return s
				})
			})
		})
	}
}
