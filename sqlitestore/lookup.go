package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/patkit/patkit"
)

// lookupPool holds the connections GetByDigest reads with on a database
// file that Open opened: SQLite connections of the Store's own, driven
// through SQLite's C API (modernc.org/sqlite/lib) rather than database/sql
// and the driver. The lookup of every uncached authentication is one
// statement, always the same: through database/sql and the driver, more
// than half of its instructions and 72 of its 77 allocations went to them
// (the driver fetches the name and declared type of every column on each
// query and takes the connection's mutex for every column it reads, and
// each value is converted twice) rather than to SQLite (BenchmarkFloor).
//
// They are the same SQLite, file and locks as the driver's connections
// (one library in the process), opened as Open's read connections are
// (query_only, busy_timeout, the file mapped), so each lookup sees every
// commit before it, in this process or another. A connection serves one
// lookup at a time (so it is opened SQLITE_OPEN_NOMUTEX: SQLite's own
// locking of the connection would protect nothing more).
//
// A lookup reads in the read transaction of its connection's previous
// lookup if no commit has happened since that transaction began,
// anywhere: beginning and ending a read transaction costs two fcntl
// system calls (a read mark of the wal-index locked and unlocked) and
// about 5,000 instructions, an eighth of the lookup. Every commit rewrites
// the wal-index header, in memory shared by every process (the -shm
// file): the connection reads it before its transaction begins, and before
// each lookup in it; changed, the transaction ends and a new one begins.
//
// An open read transaction keeps a checkpoint from copying the log's
// later pages into the database, and the log from starting over. So a
// transaction is kept only while the log holds fewer than walHoldFrames
// pages, the writer's automatic checkpoint, and one left open on an
// idle connection ends holdRead later.
type lookupPool struct {
	path  string   // the database file
	name  string   // the URI the connections open
	query string   // the lookup by digest, lookupColumns
	sem   chan int // holds one value per connection in use

	mu     sync.Mutex
	idle   []*lookupConn
	closed bool
	ending bool // endIdle is due
}

const (
	// holdRead is how long an idle connection keeps its read transaction.
	holdRead = 10 * time.Millisecond
	// walHoldFrames is the size of the log, in pages, from which a read
	// transaction ends with its lookup: the writer's automatic checkpoint.
	walHoldFrames = walCheckpointFrames
)

// walHeader is the two copies of the wal-index header, as 32-bit words in
// the machine's order (2 × 48 bytes): every commit rewrites them. The
// checkpoint information that follows them is left out: it changes
// without a commit.
type walHeader [24]uint32

// mxFrame returns the number of valid pages in the log, of the header's
// first copy.
func (h *walHeader) mxFrame() uint32 { return h[4] }

func newLookupPool(path, query string, size int) *lookupPool {
	return &lookupPool{path: path, name: fileURI(path), query: query, sem: make(chan int, size)}
}

// byDigest returns the token whose digest is digest, or sql.ErrNoRows.
// Waiting for a connection ends with ctx.
func (p *lookupPool) byDigest(ctx context.Context, digest []byte) (*patkit.Token, error) {
	c, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	defer p.put(c)
	if !c.walTried {
		// After a connection's first lookup, the log's index exists.
		defer func() { c.wal, c.walTried = mapWALIndex(p.path), true }()
	}
	return c.byDigest(digest)
}

// get returns a connection of the pool, opened if none is idle, for the
// caller alone until it puts it back. Waiting for one ends with ctx.
func (p *lookupPool) get(ctx context.Context) (*lookupConn, error) {
	// A free slot is taken without the two-case select, which costs as
	// much again as the rest of the pool (runtime.selectgo).
	select {
	case p.sem <- 0:
	default:
		select {
		case p.sem <- 0:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, errClosed
	}
	var c *lookupConn
	if n := len(p.idle); n > 0 {
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()
	if c == nil {
		var err error
		if c, err = openLookupConn(p.name, p.query); err != nil {
			<-p.sem
			return nil, err
		}
	}
	return c, nil
}

// put gives back a connection get returned; it is closed if the pool is
// or a transaction of its did not end, and dropped if its user closed it.
// One left in a read transaction has it ended holdRead later if still
// idle (endIdle).
func (p *lookupPool) put(c *lookupConn) {
	p.mu.Lock()
	switch {
	case c.db == 0:
	case p.closed || c.broken:
		c.close()
	default:
		p.idle = append(p.idle, c)
		if c.inTx && !p.ending {
			p.ending = true
			time.AfterFunc(holdRead, p.endIdle)
		}
	}
	p.mu.Unlock()
	<-p.sem
}

// endIdle ends the read transactions of the idle connections.
func (p *lookupPool) endIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ending = false
	idle := p.idle[:0]
	for _, c := range p.idle {
		if c.endTx(); c.broken {
			c.close()
		} else {
			idle = append(idle, c)
		}
	}
	clear(p.idle[len(idle):])
	p.idle = idle
}

// close closes the idle connections, and the others as their lookups
// end; byDigest fails from then on.
func (p *lookupPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.idle {
		c.close()
	}
	p.idle = nil
}

// lookupConn is one connection of a lookupPool, with the lookup prepared
// and the buffer its digest is bound from. It is used by one goroutine at
// a time.
type lookupConn struct {
	tls   *libc.TLS
	db    uintptr // sqlite3*
	stmt  uintptr // sqlite3_stmt*, 0 if the pool has no query
	key   uintptr // keyN bytes of C memory
	keyN  int
	stmts map[string]uintptr // List's statements, by SQL (see listc.go)

	// The read transaction the lookups share (see lookupPool).
	begin    uintptr   // BEGIN, prepared with the lookup
	commit   uintptr   // COMMIT, prepared with the lookup
	wal      *walIndex // the log's index, or nil: no transaction is kept
	walTried bool      // wal was mapped, or could not be
	inTx     bool      // a read transaction is open
	hdr      walHeader // the log's header, read before the transaction began
	broken   bool      // a transaction did not end: close the connection
}

// lookupPragmas are those of Open's read connections that matter to a
// lookup (see dsn), busy_timeout first.
func lookupPragmas() []string {
	p := []string{"busy_timeout = 10000", "query_only = 1"}
	if strconv.IntSize == 64 {
		p = append(p, "mmap_size = "+strconv.Itoa(readMmapSize))
	}
	return p
}

func openLookupConn(name, query string) (*lookupConn, error) {
	c := &lookupConn{tls: libc.NewTLS()}
	if err := c.open(name, query); err != nil {
		c.close()
		return nil, fmt.Errorf("open lookup connection: %w", err)
	}
	return c, nil
}

func (c *lookupConn) open(name, query string) error {
	pp := libc.Xcalloc(c.tls, 1, 8) // sqlite3**
	if pp == 0 {
		return errors.New("out of memory")
	}
	defer libc.Xfree(c.tls, pp)
	if err := c.withCString(name, func(s uintptr) int32 {
		rc := sqlite3.Xsqlite3_open_v2(c.tls, s, pp, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
		c.db = libc.AtomicLoadPUintptr(pp) // set even on failure: it holds the error, and close frees it
		return rc
	}); err != nil {
		return err
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	for _, p := range lookupPragmas() {
		if err := c.withCString("PRAGMA "+p, func(s uintptr) int32 {
			return sqlite3.Xsqlite3_exec(c.tls, c.db, s, 0, 0, 0)
		}); err != nil {
			return err
		}
	}
	if query == "" {
		return nil
	}
	for _, st := range []struct {
		sql  string
		stmt *uintptr
	}{{query, &c.stmt}, {"BEGIN", &c.begin}, {"COMMIT", &c.commit}} {
		var err error
		if *st.stmt, err = c.prepare(st.sql); err != nil {
			return err
		}
	}
	return nil
}

// prepare compiles query on c; the caller finalizes the statement.
func (c *lookupConn) prepare(query string) (uintptr, error) {
	pp := c.tls.Alloc(8) // sqlite3_stmt**
	defer c.tls.Free(8)
	var st uintptr
	err := c.withCString(query, func(s uintptr) int32 {
		rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, s, -1, pp, 0)
		st = libc.AtomicLoadPUintptr(pp)
		return rc
	})
	if err != nil {
		if st != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, st)
		}
		return 0, err
	}
	return st, nil
}

// run steps st, a statement that returns no row, and resets it.
func (c *lookupConn) run(st uintptr) int32 {
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	sqlite3.Xsqlite3_reset(c.tls, st)
	return rc
}

// beginTx opens a read transaction that the next lookups may share,
// unless the log is too long to keep one. The header is read before the
// transaction begins: a commit between the two makes it look changed at
// the next lookup, never the reverse.
func (c *lookupConn) beginTx() {
	c.wal.read(&c.hdr)
	if c.hdr.mxFrame() < walHoldFrames && c.run(c.begin) == sqlite3.SQLITE_DONE {
		c.inTx = true
	}
}

// endTx ends the read transaction, if one is open.
func (c *lookupConn) endTx() {
	if !c.inTx {
		return
	}
	c.inTx = false
	if c.run(c.commit) != sqlite3.SQLITE_DONE || sqlite3.Xsqlite3_get_autocommit(c.tls, c.db) == 0 {
		c.broken = true
	}
}

// withCString calls f with s as a C string and returns the error of f's
// result code.
func (c *lookupConn) withCString(s string, f func(uintptr) int32) error {
	cs, err := libc.CString(s)
	if err != nil {
		return err
	}
	rc := f(cs)
	libc.Xfree(c.tls, cs)
	if rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	return nil
}

func (c *lookupConn) close() {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	for _, st := range []uintptr{c.stmt, c.begin, c.commit} {
		if st != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, st)
		}
	}
	if c.wal != nil {
		c.wal.unmap()
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	if c.key != 0 {
		libc.Xfree(c.tls, c.key)
	}
	c.tls.Close()
	*c = lookupConn{}
}

// cError is an error of SQLite's C API: its result code (extended), as
// sqlite.Error's, and its message.
type cError struct {
	code int
	msg  string
}

func (e *cError) Error() string { return e.msg }

// Code returns SQLite's result code.
func (e *cError) Code() int { return e.code }

func (c *lookupConn) err(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		msg += ": " + libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return &cError{code: int(rc), msg: fmt.Sprintf("%s (%d)", msg, rc)}
}

// byDigest runs the lookup: in the open read transaction if no commit
// has happened since it began, else in a new one, which it keeps open
// only if the log's index is mapped and the log is short.
func (c *lookupConn) byDigest(digest []byte) (*patkit.Token, error) {
	if c.inTx && !c.wal.same(&c.hdr) {
		c.endTx()
	}
	if !c.inTx && c.wal != nil && !c.broken {
		c.beginTx()
	}
	if len(digest) > c.keyN || c.key == 0 {
		n := max(32, len(digest))
		key := libc.Xmalloc(c.tls, types.Size_t(n))
		if key == 0 {
			return nil, errors.New("out of memory")
		}
		if c.key != 0 {
			libc.Xfree(c.tls, c.key)
		}
		c.key, c.keyN = key, n
	}
	copy(libc.GoBytes(c.key, len(digest)), digest)
	tls, st := c.tls, c.stmt
	// SQLITE_STATIC: the key stays until the statement is reset. A
	// zero-length blob, not NULL: key is never 0.
	if rc := sqlite3.Xsqlite3_bind_blob(tls, st, 1, c.key, int32(len(digest)), 0); rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	defer sqlite3.Xsqlite3_reset(tls, st)
	switch rc := sqlite3.Xsqlite3_step(tls, st); rc {
	case sqlite3.SQLITE_ROW:
	case sqlite3.SQLITE_DONE:
		return nil, sql.ErrNoRows
	default:
		err := c.err(rc)
		sqlite3.Xsqlite3_reset(tls, st)
		c.endTx() // the next lookup begins afresh
		return nil, err
	}
	r := newCRow(tls, st)
	var b rowBuf
	t := new(patkit.Token)
	r.scan(t, &b)
	if r.err != nil {
		return nil, r.err
	}
	if err := b.decode(t); err != nil {
		return nil, err
	}
	return t, nil
}

// scan reads a row of lookupColumns into t and, for the columns to
// decode, b.
func (r *cRow) scan(t *patkit.Token, b *rowBuf) {
	t.ID = r.integer(0)
	t.UserID = r.integer(1)
	t.Name = r.text(2)
	t.Description = r.text(3)
	b.scopes = r.text(4)
	t.Impersonation = r.boolean(5)
	b.resType = r.nullText(6)
	t.ResourceID = r.integer(7)
	b.accessLevel = r.integer(8)
	b.created = r.integer(9)
	b.expires = r.nullInt(10)
	t.Revoked = r.boolean(11)
	b.lastUsed = r.nullInt(12)
	b.ips = r.text(13)
	b.prev = r.nullInt(14)
	b.revokedAt = r.nullInt(15)
	t.Rotated = r.boolean(16)
	b.cidrs = r.text(17)
	for i := range b.notices {
		b.notices[i] = r.nullInt(18 + int32(i))
	}
}

// cRow reads the columns of a statement's row with the types scanRow
// gives database/sql's Scan, and fails as Scan would on another type: the
// first failure is kept in err.
//
// It reads the row's values (sqlite3_value) rather than calling
// sqlite3_column_* for each column, which enter and leave the connection
// and check for a failed malloc at every call: a row is consecutive
// registers of the statement (OP_ResultRow), so the address of each value
// follows from those of the first two. The statement has at least two
// columns.
type cRow struct {
	tls          *libc.TLS
	stmt         uintptr
	first, width uintptr // the first column's sqlite3_value*, and the distance to the next
	err          error
	arena        *pageArena // where texts and blobs are copied, if not allocated each
}

// newCRow returns the reader of the row st has just stepped to.
func newCRow(tls *libc.TLS, st uintptr) cRow {
	r := cRow{tls: tls, stmt: st}
	r.next()
	return r
}

// next makes r read the row its statement has just stepped to.
func (r *cRow) next() {
	r.first = sqlite3.Xsqlite3_column_value(r.tls, r.stmt, 0)
	r.width = sqlite3.Xsqlite3_column_value(r.tls, r.stmt, 1) - r.first
}

// at returns the value of column i.
func (r *cRow) at(i int32) uintptr { return r.first + uintptr(i)*r.width }

func (r *cRow) typ(i int32) int32 { return sqlite3.Xsqlite3_value_type(r.tls, r.at(i)) }

func (r *cRow) fail(i int32, want string) {
	if r.err == nil {
		name := libc.GoString(sqlite3.Xsqlite3_column_name(r.tls, r.stmt, i))
		r.err = fmt.Errorf("column %s: %s value where %s was expected", name,
			[]string{"", "integer", "float", "text", "blob", "NULL"}[r.typ(i)], want)
	}
}

func (r *cRow) nullInt(i int32) sql.NullInt64 {
	switch r.typ(i) {
	case sqlite3.SQLITE_INTEGER:
		return sql.NullInt64{Int64: sqlite3.Xsqlite3_value_int64(r.tls, r.at(i)), Valid: true}
	case sqlite3.SQLITE_NULL:
		return sql.NullInt64{}
	}
	r.fail(i, "an integer or NULL")
	return sql.NullInt64{}
}

func (r *cRow) integer(i int32) int64 {
	if r.typ(i) != sqlite3.SQLITE_INTEGER {
		r.fail(i, "an integer")
		return 0
	}
	return sqlite3.Xsqlite3_value_int64(r.tls, r.at(i))
}

func (r *cRow) boolean(i int32) bool {
	switch n := r.integer(i); n {
	case 0, 1:
		return n == 1
	}
	r.fail(i, "0 or 1")
	return false
}

func (r *cRow) nullText(i int32) sql.NullString {
	switch r.typ(i) {
	case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
		return sql.NullString{String: r.bytes(i), Valid: true}
	case sqlite3.SQLITE_NULL:
		return sql.NullString{}
	}
	r.fail(i, "text or NULL")
	return sql.NullString{}
}

func (r *cRow) text(i int32) string {
	switch r.typ(i) {
	case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
		return r.bytes(i)
	}
	r.fail(i, "text")
	return ""
}

// bytes copies the text of column i, whose type is text or blob; an
// empty list, the usual value of the list columns, is not allocated.
func (r *cRow) bytes(i int32) string {
	p := sqlite3.Xsqlite3_value_text(r.tls, r.at(i))
	n := sqlite3.Xsqlite3_value_bytes(r.tls, r.at(i))
	if p == 0 || n == 0 {
		return ""
	}
	b := libc.GoBytes(p, int(n))
	if string(b) == "[]" {
		return "[]"
	}
	if r.arena != nil {
		return r.arena.str(b)
	}
	return string(b)
}
