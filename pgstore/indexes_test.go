package pgstore_test

import (
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// resourceIndexes are the indexes of one project's or group's tokens.
var resourceIndexes = []string{"tokens_resource_id_idx", "tokens_resource_created_idx",
	"tokens_resource_expiry_idx", "tokens_resource_last_used_idx", "tokens_resource_name_idx"}

// resourcePredicates returns the predicate of each index of resources ("" for
// none) and its OID.
func resourcePredicates(t *testing.T, pool *pgxpool.Pool) (preds map[string]string, oids map[string]uint32) {
	t.Helper()
	preds, oids = make(map[string]string), make(map[string]uint32)
	for _, name := range resourceIndexes {
		var (
			pred string
			oid  uint32
		)
		err := pool.QueryRow(t.Context(), `SELECT coalesce(pg_get_expr(i.indpred, i.indrelid), ''), c.oid
			FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
			name).Scan(&pred, &oid)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		preds[name], oids[name] = pred, oid
	}
	return preds, oids
}

// checkResourceIndexes checks that every index of resources holds the
// project and group tokens only, and that a list of a project's tokens
// finds them.
func checkResourceIndexes(t *testing.T, s *pgstore.Store, pool *pgxpool.Pool, want int) map[string]uint32 {
	t.Helper()
	preds, oids := resourcePredicates(t, pool)
	for name, pred := range preds {
		if pred != "(resource_type <> ''::text)" {
			t.Errorf("%s: predicate %q, want resource_type <> ''", name, pred)
		}
	}
	q := patkit.Query{ResourceType: patkit.ResourceProject, ResourceID: 7}
	q.Normalize()
	page, total, err := s.List(t.Context(), &q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != want || total != want {
		t.Errorf("project 7: %d tokens, total %d, want %d", len(page), total, want)
	}
	return oids
}

// TestResourceIndexesPartial checks that the indexes of one resource's
// tokens leave out personal and impersonation tokens (so that their
// creation and revocation write five index entries fewer), on a new schema
// and on one made before migration 0009 with tokens in it, and that
// migrating again rebuilds nothing.
func TestResourceIndexesPartial(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	s, pool := openStore(t, schema), schemaPool(t, schema)
	ctx := t.Context()
	create := func(name string, rt patkit.ResourceType) {
		tok := token(name)
		if rt != "" {
			tok.ResourceType, tok.ResourceID, tok.UserID = rt, 7, 1<<40
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	create("personal", "")
	create("project", patkit.ResourceProject)
	checkResourceIndexes(t, s, pool, 1)

	// The indexes as migration 0003 made them, holding every token.
	for _, name := range resourceIndexes {
		if _, err := pool.Exec(ctx, "DROP INDEX "+name); err != nil {
			t.Fatal(err)
		}
	}
	sql, err := fs.ReadFile(pgstore.Migrations(), "0003_list_indexes.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(sql)); err != nil {
		t.Fatal(err)
	}
	// 0022 builds tokens_resource_name_idx again too, with name_folded.
	if _, err := pool.Exec(ctx, "DELETE FROM patkit_migrations WHERE version IN (9, 22)"); err != nil {
		t.Fatal(err)
	}
	preds, _ := resourcePredicates(t, pool)
	for name, pred := range preds {
		if pred != "" {
			t.Fatalf("%s: predicate %q before 0009", name, pred)
		}
	}
	create("personal 2", "")
	create("project 2", patkit.ResourceProject)

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	create("project 3", patkit.ResourceProject)
	oids := checkResourceIndexes(t, s, pool, 3)

	// Every migration again, as a host's tooling may apply them.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, pgstore.MigrationSQL()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if again := checkResourceIndexes(t, s, pool, 3); len(again) != len(oids) {
		t.Fatalf("indexes %v, want %v", again, oids)
	} else {
		for name, oid := range oids {
			if again[name] != oid {
				t.Errorf("%s was built again by the migrations", name)
			}
		}
	}
}
