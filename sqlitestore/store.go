package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// Options configures a Store. The zero value, and a nil *Options, are the
// defaults.
type Options struct {
	// TablePrefix is prepended to the names of the tables, indexes and
	// triggers the Store creates ("tokens", "token_counters", the views
	// "token_counts" and "token_expiry_counts", "patkit_meta",
	// "patkit_revocations" and "patkit_migrations", and theirs), so that
	// they can share a database with the host's own tables, for example
	// "patkit_". It may hold ASCII letters, digits and '_', and must not
	// start with a digit. The same prefix must be used every time a
	// database is opened.
	TablePrefix string

	// RelaxedDurability makes Open commit with synchronous=NORMAL rather
	// than FULL. By default an acknowledged write (a new token, and above
	// all a revocation) survives a power failure or an operating system
	// crash: every commit waits for the write-ahead log to reach the disk.
	// With RelaxedDurability a commit returns once the log is written,
	// without that wait: the database stays consistent and survives the
	// application crashing, but the last transactions acknowledged before
	// a power failure may be lost, so a revoked token may authenticate
	// again after it. Writes are then cheaper. It has no effect on New,
	// whose *sql.DB has its own DSN.
	RelaxedDurability bool
}

// Store is a patkit.Store on an SQLite database. Its methods are safe for
// concurrent use, also with other Stores (or processes) on the same
// database file.
type Store struct {
	w, r   *handle // writes, reads; on the same *sql.DB unless Open made two
	own    bool    // Close closes w and r
	prefix string
	q      queries
	closed atomic.Bool

	getByID, getByDigest lazyStmt     // prepared on r
	lookups              *lookupPool  // GetByDigest's connections on Open's file, or nil
	lists                *lookupPool  // List's connections on Open's file, or nil
	listStmts            stmtCache    // List's, prepared on r
	bounds               sqlq.Budgets // of List's BoundPlans: the defaults but in tests

	wr writer // the group commit of every write
	// Prepared on w, used by the writer only.
	insertStmt, revokeStmt, revokeIfValidStmt, setLastUsedStmt, endGraceStmt lazyStmt

	// Watch: the file it opens a connection on (Open on a file only), and
	// whether the database is Open's private in-memory one.
	path    string
	memory  bool
	closing chan struct{} // closed by Close: Watch returns
	subsMu  sync.Mutex
	subs    map[chan struct{}]struct{} // Watch calls to wake after a revocation

	// The revocation log: how many revocations to keep, and how many to
	// commit between two prunings; tests lower them.
	keep, pruneEvery int64
	namesEvery       int64                        // tokens created between two indexings of names (indexNamesOp)
	pollFault        atomic.Pointer[func() error] // a test's injected failure of Watch's reads
}

var _ patkit.Store = (*Store)(nil)

// DSN returns the data source name Open uses for the database file at path:
// WAL journal, a 10 s busy timeout, foreign keys on, temporary files in
// memory, a checkpoint every 4,000 pages of log, synchronous=FULL (every
// commit durable) and IMMEDIATE write transactions. Pass it to
// sql.Open("sqlite", ...) to build the *sql.DB given to New.
func DSN(path string) string {
	return dsn(path, connWrite)
}

// connKind is what a connection of the Store is for.
type connKind int

const (
	connWrite        connKind = iota // durable commits
	connWriteRelaxed                 // commits that may be lost on power failure
	connRead                         // query_only
)

// readMmapSize is how much of the database file each read connection maps
// into memory (PRAGMA mmap_size), on 64-bit platforms: SQLite's largest,
// about 2 GiB, some 6 million tokens. A lookup then reads the pages of the
// digest index and of the table where the operating system caches them,
// rather than copying each into the connection's page cache with a
// pread: that cache holds 2 MB by default, and SQLite empties it whenever
// another connection has written, so on a large table most lookups missed
// it. Measured on 1,000,000 tokens, an uncached authentication went from
// 1.5-1.8 times its CPU time on 1,000 tokens to 1.2-1.3 times; pages past
// the mapped size are read as before. SQLite maps the file read-only, so
// no stray write can reach the database through it; an I/O error while
// reading a mapped page is a SIGBUS rather than an error returned, as for
// any memory-mapped file.
const readMmapSize = 1<<31 - 1<<16

// fileURI returns the SQLite URI of the file at path, without parameters.
func fileURI(path string) string {
	// '?' and '#' would end the path and '%' starts an escape.
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func dsn(path string, kind connKind) string {
	s := fileURI(path) +
		"?_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)"
	switch kind {
	case connRead:
		// Readers commit nothing: synchronous does not matter to them.
		s += "&_pragma=query_only(1)"
		if strconv.IntSize == 64 {
			s += "&_pragma=mmap_size(" + strconv.Itoa(readMmapSize) + ")"
		}
		return s
	case connWriteRelaxed:
		return s + writePragmas + "&_pragma=synchronous(NORMAL)&_txlock=immediate"
	}
	return s + writePragmas + "&_pragma=synchronous(FULL)&_txlock=immediate"
}

// writePragmas are the settings of a writer's connection besides its
// synchronous mode:
//
//   - temp_store(MEMORY) keeps its temporary files in memory: the journal
//     of the savepoint each write of a batch runs in, which would
//     otherwise be a file written page by page, with a system call for
//     each, for nothing durable.
//   - wal_autocheckpoint(4000) lets the write-ahead log grow by 4,000
//     pages (16 MB of 4 KB pages) rather than SQLite's 1,000 before a
//     commit copies them into the database file and syncs that file (a
//     checkpoint). A create changes about 22 pages, so that came every 45
//     creates; the pages that writes keep changing (the counters, the last
//     leaf of each index) are copied once per checkpoint however many
//     commits changed them, so rarer checkpoints copy fewer pages per
//     write, and sync the database file less often. Measured on 1,000,000
//     tokens, one writer creating (strace -T, on a loaded machine), the
//     database file's fsyncs went from 146 to 550 µs per create to about
//     50, and its page writes from 2.7 to 1.9 per create. The log still
//     fits in the first block (4,096 frames) of its index, which every
//     read looks pages up in.
var writePragmas = "&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(" + strconv.Itoa(walCheckpointFrames) + ")"

// walCheckpointFrames is the writer's wal_autocheckpoint (see
// writePragmas), and the size of the log from which lookups stop keeping
// their read transactions (see lookupPool), so that the checkpoint it
// starts can copy the whole log and the log start over.
const walCheckpointFrames = 4000

// Open opens, creating it if needed, the SQLite database file at path,
// brings its schema up to date with Migrate and returns a Store that owns
// the database: Close closes it. The path ":memory:" opens a private
// in-memory database, served by one connection, which lives until Close.
// If Migrate fails, Open closes what it opened and returns the error.
//
// Open uses two connection pools on the file: one connection for writes,
// so that the Store's own writers queue in Go rather than on SQLite's lock,
// and a few read-only connections, which WAL lets read while a write is in
// progress.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty path")
	}
	if !validPrefix(prefixOf(opts)) {
		return nil, errBadPrefix
	}
	memory := path == ":memory:"
	kind := connWrite
	if opts != nil && opts.RelaxedDurability {
		kind = connWriteRelaxed
	}
	name := dsn(path, kind)
	if memory {
		name = "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate"
	} else if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// sql.Open connects to nothing: Migrate's connection, on the writer,
	// is the first, so it creates the file and switches it to WAL before
	// any reader connects.
	w, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One connection: the Store's writers queue in Go, not on SQLite's
	// lock, and an in-memory database lives as long as its connection.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r := w
	if !memory {
		if r, err = sql.Open("sqlite", dsn(path, connRead)); err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
	}
	s := newStore(w, r, true, opts)
	s.memory = memory
	if !memory {
		s.path = path
		s.lookups = newLookupPool(path, s.q.getByDigest, max(4, runtime.GOMAXPROCS(0)))
		s.lists = newLookupPool(path, "", max(4, runtime.GOMAXPROCS(0)))
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return s, nil
}

// createPrivate creates the database file at path, empty and with mode
// 0600 whatever the umask, if nothing is there yet. SQLite gives the -wal
// and -shm files it creates beside a database the database file's mode, so
// they are private too. An existing file, or link, keeps its mode. Failing
// to create the file is left for SQLite to report when it opens it (a
// missing directory, no permission), so that the error is classified as
// every other failure to open.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil
	}
	err = f.Chmod(0o600) // the umask may have removed bits from 0600
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// New returns a Store on the caller's database. It does no I/O: call
// Migrate before using the Store (Open does both). Close does not close db.
// The Store uses db for reads and writes; open it with the DSN that DSN
// returns (or at least a busy_timeout and _txlock=immediate) so that
// concurrent writers wait for each other instead of failing with
// SQLITE_BUSY.
func New(db *sql.DB, opts *Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: nil *sql.DB")
	}
	if !validPrefix(prefixOf(opts)) {
		return nil, errBadPrefix
	}
	return newStore(db, db, false, opts), nil
}

func prefixOf(opts *Options) string {
	if opts == nil {
		return ""
	}
	return opts.TablePrefix
}

// newStore returns a Store on w and r; it does no I/O.
func newStore(w, r *sql.DB, own bool, opts *Options) *Store {
	prefix := prefixOf(opts)
	s := &Store{own: own, prefix: prefix, q: newQueries(prefix), wr: newWriter(),
		closing: make(chan struct{}), keep: revocationsKept, pruneEvery: pruneEvery,
		namesEvery: namesEvery}
	s.w = &handle{db: w, closed: &s.closed}
	s.r = &handle{db: r, closed: &s.closed}
	s.getByID.query, s.getByDigest.query = s.q.getByID, s.q.getByDigest
	s.insertStmt.query, s.revokeStmt.query = s.q.insert, s.q.revoke
	s.revokeIfValidStmt.query, s.setLastUsedStmt.query = s.q.revokeIfValid, s.q.setLastUsed
	s.endGraceStmt.query = s.q.endGrace
	return s
}

// Close waits for the writes already queued to commit, refusing new ones,
// releases the Store's prepared statements and, if Open opened the
// database, closes it. Every method called after Close returns an error
// wrapping patkit.ErrUnavailable, also on a database given to New, which
// stays open. Closing again does nothing and returns nil.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.closing)
	s.stopWriter()
	if s.lookups != nil {
		s.lookups.close()
		s.lists.close()
	}
	var err error
	for _, l := range append([]*lazyStmt{&s.getByID, &s.getByDigest}, s.writeStmts()...) {
		err = errors.Join(err, l.close())
	}
	err = errors.Join(err, s.listStmts.close())
	if s.own {
		err = errors.Join(err, s.w.db.Close())
		if s.r.db != s.w.db {
			err = errors.Join(err, s.r.db.Close())
		}
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// errClosed is the cause of the errors of a closed Store.
var errClosed = errors.New("store closed")

// handle is one of the Store's ways to its database. Every access goes
// through one, which refuses once the Store is closed (the *sql.DB of New
// stays open) or ctx is done.
type handle struct {
	db     *sql.DB
	closed *atomic.Bool // the Store's
}

func (h *handle) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h.closed.Load() {
		return errClosed
	}
	return nil
}

func (h *handle) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	return h.db.BeginTx(ctx, opts)
}

// lazyStmt is a statement prepared at its first use, so that New does no
// I/O and a Store can be made before its database is migrated. A failed
// preparation is tried again at the next use.
type lazyStmt struct {
	query string
	stmt  atomic.Pointer[sql.Stmt]
	mu    sync.Mutex // serializes preparing and closing
	done  bool       // closed
}

// prepare prepares the statement on db if it is not yet.
func (l *lazyStmt) prepare(ctx context.Context, db *sql.DB) error {
	if l.stmt.Load() != nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return errClosed
	}
	if l.stmt.Load() == nil {
		st, err := db.PrepareContext(ctx, l.query)
		if err != nil {
			return err
		}
		l.stmt.Store(st)
	}
	return nil
}

// queryRow runs the statement, a lookup of one row by a unique key, on h.
//
// Once ctx is checked, the lookup runs to completion whatever becomes of
// ctx: it takes microseconds, and watching a context costs more than that
// (database/sql and the driver each start a goroutine per query to watch
// one that can be done: measured on uncached authentication, a quarter to
// a third of its CPU time). What ctx no longer interrupts is a
// wait for one of the read pool's connections, which the pool's other
// reads end, and SQLite's busy wait, which a reader in WAL mode meets only
// while a crashed writer's log is recovered.
func (l *lazyStmt) queryRow(ctx context.Context, h *handle, args ...any) (*sql.Row, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	if err := l.prepare(ctx, h.db); err != nil {
		return nil, err
	}
	st := l.stmt.Load()
	if st == nil { // closed meanwhile
		return nil, errClosed
	}
	return st.QueryRowContext(context.WithoutCancel(ctx), args...), nil
}

func (l *lazyStmt) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if st := l.stmt.Swap(nil); st != nil {
		return st.Close()
	}
	return nil
}

// queries holds the SQL text of a Store, with its table prefix applied.
type queries struct {
	table             string
	meta, revocations string
	names             string // the trigram index of names (migration 0014)
	// tables are those List's count and bounds read: the counters, the
	// zones (migration 0015), and the tokens by each word of their names
	// (0018), which the Store also writes (indexNames).
	tables                sqlq.Tables
	insert                string
	getByID, getByDigest  string
	revoke, revokeIfValid string
	revokedOf             string
	setLastUsed           string
	endGrace              string
}

// columns is the column list every read selects, in scanToken's order.
const columns = lookupColumns + `, digest`

// lookupColumns is columns less the digest, which GetByDigest is given: a
// column fewer to convert, on the path of every uncached authentication.
const lookupColumns = `id, user_id, name, description, scopes, impersonation, resource_type, resource_id,
	access_level, created_at, expires_at, revoked, last_used_at, last_used_ips, previous_id,
	revoked_at, rotated, allowed_cidrs, ` + noticeColumns

// noticeColumns are the times of the expiry notices (Token.Notices), in
// the order of the patkit.Notice values.
const noticeColumns = `sixty_days_notification_sent_at, thirty_days_notification_sent_at,
	seven_days_notification_sent_at, after_expiry_notification_sent_at`

func newQueries(prefix string) queries {
	t := prefix + "tokens"
	return queries{
		table:       t,
		meta:        prefix + "patkit_meta",
		names:       prefix + "tokens_fts",
		revocations: prefix + "patkit_revocations",
		tables: sqlq.Tables{Tokens: t, Counts: prefix + "token_counts", Expiries: prefix + "token_expiry_counts",
			Zones: prefix + "tokens_zones", Words: prefix + "tokens_words"},
		insert: `INSERT INTO ` + t + ` (user_id, name, name_folded, description, scopes, impersonation,
			resource_type, resource_id, access_level, created_at, expires_at, revoked, last_used_at,
			last_used_ips, previous_id, revoked_at, rotated, allowed_cidrs, digest, notice, ` + noticeColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		getByID:     `SELECT ` + columns + ` FROM ` + t + ` WHERE id = ?`,
		getByDigest: `SELECT ` + lookupColumns + ` FROM ` + t + ` WHERE digest = ?`,
		// SET reads the row as it was: revoked_at is kept if it was
		// revoked already.
		revoke: `UPDATE ` + t + ` SET revoked_at = CASE WHEN revoked = 0 THEN ?2 ELSE revoked_at END,
			revoked = 1, rotated = 0 WHERE id = ?1`,
		revokeIfValid: `UPDATE ` + t + ` SET revoked = 1, revoked_at = ?2, rotated = 1 WHERE id = ?1 AND revoked = 0`,
		endGrace:      endGraceQuery(t),
		revokedOf:     `SELECT revoked FROM ` + t + ` WHERE id = ?`,
		setLastUsed:   `UPDATE ` + t + ` SET last_used_at = ?, last_used_ips = ? WHERE id = ?`,
	}
}

// Get returns the token with the given ID, or an error wrapping
// patkit.ErrNotFound. A ctx already done returns its error; once the
// lookup has started, it completes (see GetByDigest).
func (s *Store) Get(ctx context.Context, id int64) (*patkit.Token, error) {
	op := fmt.Sprintf("get token %d", id)
	row, err := s.getByID.queryRow(ctx, s.r, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	t, err := scanToken(row)
	if err != nil {
		return nil, notFound(op, err)
	}
	return t, nil
}

// GetByDigest returns the token whose Digest is digest, through the unique
// index on digest, or an error wrapping patkit.ErrNotFound. On a Store
// from Open on a file it reads with connections of its own (see
// lookupPool), which ctx stops waiting for.
//
// A ctx already done returns its error. Once the lookup has started, a
// few microseconds of work, it completes whatever becomes of ctx: watching
// ctx would cost more than the lookup. The waits ctx then no longer ends
// are, on a Store from New, for one of the read connections, which other
// reads hold for as long as they run, and SQLite's busy timeout, which a
// reader meets only while the log of a crashed writer is recovered.
func (s *Store) GetByDigest(ctx context.Context, digest []byte) (*patkit.Token, error) {
	if digest == nil {
		digest = []byte{}
	}
	const op = "get token by digest"
	var t *patkit.Token
	if s.lookups != nil {
		err := s.r.check(ctx)
		if err == nil {
			t, err = s.lookups.byDigest(ctx, digest)
		}
		if err != nil {
			return nil, notFound(op, err)
		}
	} else {
		row, err := s.getByDigest.queryRow(ctx, s.r, digest)
		if err != nil {
			return nil, wrap(op, err)
		}
		if t, err = scanRow(row, false); err != nil {
			return nil, notFound(op, err)
		}
	}
	// SQLite compares BLOBs byte for byte: the row's digest is digest.
	if len(digest) > 0 {
		t.Digest = bytes.Clone(digest)
	}
	return t, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanToken reads one row of columns.
func scanToken(row scanner) (*patkit.Token, error) { return scanRow(row, true) }

// rowBuf is what scanRow reads the columns that need converting into,
// with the destinations Scan is given: one allocation rather than one for
// each variable that Scan's interface makes escape. The token is allocated
// apart, so that it does not keep the buffer alive.
type rowBuf struct {
	scopes, ips       string
	resType           sql.NullString
	prev              sql.NullInt64
	created           int64
	expires, lastUsed sql.NullInt64
	revokedAt         sql.NullInt64
	cidrs             string
	accessLevel       int64
	notices           [4]sql.NullInt64
	dest              [23]any
}

// scanRow reads one row of columns, or of lookupColumns if withDigest is
// false, and leaves the digest nil.
func scanRow(row scanner, withDigest bool) (*patkit.Token, error) {
	b, t := new(rowBuf), new(patkit.Token)
	b.dest = [23]any{&t.ID, &t.UserID, &t.Name, &t.Description, &b.scopes, &t.Impersonation,
		&b.resType, &t.ResourceID, &b.accessLevel, &b.created, &b.expires, &t.Revoked, &b.lastUsed, &b.ips, &b.prev,
		&b.revokedAt, &t.Rotated, &b.cidrs,
		&b.notices[0], &b.notices[1], &b.notices[2], &b.notices[3], &t.Digest}
	dest := b.dest[:]
	if !withDigest {
		dest = dest[:len(dest)-1]
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if len(t.Digest) == 0 {
		t.Digest = nil
	}
	if err := b.decode(t); err != nil {
		return nil, err
	}
	return t, nil
}

// decode sets the fields of t that b holds, decoded.
func (b *rowBuf) decode(t *patkit.Token) error {
	var ok bool
	if t.Scopes, ok = decodeScopes(b.scopes); !ok {
		if err := json.Unmarshal([]byte(b.scopes), &t.Scopes); err != nil {
			return fmt.Errorf("sqlitestore: token %d: decode scopes: %w", t.ID, err)
		}
	}
	if t.LastUsedIPs, ok = decodeStrings(b.ips); !ok {
		if err := json.Unmarshal([]byte(b.ips), &t.LastUsedIPs); err != nil {
			return fmt.Errorf("sqlitestore: token %d: decode last used IPs: %w", t.ID, err)
		}
	}
	// Empty lists read back as nil, as patkit.Token.Clone copies them.
	if len(t.Scopes) == 0 {
		t.Scopes = nil
	}
	if len(t.LastUsedIPs) == 0 {
		t.LastUsedIPs = nil
	}
	t.ResourceType = patkit.ResourceType(b.resType.String)
	t.PreviousID = b.prev.Int64
	t.AccessLevel = patkit.AccessLevel(b.accessLevel)
	t.CreatedAt = fromMicro(b.created)
	if b.expires.Valid {
		t.ExpiresAt = fromMicro(b.expires.Int64)
	}
	if b.lastUsed.Valid {
		t.LastUsedAt = fromMicro(b.lastUsed.Int64)
	}
	if b.revokedAt.Valid {
		t.RevokedAt = fromMicro(b.revokedAt.Int64)
	}
	if b.cidrs != "[]" {
		var err error
		if t.AllowedCIDRs, err = decodeCIDRs(b.cidrs); err != nil {
			return fmt.Errorf("sqlitestore: token %d: decode allowed CIDRs: %w", t.ID, err)
		}
	}
	for i, n := range b.notices {
		if n.Valid {
			t.Notices.Set(patkit.Notice(i+1), fromMicro(n.Int64))
		}
	}
	return nil
}

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTime stores the zero Time as NULL, any other as Unix microseconds.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

// codeError is an error of SQLite with its result code: the driver's
// *sqlite.Error, or a lookup connection's *cError.
type codeError interface {
	error
	Code() int
}

var _, _ codeError = (*sqlite.Error)(nil), (*cError)(nil)

// isUnique reports whether err is SQLite's unique or primary key constraint
// violation.
func isUnique(err error) bool {
	var e codeError
	return errors.As(err, &e) &&
		(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any of its
// extended forms.
func isBusy(err error) bool {
	var e codeError
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// notFound translates sql.ErrNoRows into patkit.ErrNotFound and wraps any
// other error.
func notFound(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", op, patkit.ErrNotFound)
	}
	return wrap(op, err)
}

// wrap adds the operation to a driver error and classifies it: a done
// context is reported as itself, a database that cannot be reached wraps
// patkit.ErrUnavailable too (see unavailable), and anything else is
// wrapped as it is.
func wrap(op string, err error) error {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && unavailable(err) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, patkit.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// unavailable reports whether err means that the database cannot be
// reached for now, rather than that the statement is wrong or the data
// refused it: the Store is closed, or the caller closed its *sql.DB; the
// file cannot be opened (SQLITE_CANTOPEN); reading or writing it failed
// (SQLITE_IOERR) or the disk is full (SQLITE_FULL); or another connection
// held the write lock past the busy timeout (SQLITE_BUSY), which is as
// transient as an unreachable server.
func unavailable(err error) bool {
	if errors.Is(err, errClosed) || errors.Is(err, sql.ErrConnDone) ||
		strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	var e codeError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_BUSY:
		return true
	}
	return false
}
