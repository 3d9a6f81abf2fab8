package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/patkit/patkit/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order, with
// {{prefix}} replaced by prefix.
func migrations(prefix string) ([]migrate.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	ms, err := migrate.Load(sub)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].SQL = strings.ReplaceAll(ms[i].SQL, "{{prefix}}", prefix)
	}
	return ms, nil
}

// Migrate brings the database's schema up to date: it applies the embedded
// migrations that the database has not recorded in its table
// patkit_migrations (with Options.TablePrefix), all in one EXCLUSIVE
// transaction, so that either all of them are applied or none. It is
// idempotent, and safe when several Stores or processes migrate one file
// at once: they take SQLite's write lock in turn (waiting for it up to 10
// seconds, whatever the DSN's busy_timeout), and those that come after the
// first find nothing to do. A database that records a migration this
// package does not have, which a newer release of it applied, is refused
// with an error.
func (s *Store) Migrate(ctx context.Context) (err error) {
	const op = "migrate"
	ms, err := migrations(s.prefix)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	conn, err := s.w.lock(ctx)
	if err != nil {
		return wrap(op+": begin", err)
	}
	defer conn.Close()
	defer func() {
		if err != nil {
			// Rollback even when ctx is done, so that the connection goes
			// back to the pool outside a transaction. If it fails, SQLite has
			// already rolled back (or the connection is broken and
			// database/sql discards it).
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	table := s.prefix + "patkit_migrations"
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return wrap(op+": create "+table, err)
	}
	applied, err := appliedVersions(ctx, conn, table)
	if err != nil {
		return wrap(op+": read "+table, err)
	}
	pending, err := migrate.Pending(ms, applied)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	for _, m := range pending {
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return wrap(op+": apply "+m.Name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+table+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return wrap(op+": record "+m.Name, err)
		}
	}
	// Names written by anything but a Store (an import in SQL, say), or
	// by one that stopped before it indexed them, are indexed now.
	indexed, err := s.indexNames(ctx, conn.ExecContext)
	if err != nil {
		return wrap(op+": index token names", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return wrap(op+": commit", err)
	}
	if len(pending) > 0 || indexed > 0 {
		// A migration or indexing of many tokens leaves a long log, which
		// every read then looks each page up in until a checkpoint has
		// copied it to the database (at 1,000,000 tokens, the index of
		// names added some 13 MB): copy it now, as far as the readers
		// already in the log let. In rollback journal mode it does
		// nothing.
		_, _ = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn, table string) ([]int, error) {
	rows, err := conn.QueryContext(ctx, `SELECT version FROM `+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// lockWait bounds how long Migrate waits for SQLite's write lock, as the
// busy_timeout of DSN does for every other write.
const lockWait = 10 * time.Second

// lock returns a connection of the pool inside an EXCLUSIVE transaction,
// retrying while SQLite answers SQLITE_BUSY for up to lockWait. Opening a
// connection runs the DSN's pragmas, and switching a new file to WAL mode
// while another connection does the same fails with SQLITE_BUSY without
// waiting on busy_timeout; a caller's DSN may have no busy_timeout at all.
// Without the retries, concurrent first Migrates of one file would fail at
// random. EXCLUSIVE rather than IMMEDIATE: in WAL mode they are the same,
// and in a rollback journal the lock that COMMIT needs is then taken here,
// where it is retried, not at COMMIT, which would fail while another
// connection merely reads.
func (h *handle) lock(ctx context.Context) (*sql.Conn, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		conn, err := h.db.Conn(ctx)
		if err == nil {
			if _, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err == nil {
				return conn, nil
			}
			conn.Close()
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
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
