package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema step: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order, with
// {{prefix}} replaced by prefix.
func migrations(prefix string) ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("sqlitestore: migration %s: name must start with a positive version and '_'", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, strings.TrimSuffix(base, ".sql"), strings.ReplaceAll(string(b), "{{prefix}}", prefix)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlitestore: two migrations have version %d", ms[i].version)
		}
	}
	return ms, nil
}

// connect returns a connection of db, retrying while SQLite answers
// SQLITE_BUSY. The DSN's pragmas run as a connection opens, and switching a
// new file to WAL mode while another connection does the same can fail
// with SQLITE_BUSY without waiting on busy_timeout, so concurrent first
// Opens of one file would otherwise fail at random. It gives up after 10
// seconds, the busy timeout.
func connect(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		conn, err := db.Conn(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// migrate applies the embedded migrations that the database has not
// recorded, all in one IMMEDIATE transaction on a dedicated connection, so
// that concurrent Opens of one file serialize on SQLite's write lock and
// apply each migration once whatever the DSN's _txlock. It refuses a
// database that records a version newer than this package knows.
func migrate(ctx context.Context, db *sql.DB, prefix, op string) (err error) {
	ms, err := migrations(prefix)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, db)
	if err != nil {
		return wrap(op+": migrate: connect", err)
	}
	defer conn.Close()

	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return wrap(op+": migrate: begin", err)
	}
	defer func() {
		if err != nil {
			// Rollback even when ctx is done, so that the connection goes
			// back to the pool outside a transaction. If it fails, SQLite has
			// already rolled back (or the connection is broken and
			// database/sql discards it).
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	table := prefix + "patkit_migrations"
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return wrap(op+": migrate: create "+table, err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+table).Scan(&current); err != nil {
		return wrap(op+": migrate: read version", err)
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("sqlitestore: %s: database schema version %d is newer than this package's %d", op, current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return wrap(op+": migrate: apply "+m.name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+table+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			return wrap(op+": migrate: record "+m.name, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return wrap(op+": migrate: commit", err)
	}
	return nil
}

var errBadPrefix = errors.New("sqlitestore: TablePrefix must be letters, digits and '_', not starting with a digit")

func validPrefix(p string) bool {
	for i, c := range p {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
