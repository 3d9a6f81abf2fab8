package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache holds the statements List prepares on the read pool, by SQL
// text: a list's page and count queries depend on its shape (filters,
// sort), not on its values, so a few dozen statements serve every list,
// and preparing each query again cost a fifth of a list's time at
// 1,000,000 tokens. When full, the statement least recently used is
// dropped, and closed once no List uses it.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*cachedStmt
	tick   uint64
	closed bool
}

type cachedStmt struct {
	stmt    *sql.Stmt
	used    uint64 // c.tick at the last use
	users   int    // Lists using it now
	dropped bool   // out of the cache: closed when users reaches 0
}

// maxListStmts bounds the statements a Store keeps for List.
const maxListStmts = 64

// stmt returns the statement of query, prepared on db at its first use,
// and the function to call when done with it. The caller must hold none
// of db's connections: preparing may wait for one, and is done without
// the lock, so that it waits for nobody else.
func (c *stmtCache) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, func(), error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, errClosed
	}
	if e, ok := c.m[query]; ok {
		st, release := c.use(e)
		c.mu.Unlock()
		return st, release, nil
	}
	c.mu.Unlock()

	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = st.Close()
		return nil, nil, errClosed
	}
	if e, ok := c.m[query]; ok { // prepared meanwhile by another List
		_ = st.Close()
		st, release := c.use(e)
		return st, release, nil
	}
	if c.m == nil {
		c.m = make(map[string]*cachedStmt)
	}
	if len(c.m) >= maxListStmts {
		var oldest string
		for q, e := range c.m {
			if oldest == "" || e.used < c.m[oldest].used {
				oldest = q
			}
		}
		e := c.m[oldest]
		delete(c.m, oldest)
		e.dropped = true
		if e.users == 0 {
			_ = e.stmt.Close()
		}
	}
	e := &cachedStmt{stmt: st}
	c.m[query] = e
	s, release := c.use(e)
	return s, release, nil
}

// use marks e in use; c.mu is held.
func (c *stmtCache) use(e *cachedStmt) (*sql.Stmt, func()) {
	c.tick++
	e.used = c.tick
	e.users++
	return e.stmt, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e.users--; e.users == 0 && e.dropped {
			_ = e.stmt.Close()
		}
	}
}

// close closes every statement not in use, and the others as their Lists
// end; stmt fails from then on.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var err error
	for _, e := range c.m {
		e.dropped = true
		if e.users == 0 {
			err = errors.Join(err, e.stmt.Close())
		}
	}
	c.m = nil
	return err
}
