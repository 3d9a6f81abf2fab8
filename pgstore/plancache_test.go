package pgstore_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// TestListPlanCache checks how often the server plans List's page
// statement, from the plan counters of the one connection of the pool: a
// page whose query takes no arguments (every token, or one owner in the
// default order, paged by constants) is planned once and its plan reused
// (planning it, with the table's list indexes, costs several times
// reading it); a page whose plan depends on its arguments (one owner) is
// planned for them at every execution, never with a generic plan, which
// would be planned for an average owner.
func TestListPlanCache(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	seed := openStore(t, schema)
	ctx := t.Context()
	for i := range 30 {
		tok := token("token " + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		tok.UserID = int64(i%3 + 1)
		if err := seed.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore(t, s) })

	const runs = 8
	for _, c := range []struct {
		name    string
		q       patkit.Query
		generic bool // reuses one plan
	}{
		{"all tokens", patkit.Query{}, true},
		{"one owner", patkit.Query{UserID: 2}, false},
	} {
		c.q.Normalize()
		page, _, _, _ := s.ListSQL(&c.q)
		for range runs {
			q := c.q
			if _, _, err := s.List(ctx, &q); err != nil {
				t.Fatalf("%s: List: %v", c.name, err)
			}
		}
		var generic, custom int64
		err := pool.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
			WHERE statement = $1`, page).Scan(&generic, &custom)
		if err != nil {
			t.Fatalf("%s: plan counters of %.80s…: %v", c.name, strings.TrimSpace(page), err)
		}
		if c.generic && (custom > 1 || generic < runs-1) {
			t.Errorf("%s: %d custom and %d generic plans in %d runs, want the plan reused", c.name, custom, generic, runs)
		}
		if !c.generic && (generic != 0 || custom != runs) {
			t.Errorf("%s: %d custom and %d generic plans in %d runs, want %d custom", c.name, custom, generic, runs, runs)
		}
	}
}
