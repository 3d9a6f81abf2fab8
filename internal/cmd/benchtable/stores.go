package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/pgstore"
	"github.com/patkit/patkit/sqlitestore"
)

// fixture is a dataset in a store.
type fixture struct {
	backend string // "sqlite" or "postgres"
	d       *dataset
	dir     patkit.Directory
	store   patkit.Store // *sqlitestore.Store or *pgstore.Store
	db      string       // the SQLite file, or the PostgreSQL DSN
	schema  string       // PostgreSQL's schema
	built   time.Duration
}

// service returns a new Service on f's store.
func (f *fixture) service(opts *patkit.Options) (*patkit.Service, error) {
	return patkit.New(f.store, f.dir, benchKey, opts)
}

// counted returns f's store with its SetLastUsed calls counted in n, and
// every other ability of the store (KeyStore, Watcher) kept.
func (f *fixture) counted(n *atomic.Int64) patkit.Store {
	switch s := f.store.(type) {
	case *sqlitestore.Store:
		return countedSQLite{s, n}
	case *pgstore.Store:
		return countedPG{s, n}
	}
	panic("unknown store")
}

type countedSQLite struct {
	*sqlitestore.Store
	n *atomic.Int64
}

func (c countedSQLite) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	c.n.Add(1)
	return c.Store.SetLastUsed(ctx, id, at, ips)
}

type countedPG struct {
	*pgstore.Store
	n *atomic.Int64
}

func (c countedPG) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	c.n.Add(1)
	return c.Store.SetLastUsed(ctx, id, at, ips)
}

// buildSQLite writes d into a new SQLite file at path, migrated by
// sqlitestore, in one transaction through a prepared statement, with the
// secondary indexes dropped during the load and recreated from their own
// definitions afterwards (much faster than inserting through them). The
// load runs without a journal or syncs: a failed build leaves a file
// that is discarded. Like a file sqlitestore has filled itself, it has no
// planner statistics (sqlitestore never runs ANALYZE).
func buildSQLite(ctx context.Context, path string, d *dataset) (err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	db.SetMaxOpenConns(1)
	st, err := sqlitestore.New(db, nil)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	type index struct{ name, sql string }
	var indexes []index
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.sql); err != nil {
			rows.Close()
			return err
		}
		indexes = append(indexes, ix)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+ix.name+`"`); err != nil {
			return err
		}
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tokens (id, user_id, name, name_folded,
		scopes, impersonation, resource_type, resource_id, access_level, created_at, expires_at,
		revoked, last_used_at, last_used_ips, previous_id, digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	// JSON arrays of strings that need no escaping.
	jsonOf := func(v []string) string {
		if len(v) == 0 {
			return "[]"
		}
		return `["` + strings.Join(v, `","`) + `"]`
	}
	g := d.gen()
	var r tokenRow
	for i := range d.n {
		if i%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		g.row(i, &r)
		var rt, expires, used, prev any
		if r.resourceType != "" {
			rt = r.resourceType
		}
		if !r.expiresAt.IsZero() {
			expires = r.expiresAt.UnixMicro()
		}
		if !r.lastUsedAt.IsZero() {
			used = r.lastUsedAt.UnixMicro()
		}
		if r.previousID != 0 {
			prev = r.previousID
		}
		if _, err := stmt.ExecContext(ctx, r.id, r.userID, r.name, strings.ToLower(r.name), jsonOf(r.scopes),
			r.impersonation, rt, r.resourceID, r.accessLevel, r.createdAt.UnixMicro(), expires,
			r.revoked, used, jsonOf(r.ips), prev, r.digest); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	if err := stmt.Close(); err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, ix.sql); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// sqliteFixture builds (once per run, in tmp) and opens a SQLite
// dataset of n tokens.
func sqliteFixture(ctx context.Context, tmp string, n int) (*fixture, error) {
	path := filepath.Join(tmp, fmt.Sprintf("tokens-%d.db", n))
	d := newDataset(n, time.Now())
	start := time.Now()
	if err := buildSQLite(ctx, path, d); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("build SQLite dataset of %d tokens: %w", n, err)
	}
	built := time.Since(start)
	// The build writes without syncing (synchronous=OFF): its hundreds of
	// megabytes would go on being written back while the rows measure
	// durable commits, each of which waits for the disk.
	if err := syncFile(path); err != nil {
		return nil, err
	}
	st, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	return &fixture{backend: "sqlite", d: d, dir: d.directory(), store: st, db: path, built: built}, nil
}

// syncFile writes the file at path to the disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// pgFixture creates a schema of its own (pgstore.Open migrates it), fills
// its tokens table with a dataset of n tokens through COPY, with the
// secondary indexes dropped during the load and recreated from their own
// definitions afterwards, and vacuums and analyzes it, as autovacuum would
// after such a load. drop removes the schema.
func pgFixture(ctx context.Context, dsn, schema string, n int) (*fixture, func() error, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	st, err := pgstore.Open(ctx, dsn, &pgstore.Options{Schema: schema})
	drop := func() error {
		var err error
		if st != nil {
			err = st.Close()
		}
		err = errors.Join(err, dropSchema(context.Background(), pool, schema))
		pool.Close()
		return err
	}
	if err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	d := newDataset(n, time.Now())
	start := time.Now()
	if err := fillPG(ctx, pool, schema, d); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("build PostgreSQL dataset of %d tokens: %w", n, err), drop())
	}
	return &fixture{backend: "postgres", d: d, dir: d.directory(), store: st, db: dsn, schema: schema, built: time.Since(start)}, drop, nil
}

func fillPG(ctx context.Context, pool *pgxpool.Pool, schema string, d *dataset) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// First, so that index definitions qualify what the search_path does
	// not reach (pg_trgm's operator class, if in another schema).
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = $1 AND tablename = 'tokens'
		AND indexname NOT IN ('tokens_pkey', 'tokens_digest_key')`, schema)
	if err != nil {
		return err
	}
	type index struct{ Name, Def string }
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{schema, ix.Name}.Sanitize()); err != nil {
			return err
		}
	}
	g := d.gen()
	var r tokenRow
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == d.n {
			return nil, nil
		}
		g.row(i, &r)
		i++
		var expires, used, prev any
		if !r.expiresAt.IsZero() {
			expires = r.expiresAt
		}
		if !r.lastUsedAt.IsZero() {
			used = r.lastUsedAt
		}
		if r.previousID != 0 {
			prev = r.previousID
		}
		ips := r.ips
		if ips == nil {
			ips = []string{}
		}
		return []any{r.id, r.userID, r.name, r.scopes, r.impersonation, r.resourceType, r.resourceID,
			r.accessLevel, r.createdAt, expires, r.revoked, used, ips, prev, r.digest}, nil
	})
	cols := []string{"id", "user_id", "name", "scopes", "impersonation", "resource_type", "resource_id",
		"access_level", "created_at", "expires_at", "revoked", "last_used_at", "last_used_ips", "previous_id", "digest"}
	// The row triggers of the zones and of the use counts off for the
	// load, and the migrations that made them run again after it, which
	// count the tokens there from their aggregates: as a host loading
	// tokens in bulk would. Through the trigger, the load's one
	// transaction left 419 pages of row versions of token_zones for its
	// 977 rows, which every list bounded in time then read (4 ms).
	var rebuilds []string
	for _, name := range []string{"0015_zones.sql", "0016_zone_expiries.sql", "0017_zone_names.sql", "0019_use_counts.sql", "0020_words.sql", "0021_words_locks.sql", "0023_zone_triggers_planned_once.sql"} {
		b, err := fs.ReadFile(pgstore.Migrations(), name)
		if err != nil {
			return err
		}
		rebuilds = append(rebuilds, string(b))
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE tokens DISABLE TRIGGER token_zones_widen, DISABLE TRIGGER token_zones_widen_names, DISABLE TRIGGER token_use_counts_insert"); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "tokens"}, cols, src); err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, ix.Def); err != nil {
			return fmt.Errorf("%.60s: %w", ix.Def, err)
		}
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE tokens ENABLE TRIGGER token_zones_widen, ENABLE TRIGGER token_zones_widen_names, ENABLE TRIGGER token_use_counts_insert"); err != nil {
		return err
	}
	for _, m := range rebuilds {
		if _, err := tx.Exec(ctx, m); err != nil {
			return fmt.Errorf("the migrations run again after the load: %w", err)
		}
	}
	tokens := pgx.Identifier{schema, "tokens"}.Sanitize()
	// The IDs were given: new tokens continue after them.
	if _, err := tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), $2)", tokens, d.n); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// VACUUM sets the visibility map, without which an index-only scan
	// (the counts) reads the table for every row, as autovacuum would
	// after such a load; ANALYZE gives the planner its statistics.
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+tokens); err != nil {
		return err
	}
	// As sqliteFixture syncs its file: the load writes about a gigabyte
	// of WAL, which starts a checkpoint that goes on writing the load's
	// pages back, and syncing them, for minutes (checkpoint_completion_target),
	// while the rows measure. CHECKPOINT does it now. It needs a superuser
	// or pg_checkpoint: without them the build goes on, the write-back
	// left to the server.
	if _, err := pool.Exec(ctx, "CHECKPOINT"); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return err
		}
	}
	return nil
}

// dropSchema drops schema and everything in it. If pgstore installed
// pg_trgm there (the database had none), the extension is moved to public
// first, so that dropping the schema takes no other schema's index with it.
func dropSchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	var ns string
	err := pool.QueryRow(ctx, `SELECT n.nspname FROM pg_extension e
		JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`).Scan(&ns)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if ns == schema {
		if _, err := pool.Exec(ctx, "ALTER EXTENSION pg_trgm SET SCHEMA public"); err != nil {
			return fmt.Errorf("move pg_trgm out of %s: %w", schema, err)
		}
	}
	_, err = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}
