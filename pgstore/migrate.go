package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded, versioned SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// are NNNN_name.sql; the number is the version.
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic("pgstore: embedded migrations: " + err.Error()) // unreachable: embedded at build time
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("pgstore: bad migration file name " + e.Name()) // unreachable: checked by tests
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic("pgstore: embedded migrations: " + err.Error())
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms
}

// Migrations returns the embedded migration files, named NNNN_name.sql with
// NNNN the version, for hosts that apply migrations with their own tooling.
// Table names in them are unqualified: apply them with search_path set to
// the schema given in Options.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic("pgstore: embedded migrations: " + err.Error()) // unreachable
	}
	return sub
}

// MigrationSQL returns every migration, in version order, as one SQL script
// with unqualified table names. It is what Migrate runs (apart from its own
// bookkeeping table), for hosts that keep their schema with their own
// tooling; run it with search_path set to the schema given in Options. It is
// idempotent.
func MigrationSQL() string {
	var b strings.Builder
	for i, m := range migrations() {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(m.sql)
	}
	return b.String()
}

// lockClass is the first key of the advisory lock Migrate takes ("patk");
// the second is hashtext of the schema, so migrations of different schemas
// do not wait for each other.
const lockClass = 0x7061746b

// Migrate creates the schema (if missing) and applies the embedded
// migrations not applied yet, recording each in the table
// patkit_migrations of that schema. It runs in one transaction under a
// transaction-scoped advisory lock, so it is idempotent and safe to call
// from several instances starting at once: one applies, the others wait and
// then find nothing to do. Either every pending migration is applied or none.
func (s *Store) Migrate(ctx context.Context) (err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap("migrate", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", int32(lockClass), s.schema); err != nil {
		return wrap("migrate: lock", err)
	}
	// Checking first lets Migrate run as a role that may use, but not
	// create, an existing schema.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return wrap("migrate", err)
	}
	schema := pgx.Identifier{s.schema}.Sanitize()
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			return wrap("migrate: create schema", err)
		}
	}
	table := pgx.Identifier{s.schema, "patkit_migrations"}.Sanitize()
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return wrap("migrate: create migrations table", err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return wrap("migrate", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return wrap("migrate", err)
	}
	for _, m := range migrations() {
		if slices.Contains(applied, int32(m.version)) {
			continue
		}
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+schema); err != nil {
			return wrap("migrate", err)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return wrap(fmt.Sprintf("migrate: %s", m.name), err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return wrap("migrate", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("migrate: commit", err)
	}
	return nil
}
