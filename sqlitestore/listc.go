package sqlitestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// listOnConns is List on a Store from Open on a file: the page and the
// count run on a connection of s.lists, through SQLite's C API as
// GetByDigest's lookup does (see lookupPool), each statement prepared once
// per connection. Through database/sql and the driver, a page of 20 cost
// about 700,000 instructions and 480 allocations, most of them fetching
// every column's name and type and converting each value twice.
//
// The page and the count read one snapshot: they run in one read
// transaction. ctx ends the wait for a connection and, as the driver
// does, interrupts the statements once it is done.
func (s *Store) listOnConns(ctx context.Context, q *patkit.Query, page string, pageArgs []any,
	count string, countArgs []any, bound *sqlq.BoundPlan, search *sqlq.SearchPlan) (_ []*patkit.Token, _ int, err error) {
	if err := s.r.check(ctx); err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	c, err := s.lists.get(ctx)
	if err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	defer s.lists.put(c)
	if err := c.exec("BEGIN"); err != nil {
		return nil, 0, wrap("list tokens", err)
	}
	// Ends the read transaction once no interruption can reach it: one
	// that comes after the statements end only sets a flag, which SQLite
	// clears when the next statement starts on a connection that runs none
	// (such as this ROLLBACK). A connection left in its transaction is
	// closed rather than put back.
	defer func() {
		if rerr := c.exec("ROLLBACK"); rerr != nil {
			c.close()
			if err == nil {
				err = wrap("list tokens", rerr)
			}
		}
	}()
	if ctx.Done() != nil {
		var wg sync.WaitGroup
		wg.Add(1)
		stop := context.AfterFunc(ctx, func() {
			defer wg.Done()
			c.interrupt()
		})
		defer func() {
			if stop() {
				wg.Done()
			}
			wg.Wait() // an interruption that started ends before the ROLLBACK
		}()
	}
	tokens, total, err := c.list(q, page, pageArgs, count, countArgs, bound, search)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, 0, wrap("list tokens", err)
	}
	return tokens, total, nil
}

// interrupt makes SQLite stop the statement c runs. It is called from
// another goroutine than c's, so it uses a libc.TLS of its own, as the
// driver does: sqlite3_interrupt only sets a flag of the connection.
func (c *lookupConn) interrupt() {
	tls := libc.NewTLS()
	sqlite3.Xsqlite3_interrupt(tls, c.db)
	tls.Close()
}

// list runs List's page query (finished by bound, if not nil) and, unless
// the page tells the total, its count query, in the read transaction the
// caller began. A search (if not nil) counts first, and reads its page
// from its Range where the count says so.
func (c *lookupConn) list(q *patkit.Query, page string, pageArgs []any, count string, countArgs []any,
	bound *sqlq.BoundPlan, search *sqlq.SearchPlan) ([]*patkit.Token, int, error) {
	if search != nil {
		return search.List(page, pageArgs, count, countArgs, c.probe, c.count,
			func(query string, args []any) ([]*patkit.Token, error) { return c.page(query, args, q.PerPage) })
	}
	tokens, err := c.page(page, pageArgs, q.PerPage)
	if err == nil && bound != nil {
		tokens, err = bound.Finish(tokens, func(query string, args []any) ([]*patkit.Token, error) {
			return c.page(query, args, q.PerPage)
		}, c.count)
	}
	if err != nil {
		return nil, 0, err
	}
	if t, ok := lastPage(q, len(tokens)); ok {
		return tokens, t, nil
	}
	total, err := c.count(count, countArgs)
	return tokens, total, err
}

// probe returns the two numbers a SearchPlan's Probe selects: the
// matches it counted and the highest ID among them.
func (c *lookupConn) probe(query string, args []any) (int, int64, error) {
	st, err := c.query(query, args)
	if err != nil {
		return 0, 0, err
	}
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	if rc := sqlite3.Xsqlite3_step(c.tls, st); rc != sqlite3.SQLITE_ROW {
		return 0, 0, c.err(rc)
	}
	return int(sqlite3.Xsqlite3_column_int64(c.tls, st, 0)), sqlite3.Xsqlite3_column_int64(c.tls, st, 1), nil
}

// count returns the number a count query selects.
func (c *lookupConn) count(query string, args []any) (int, error) {
	st, err := c.query(query, args)
	if err != nil {
		return 0, err
	}
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	if rc := sqlite3.Xsqlite3_step(c.tls, st); rc != sqlite3.SQLITE_ROW {
		return 0, c.err(rc)
	}
	if typ := sqlite3.Xsqlite3_column_type(c.tls, st, 0); typ != sqlite3.SQLITE_INTEGER {
		return 0, fmt.Errorf("count of type %d", typ)
	}
	return int(sqlite3.Xsqlite3_column_int64(c.tls, st, 0)), nil
}

// page reads the tokens of the page query, of which there are at most
// perPage, allocated together, and their texts and digests too.
func (c *lookupConn) page(query string, args []any, perPage int) ([]*patkit.Token, error) {
	st, err := c.query(query, args)
	if err != nil {
		return nil, err
	}
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	var (
		tokens = make([]*patkit.Token, 0, perPage)
		block  []patkit.Token
		a      pageArena
		r      = cRow{tls: c.tls, stmt: st, arena: &a}
	)
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return tokens, nil
		default:
			return nil, c.err(rc)
		}
		if len(block) == cap(block) {
			block = make([]patkit.Token, 0, perPage)
			a.grow(perPage)
		}
		block = block[:len(block)+1]
		t := &block[len(block)-1]
		r.next()
		var b rowBuf
		r.scan(t, &b)
		t.Digest = r.blob(22)
		if r.err != nil {
			return nil, r.err
		}
		if err := b.decode(t); err != nil {
			return nil, err
		}
		tokens = append(tokens, t)
	}
}

// pageArena holds the texts and the digests of a page's tokens, allocated
// together. A text is never written again once copied; each digest's slice
// ends at its own length, so that an append to it copies it rather than
// overwrite the next token's.
type pageArena struct {
	texts   []byte
	digests []byte
}

// grow makes room for n tokens of a digest and some 64 bytes of text
// each: a page's. One that runs out allocates more.
func (a *pageArena) grow(n int) {
	a.texts = make([]byte, 0, 64*n)
	a.digests = make([]byte, 0, sha256.Size*n)
}

// str returns a copy of b.
func (a *pageArena) str(b []byte) string {
	if cap(a.texts)-len(a.texts) < len(b) {
		a.texts = make([]byte, 0, max(cap(a.texts), len(b)))
	}
	start := len(a.texts)
	a.texts = append(a.texts, b...)
	return unsafe.String(&a.texts[start], len(b))
}

// digest returns a copy of b.
func (a *pageArena) digest(b []byte) []byte {
	if cap(a.digests)-len(a.digests) < len(b) {
		a.digests = make([]byte, 0, max(cap(a.digests), len(b)))
	}
	start := len(a.digests)
	a.digests = append(a.digests, b...)
	return a.digests[start:len(a.digests):len(a.digests)]
}

// blob copies the blob of column i; NULL and the empty blob are nil. A
// value of another type is read as SQLite converts it to a blob, its text,
// as Scan into a []byte does.
func (r *cRow) blob(i int32) []byte {
	if r.typ(i) == sqlite3.SQLITE_NULL {
		return nil
	}
	p := sqlite3.Xsqlite3_value_blob(r.tls, r.at(i))
	n := sqlite3.Xsqlite3_value_bytes(r.tls, r.at(i))
	if p == 0 || n == 0 {
		return nil
	}
	b := libc.GoBytes(p, int(n)) // SQLite's memory
	if r.arena != nil {
		return r.arena.digest(b)
	}
	return bytes.Clone(b)
}

// exec runs query, a statement that returns no rows and takes no
// arguments.
func (c *lookupConn) exec(query string) error {
	st, err := c.query(query, nil)
	if err != nil {
		return err
	}
	if rc := c.run(st); rc != sqlite3.SQLITE_DONE {
		return c.err(rc)
	}
	return nil
}

// query returns the statement of query, prepared on c at its first use,
// with args bound: the caller resets it once done. A connection keeps at
// most maxListStmts statements; when full, one of them is finalized.
func (c *lookupConn) query(query string, args []any) (uintptr, error) {
	st, ok := c.stmts[query]
	if !ok {
		if len(c.stmts) >= maxListStmts {
			for q, st := range c.stmts { // any one: the map's order is random
				sqlite3.Xsqlite3_finalize(c.tls, st)
				delete(c.stmts, q)
				break
			}
		}
		var err error
		if st, err = c.prepare(query); err != nil {
			return 0, err
		}
		if c.stmts == nil {
			c.stmts = make(map[string]uintptr)
		}
		c.stmts[query] = st
	}
	if err := c.bind(st, args); err != nil {
		sqlite3.Xsqlite3_clear_bindings(c.tls, st)
		return 0, err
	}
	return st, nil
}

// bind binds args, of the types of sqlq's arguments, to st's parameters.
// SQLite copies text (SQLITE_TRANSIENT).
func (c *lookupConn) bind(st uintptr, args []any) error {
	if n := int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, st)); n != len(args) {
		return fmt.Errorf("%d arguments for %d parameters", len(args), n)
	}
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, int64(v))
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, v)
		case bool:
			var b int64
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, n, b)
		case string:
			cs, err := libc.CString(v)
			if err != nil {
				return err
			}
			rc = sqlite3.Xsqlite3_bind_text(c.tls, st, n, cs, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
			libc.Xfree(c.tls, cs)
		default:
			return fmt.Errorf("argument %d: unsupported type %T", n, a)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	return nil
}
