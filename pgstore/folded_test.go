package pgstore_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
)

// TestFoldedNamesUpgrade migrates a schema of 0021 whose trigram index of
// names is on name, as Migrate made it then: 0022 stores every name
// lower-cased, the indexes of one owner's and resource's names hold it,
// the trigram index is built again on it with the same operator class,
// and every search finds what Query.Match keeps, a host's own rename
// included. Applying 0022 or every migration again builds nothing.
func TestFoldedNamesUpgrade(t *testing.T) {
	t.Parallel()
	s, pool := schemaAt(t, 21)
	ctx := t.Context()
	names := []string{"Deploy bot", "DÉPLOY prod", "ci", "redeploy-Stage", "Ünïcode Déploy", "deploy\\_%", "plain"}
	var toks []*patkit.Token
	for i, name := range names {
		tok := token(name)
		tok.UserID = int64(2 + i%2)
		if i%3 == 2 {
			tok.ResourceType, tok.ResourceID, tok.UserID = patkit.ResourceProject, 7, int64(100+i)
		}
		if err := s.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	// pg_trgm's schema: public, as TestMain installs it, unless the
	// database had it elsewhere already.
	ext := trgmSchema(t, pool)
	if ext == "" {
		t.Fatal("pg_trgm is not installed")
	}
	opclass := ext + ".gin_trgm_ops"
	execAll(t, pool, "CREATE INDEX tokens_name_trgm_idx ON tokens USING gin (name "+opclass+")")
	queries := map[string]patkit.Query{
		"all deploy":     {Filter: patkit.Filter{Search: "deploy", Page: 1, PerPage: 100}},
		"all déploy":     {Filter: patkit.Filter{Search: "DÉPLOY", Page: 1, PerPage: 100}},
		"user 2 deploy":  {Filter: patkit.Filter{Search: "deploy", Page: 1, PerPage: 100}, UserID: 2},
		"project deploy": {Filter: patkit.Filter{Search: "Deploy", Page: 1, PerPage: 100}, ResourceType: patkit.ResourceProject, ResourceID: 7},
		"all escaped":    {Filter: patkit.Filter{Search: `\_%`, Page: 1, PerPage: 100}},
		"all two words":  {Filter: patkit.Filter{Search: "deploy prod", Page: 1, PerPage: 100}},
		"user 2 renamed": {Filter: patkit.Filter{Search: "renamed", Page: 1, PerPage: 100}, UserID: 2},
		"all exact":      {Filter: patkit.Filter{Search: "CI", Page: 1, PerPage: 100}},
	}
	// What each search finds by the definition, Query.Match.
	want := func() map[string][]string {
		found := map[string][]string{}
		for k, q := range queries {
			for _, tok := range toks {
				if q.Match(tok) {
					found[k] = append(found[k], tok.Name)
				}
			}
			slices.Sort(found[k])
		}
		if len(found["all deploy"]) < 3 || len(found["all exact"]) != 1 || len(found["all escaped"]) != 1 || len(found["all déploy"]) != 2 {
			t.Fatalf("the test's names match less than it means: %v", found)
		}
		return found
	}
	search := func() map[string][]string {
		t.Helper()
		found := map[string][]string{}
		for k, q := range queries {
			toks, n, err := s.List(ctx, &q)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			for _, tok := range toks {
				found[k] = append(found[k], tok.Name)
			}
			if n != len(toks) {
				t.Errorf("%s: count %d, %d tokens", k, n, len(toks))
			}
			slices.Sort(found[k])
		}
		return found
	}
	_, oldOIDs, _ := indexState(t, pool)

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defs, oids, _ := indexState(t, pool)
	for name, def := range defs {
		if strings.HasSuffix(name, "_0022") {
			t.Errorf("index left under its temporary name: %s", name)
		}
		if strings.Contains(def, "_name_idx") && strings.Contains(def, "(user_id") || strings.Contains(def, "tokens_resource_name_idx") {
			if !strings.Contains(def, "last_used_at, name_folded)") {
				t.Errorf("%s: %s, want name_folded INCLUDEd", name, def)
			}
			if oids[name] == oldOIDs[name] {
				t.Errorf("%s was not built again", name)
			}
		}
	}
	if want := "USING gin (name_folded " + opclass + ")"; !strings.Contains(defs["tokens_name_trgm_idx"], want) {
		t.Errorf("trigram index: %q, want %s", defs["tokens_name_trgm_idx"], want)
	}
	if !strings.HasSuffix(defs["tokens_resource_name_idx"], "WHERE (resource_type <> ''::text)") {
		t.Errorf("tokens_resource_name_idx lost its predicate: %s", defs["tokens_resource_name_idx"])
	}
	if !searchIndexed(t, s) {
		t.Error("SearchIndexed = false after 0022")
	}
	var unfolded int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM tokens WHERE name_folded IS DISTINCT FROM lower(name)").Scan(&unfolded); err != nil {
		t.Fatal(err)
	}
	if unfolded != 0 {
		t.Errorf("%d names not folded", unfolded)
	}
	check := func(step string, want map[string][]string) {
		t.Helper()
		if got := search(); !equalFound(got, want) {
			t.Errorf("%s: searches found\n%v\nwant\n%v", step, got, want)
		}
	}
	check("migrated", want())

	// A host renames a token with its own SQL: the search finds the new
	// name, not the old.
	if _, err := pool.Exec(ctx, "UPDATE tokens SET name = 'RENAMED deploy' WHERE name = 'plain'"); err != nil {
		t.Fatal(err)
	}
	toks[len(toks)-1].Name = "RENAMED deploy"
	check("renamed", want())

	rerun(t, pool, "0022_folded_names.sql", func(step string) {
		if _, again, _ := indexState(t, pool); !maps.Equal(again, oids) {
			t.Errorf("%s built indexes again:\n%v\nwas\n%v", step, again, oids)
		}
	})
}

func equalFound(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// TestFoldedNamesTrigramWithoutUsage migrates to 0022 a schema of 0021
// whose trigram index of names a DBA made with pg_trgm's operator class,
// as a role that may not use the extension's schema: the migration cannot
// build the index again on name_folded, drops the one on name, which no
// search reads any more, and succeeds; SearchIndexed then reports no
// index, and search works without it.
func TestFoldedNamesTrigramWithoutUsage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	role := newRole(t)
	connect := freshDatabase(t)
	admin := connect("")
	const schema = "app"
	execAll(t, admin,
		"CREATE SCHEMA ext",
		"CREATE EXTENSION pg_trgm SCHEMA ext",
		"CREATE SCHEMA app AUTHORIZATION "+pgx.Identifier{role}.Sanitize())
	pool := connect(role)
	migrateTo(t, pool, schema, 21)
	// The DBA's index, as the package documentation showed it before 0022.
	execAll(t, admin, "CREATE INDEX tokens_name_trgm_idx ON app.tokens USING gin (name ext.gin_trgm_ops)")

	s, err := pgstore.New(pool, &pgstore.Options{Schema: schema, NoSearchIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate as a role without USAGE on pg_trgm's schema: %v", err)
	}
	if ixs := trigramIndexes(t, admin, schema); len(ixs) != 0 {
		t.Errorf("trigram indexes after 0022: %v, want none", ixs)
	}
	if searchIndexed(t, s) {
		t.Error("SearchIndexed = true without a trigram index of name_folded")
	}
	checkSearch(t, s)
}
