//go:build unix

package sqlitestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The floor of a point lookup through modernc.org/sqlite on this machine,
// next to GetByDigest on the same file: a table with the columns of
// tokens, in their order, and the unique index on digest only, filled
// with floorRows rows whose digests are SHA-256 sums (random keys, as
// HMAC digests are), read through a read connection as Open makes them
// while a writer that has committed keeps the file open. Each case
// reports its process CPU time (cpu-ns/op) and minor page faults
// (faults/op) per lookup besides the wall time: on a shared machine the
// CPU time is less disturbed, and instruction counts (valgrind) less
// still.
//
//	go test -run '^$' -bench Floor -benchmem ./sqlitestore
//
// builds the 1,000,000 rows in a temporary file each time (about a
// minute); -floordb PATH keeps them in PATH and reuses it.

var floorDB = flag.String("floordb", "", "BenchmarkFloor's database file, built if missing and kept")

const floorRows = 1_000_000

func floorDigest(i int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	d := sha256.Sum256(b[:])
	return d[:]
}

// floorSchema is the tokens table of migrations 0001, 0006 and 0007, in
// their column order, without its other indexes.
const floorSchema = `CREATE TABLE tokens (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id       INTEGER NOT NULL,
	name          TEXT    NOT NULL,
	name_folded   TEXT    NOT NULL,
	description   TEXT    NOT NULL DEFAULT '',
	scopes        TEXT    NOT NULL DEFAULT '[]',
	impersonation INTEGER NOT NULL DEFAULT 0,
	resource_type TEXT,
	resource_id   INTEGER NOT NULL DEFAULT 0,
	access_level  INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER,
	revoked       INTEGER NOT NULL DEFAULT 0,
	last_used_at  INTEGER,
	last_used_ips TEXT    NOT NULL DEFAULT '[]',
	previous_id   INTEGER,
	digest        BLOB    NOT NULL UNIQUE,
	notice INTEGER NOT NULL DEFAULT 0,
	sixty_days_notification_sent_at INTEGER,
	thirty_days_notification_sent_at INTEGER,
	seven_days_notification_sent_at INTEGER,
	after_expiry_notification_sent_at INTEGER,
	revoked_at INTEGER,
	rotated INTEGER NOT NULL DEFAULT 0,
	allowed_cidrs TEXT NOT NULL DEFAULT '[]'
)`

// buildFloor writes n rows to a new database file at path.
func buildFloor(ctx context.Context, path string, n int) error {
	tmp := path + ".building"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", dsn(tmp, connWriteRelaxed))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, floorSchema); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO tokens (user_id, name, name_folded, scopes,
		created_at, expires_at, revoked, last_used_at, last_used_ips, digest) VALUES (?, ?, ?, '["api"]', ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		created := start.Add(time.Duration(i) * time.Minute)
		var expires, used any
		ips := "[]"
		if i%3 != 0 {
			expires = created.AddDate(0, 0, 30+i%365).UnixMicro()
		}
		if i%2 == 0 {
			used = created.Add(time.Duration(i%1000) * time.Hour).UnixMicro()
			ips = `["10.0.0.1"]`
		}
		name := fmt.Sprintf("token %d", i)
		if _, err := st.ExecContext(ctx, 1+i%50_000, name, name, created.UnixMicro(), expires, i%4 == 0, used, ips, floorDigest(i)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	return os.Rename(tmp, path)
}

var floorOnce struct {
	sync.Once
	path string
	err  error
}

// floorPath returns the file of BenchmarkFloor, built at its first use.
func floorPath(b *testing.B) string {
	floorOnce.Do(func() {
		path := *floorDB
		if path == "" {
			dir, err := os.MkdirTemp("", "patkit-floor")
			if err != nil {
				floorOnce.err = err
				return
			}
			path = filepath.Join(dir, "floor.db")
		}
		floorOnce.path = path
		if _, err := os.Stat(path); err == nil {
			return
		}
		t0 := time.Now()
		floorOnce.err = buildFloor(context.Background(), path, floorRows)
		fmt.Fprintf(os.Stderr, "floor: built %d rows in %s\n", floorRows, time.Since(t0).Round(time.Millisecond))
	})
	if floorOnce.err != nil {
		b.Fatal(floorOnce.err)
	}
	return floorOnce.path
}

// usage returns the CPU time the process has used, and its minor page
// faults (a page of the mapped file touched for the first time).
func usage() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Minflt)
}

// loop runs f b.N times with i spread over the floor's rows and reports
// the CPU time and minor page faults per call.
func loop(b *testing.B, f func(i int) error) {
	b.ReportAllocs()
	cpu, faults := usage()
	i, n := 0, 0
	for b.Loop() {
		if err := f(i % floorRows); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime: spread the lookups
		n++
	}
	cpu1, faults1 := usage()
	b.ReportMetric(float64(cpu1-cpu)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(faults1-faults)/float64(n), "faults/op")
}

func BenchmarkFloor(b *testing.B) {
	path := floorPath(b)
	ctx := context.Background()
	// A writer that has committed, and stays open, as a Store's: the
	// readers then find the database's size in the log's header rather
	// than asking the file system at each transaction, as they do while
	// the log is empty.
	w, err := sql.Open("sqlite", dsn(path, connWrite))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	if _, err := w.ExecContext(ctx, `UPDATE tokens SET notice = 1 - notice WHERE id = 1`); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, connRead))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	prepare := func(b *testing.B, q string) *sql.Stmt {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	// No table: the statement alone, without a read transaction.
	b.Run("select-1", func(b *testing.B) {
		st := prepare(b, `SELECT ?`)
		var v int64
		loop(b, func(i int) error { return st.QueryRowContext(ctx, i).Scan(&v) })
	})
	// By rowid: a read transaction, the table's B-tree only.
	b.Run("id-by-rowid", func(b *testing.B) {
		st := prepare(b, `SELECT id FROM tokens WHERE id = ?`)
		var v int64
		loop(b, func(i int) error { return st.QueryRowContext(ctx, i+1).Scan(&v) })
	})
	// By digest: the unique index, then the table (id is the rowid: the
	// index alone answers).
	b.Run("id-by-digest", func(b *testing.B) {
		st := prepare(b, `SELECT id FROM tokens WHERE digest = ?`)
		var v int64
		loop(b, func(i int) error { return st.QueryRowContext(ctx, floorDigest(i)).Scan(&v) })
	})
	b.Run("user_id-by-digest", func(b *testing.B) {
		st := prepare(b, `SELECT user_id FROM tokens WHERE digest = ?`)
		var v int64
		loop(b, func(i int) error { return st.QueryRowContext(ctx, floorDigest(i)).Scan(&v) })
	})
	// GetByDigest's columns, scanned into sql.RawBytes: no conversion
	// past the driver's.
	b.Run("lookupColumns-rawbytes", func(b *testing.B) {
		st := prepare(b, `SELECT `+lookupColumns+` FROM tokens WHERE digest = ?`)
		var raw [22]sql.RawBytes
		dest := make([]any, len(raw))
		for i := range raw {
			dest[i] = &raw[i]
		}
		loop(b, func(i int) error {
			rows, err := st.QueryContext(ctx, floorDigest(i))
			if err != nil {
				return err
			}
			defer rows.Close()
			if !rows.Next() {
				return sql.ErrNoRows
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			return rows.Close()
		})
	})
	// GetByDigest's columns through the driver alone: no database/sql.
	b.Run("lookupColumns-driver", func(b *testing.B) {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, `SELECT `+lookupColumns+` FROM tokens WHERE digest = ?`)
			if err != nil {
				return err
			}
			defer st.Close()
			q := st.(driver.StmtQueryContext)
			dest := make([]driver.Value, 22)
			args := []driver.NamedValue{{Ordinal: 1}}
			loop(b, func(i int) error {
				args[0].Value = floorDigest(i)
				rows, err := q.QueryContext(ctx, args)
				if err != nil {
					return err
				}
				if err := rows.Next(dest); err != nil {
					rows.Close()
					return err
				}
				return rows.Close()
			})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
	// GetByDigest's columns packed into one text: the numbers, then the
	// lengths of the texts, then the texts.
	for _, c := range []struct{ name, sql string }{
		{"packed-printf", `SELECT printf('%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s;%d,%d,%d,%d,%d,%d;%s%s%s%s%s%s',
			id, user_id, impersonation, resource_id, access_level, created_at, expires_at, revoked, last_used_at, previous_id,
			revoked_at, rotated, sixty_days_notification_sent_at, thirty_days_notification_sent_at,
			seven_days_notification_sent_at, after_expiry_notification_sent_at,
			octet_length(name), octet_length(description), octet_length(scopes), octet_length(resource_type),
			octet_length(last_used_ips), octet_length(allowed_cidrs),
			name, description, scopes, resource_type, last_used_ips, allowed_cidrs) FROM tokens WHERE digest = ?`},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := prepare(b, c.sql)
			var v string
			loop(b, func(i int) error { return st.QueryRowContext(ctx, floorDigest(i)).Scan(&v) })
			b.Log(v)
		})
	}
	// GetByDigest's columns through SQLite's C API, without the driver
	// or database/sql, on a connection of its own.
	for _, mutex := range []int32{sqlite3.SQLITE_OPEN_NOMUTEX, sqlite3.SQLITE_OPEN_FULLMUTEX} {
		name := "lib-nomutex"
		if mutex == sqlite3.SQLITE_OPEN_FULLMUTEX {
			name = "lib-fullmutex"
		}
		b.Run(name, func(b *testing.B) {
			tls := libc.NewTLS()
			defer tls.Close()
			cstr := func(s string) uintptr {
				p, err := libc.CString(s)
				if err != nil {
					b.Fatal(err)
				}
				return p
			}
			pp := libc.Xmalloc(tls, 8)
			defer libc.Xfree(tls, pp)
			fn := cstr(dsn(path, connRead))
			defer libc.Xfree(tls, fn)
			if rc := sqlite3.Xsqlite3_open_v2(tls, fn, pp, sqlite3.SQLITE_OPEN_READWRITE|mutex|sqlite3.SQLITE_OPEN_URI, 0); rc != 0 {
				b.Fatal(rc)
			}
			cdb := libc.AtomicLoadPUintptr(pp)
			defer sqlite3.Xsqlite3_close_v2(tls, cdb)
			for _, q := range []string{"PRAGMA busy_timeout = 10000", "PRAGMA query_only = 1", fmt.Sprintf("PRAGMA mmap_size = %d", readMmapSize)} {
				cq := cstr(q)
				rc := sqlite3.Xsqlite3_exec(tls, cdb, cq, 0, 0, 0)
				libc.Xfree(tls, cq)
				if rc != 0 {
					b.Fatal(q, rc)
				}
			}
			cq := cstr(`SELECT ` + lookupColumns + ` FROM tokens WHERE digest = ?`)
			defer libc.Xfree(tls, cq)
			if rc := sqlite3.Xsqlite3_prepare_v2(tls, cdb, cq, -1, pp, 0); rc != 0 {
				b.Fatal(rc)
			}
			st := libc.AtomicLoadPUintptr(pp)
			defer sqlite3.Xsqlite3_finalize(tls, st)
			key := libc.Xmalloc(tls, 32)
			defer libc.Xfree(tls, key)
			var ints [22]int64
			var texts [22]string
			loop(b, func(i int) error {
				copy(libc.GoBytes(key, 32), floorDigest(i))
				sqlite3.Xsqlite3_bind_blob(tls, st, 1, key, 32, 0)
				defer sqlite3.Xsqlite3_reset(tls, st)
				if rc := sqlite3.Xsqlite3_step(tls, st); rc != sqlite3.SQLITE_ROW {
					return fmt.Errorf("step: %d", rc)
				}
				for c := range int32(22) {
					switch sqlite3.Xsqlite3_column_type(tls, st, c) {
					case sqlite3.SQLITE_INTEGER:
						ints[c] = sqlite3.Xsqlite3_column_int64(tls, st, c)
					case sqlite3.SQLITE_TEXT:
						p := sqlite3.Xsqlite3_column_text(tls, st, c)
						n := sqlite3.Xsqlite3_column_bytes(tls, st, c)
						texts[c] = string(libc.GoBytes(p, int(n)))
					}
				}
				return nil
			})
		})
	}
	// The Store's own lookup on the same file: on a *sql.DB (New), and
	// with the connections of its own that Open gives it.
	for _, open := range []bool{false, true} {
		name := "GetByDigest-New"
		if open {
			name = "GetByDigest-Open"
		}
		b.Run(name, func(b *testing.B) {
			s := newStore(db, db, false, nil)
			if open {
				s.lookups = newLookupPool(path, s.q.getByDigest, 1)
			}
			defer s.Close()
			loop(b, func(i int) error {
				_, err := s.GetByDigest(ctx, floorDigest(i))
				return err
			})
		})
	}
}
