package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patkit/patkit/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

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

// migrations returns the embedded migrations in version order.
func migrations() ([]migrate.Migration, error) {
	return migrate.Load(Migrations())
}

// MigrationSQL returns every migration, in version order, as one SQL script
// with unqualified table names. It is what Migrate runs (apart from its own
// bookkeeping table), for hosts that keep their schema with their own
// tooling; run it with search_path set to the schema given in Options. It is
// idempotent.
func MigrationSQL() string {
	ms, err := migrations()
	if err != nil {
		panic("pgstore: embedded migrations: " + err.Error()) // unreachable: the tests load them
	}
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(m.SQL)
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
// A schema that records a migration this package does not have (a newer
// release migrated it) is refused with an error, and nothing changes.
//
// Then, unless Options.NoSearchIndex is set, Migrate tries to create the
// trigram index of token names that makes searches fast (see the package
// documentation), installing the pg_trgm extension if needed. That attempt
// is best effort, in a transaction of its own after the migrations have
// committed: if the server refuses it (no privilege to create the
// extension, the extension not available, a lock not granted within 5
// seconds), it is rolled back and Migrate still succeeds; search then
// works without the index, only slower. [Store.SearchIndexed] tells which.
// Migrate fails for it only if the connection is lost or ctx ends.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if s.noSearchIndex {
		return nil
	}
	if err := s.createSearchIndex(ctx); err != nil {
		var pgErr *pgconn.PgError
		if ctx.Err() == nil && errors.As(err, &pgErr) && !unavailable(err) {
			return nil // refused by the server: search works without the index
		}
		return wrap("migrate: search index", err)
	}
	return nil
}

// migrate applies the versioned migrations.
func (s *Store) migrate(ctx context.Context) (err error) {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
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
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return wrap("migrate", err)
	}
	pending, err := migrate.Pending(ms, applied)
	if err != nil {
		return fmt.Errorf("pgstore: migrate schema %s: %w", schema, err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+schema); err != nil {
		return wrap("migrate", err)
	}
	for _, m := range pending {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return wrap("migrate: "+m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return wrap("migrate", err)
		}
	}
	// The words of tokens written by anything but a Store (an import in
	// SQL, say), or by creates since the last catch-up, are counted now.
	if _, err := tx.Exec(ctx, s.q.catchUpWords); err != nil {
		return wrap("migrate: count the words of token names", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("migrate: commit", err)
	}
	return nil
}

// searchIndexName is the name Migrate gives the trigram index of
// tokens.name_folded.
const searchIndexName = "tokens_name_trgm_idx"

// trigramLockKey is the second key of the advisory lock under which Migrate
// creates the search index. It is the same for every schema, because the
// extension is installed once per database: two schemas migrating at once
// must not both try to create it.
const trigramLockKey = 0x7472676d // "trgm"

// createSearchIndex creates the trigram index of tokens.name_folded if no
// valid trigram index of name_folded exists yet, first installing pg_trgm
// in the Store's schema if the database does not have it. It runs in one
// transaction, so on any error nothing is left behind.
func (s *Store) createSearchIndex(ctx context.Context) (err error) {
	if ok, err := s.searchIndexed(ctx); err != nil || ok {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// Building the index holds a SHARE lock on tokens, which makes writers
	// wait (about 2.5 s at 1,000,000 tokens, once). Waiting for that lock,
	// or for another instance's build, is bounded: rather give up, and try
	// again at the next Migrate, than queue the writers behind a long
	// transaction.
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '5s'"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(lockClass), int32(trigramLockKey)); err != nil {
		return err
	}
	var ns string
	err = tx.QueryRow(ctx, `SELECT n.nspname FROM pg_extension e
		JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`).Scan(&ns)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// In the Store's schema: it exists, and the role may create in it.
		ns = s.schema
		if _, err := tx.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA "+pgx.Identifier{ns}.Sanitize()); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	// The operator class is qualified, as the extension may be in a schema
	// outside the search_path. LIKE's operator (~~) is in pg_catalog, so
	// queries need nothing of the extension's schema.
	if _, err := tx.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+pgx.Identifier{searchIndexName}.Sanitize()+
		" ON "+s.q.tokens+" USING gin (name_folded "+pgx.Identifier{ns, "gin_trgm_ops"}.Sanitize()+")"); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// SearchIndexed reports whether the tokens table has a valid trigram index
// of its lower-cased names, name_folded (pg_trgm's gin_trgm_ops or
// gist_trgm_ops, whatever its name, not partial): the index that lets a
// search by words across all tokens read a few index entries instead of
// every name. Migrate creates one when it can; a host may log a warning
// when it could not. It is one catalogue query.
func (s *Store) SearchIndexed(ctx context.Context) (bool, error) {
	ok, err := s.searchIndexed(ctx)
	if err != nil {
		return false, wrap("search indexed", err)
	}
	return ok, nil
}

func (s *Store) searchIndexed(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, searchIndexedSQL, s.schema).Scan(&ok)
	return ok, err
}

const searchIndexedSQL = `SELECT EXISTS (
	SELECT 1
	FROM pg_class t
	JOIN pg_namespace n ON n.oid = t.relnamespace
	JOIN pg_index i ON i.indrelid = t.oid
	CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[]) AS k(attnum, opclass)
	JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
	JOIN pg_opclass o ON o.oid = k.opclass
	WHERE n.nspname = $1 AND t.relname = 'tokens'
	AND i.indisvalid AND i.indpred IS NULL
	AND a.attname = 'name_folded' AND o.opcname IN ('gin_trgm_ops', 'gist_trgm_ops'))`
