package pgstore_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
)

// TestListPlanCache checks how often the server plans List's page
// statement, from the plan counters of the one connection of the pool: a
// page whose query takes no arguments (every token, or one owner in the
// default order, paged by constants) is planned once and its plan reused
// (planning it, with the table's list indexes, costs several times
// reading it); a page whose plan depends on its arguments (one owner) is
// planned for them at every execution, never with a generic plan, which
// would be planned for an average owner; a count from the counters, whose
// plan does not depend on its arguments, is planned once it has run five
// times.
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
	s, pool := configuredStore(t, schema, func(cfg *pgxpool.Config) { cfg.MaxConns = 1 })

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
		page, _, count, _ := s.ListSQL(&c.q)
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
		// The count from the counters reads rows by their key: the server
		// plans it five times for its arguments, then reuses a generic
		// plan.
		err = pool.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
			WHERE statement = $1`, count).Scan(&generic, &custom)
		if err != nil {
			t.Fatalf("%s: plan counters of %.80s…: %v", c.name, strings.TrimSpace(count), err)
		}
		if generic == 0 || custom > 5 {
			t.Errorf("%s: count: %d custom and %d generic plans, want the generic plan after 5 custom", c.name, custom, generic)
		}
	}
}

// TestListSendsNoNotice checks that List makes the server neither warn
// nor notice anything: a warning is a line in the server's log at every
// list, and a message pgx decodes.
func TestListSendsNoNotice(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	seed := openStore(t, schema)
	ctx := t.Context()
	for i := range 3 {
		tok := token("token " + string(rune('a'+i)))
		tok.UserID = int64(i + 1)
		if err := seed.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		notices []string
	)
	s, _ := configuredStore(t, schema, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			mu.Lock()
			defer mu.Unlock()
			notices = append(notices, n.Severity+": "+n.Message)
		}
	})
	for _, q := range []patkit.Query{{}, {UserID: 2}, {Filter: patkit.Filter{Search: "token"}}} {
		q.Normalize()
		if _, _, err := s.List(ctx, &q); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notices) > 0 {
		t.Errorf("List sent %d notices: %q", len(notices), notices)
	}
}
