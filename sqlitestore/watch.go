package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/patkit/patkit"
)

var _ patkit.Watcher = (*Store)(nil)

const (
	// pollInterval is how often Watch asks SQLite whether another
	// connection has committed.
	pollInterval = 10 * time.Millisecond
	// minBackoff and maxBackoff bound the wait before Watch reconnects
	// after a failed read: minBackoff after the first failure, doubling
	// while the database stays unreachable.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second

	// revocationsKept is how many of the newest revocations the log keeps;
	// pruneEvery is how many revocations a Store commits between two
	// prunings of the log.
	revocationsKept = 10_000
	pruneEvery      = 1_000
)

// metaPruned names, in patkit_meta, the highest seq pruned from the log.
const metaPruned = "revocations_pruned"

// Watch implements patkit.Watcher, for Service.Watch: it reports every token
// revoked by Revoke, Rotate or RevokeDescendants, through any Store or
// process on the same database file (and same TablePrefix), for as long as
// ctx lives, and returns ctx.Err() once ctx is done, or an error wrapping
// patkit.ErrUnavailable once the Store is closed.
//
// A trigger records every revocation in the table patkit_revocations, in
// the transaction that revokes, so a revocation is in the log exactly when
// it is committed (one made by the host's own UPDATE of the tokens table
// too). Watch reads the log on a connection of its own: it asks SQLite
// every 10 ms whether another connection has committed (PRAGMA
// data_version, which reads the shared memory of the write-ahead log and
// no file), and only then reads the revocations newer than the last it
// reported, calling revoked(id) for each. A commit through this Store
// wakes it at once. It calls stale when it starts (after finding its place
// in the log), when a read fails (then again once it has reconnected, with
// a backoff of 50 ms doubling to 2 s while the file is unreachable), and
// when the revocations it had not read yet were pruned from the log: the
// log keeps the newest 10,000, so a reader misses some only if it falls
// that far behind. Calls to revoked and stale are never concurrent, and
// none is made once Watch has returned.
//
// The connection Watch reads on is opened on the file for a Store from
// Open, and closed when Watch returns. A Store from New takes one from the
// caller's pool and holds it while Watch runs (size the pool for it);
// if the pool is limited to one connection, Watch instead reads the log
// through the pool every 10 ms. Watch on Open's in-memory database needs
// no polling: only the Store itself can write it.
//
// Measured between two Stores on one file, in one process and in two, a
// revocation reaches the other's authentication cache in a few
// milliseconds: see the package documentation.
func (s *Store) Watch(ctx context.Context, revoked func(id int64), stale func()) error {
	const name = "watch"
	if err := s.r.check(ctx); err != nil {
		return wrap(name, err)
	}
	wake := s.subscribe()
	defer s.unsubscribe(wake)
	var tick <-chan time.Time
	if !s.memory {
		t := time.NewTicker(pollInterval)
		defer t.Stop()
		tick = t.C
	}

	var f *feed
	defer func() {
		if f != nil {
			f.close()
		}
	}()
	backoff := minBackoff
	for {
		if f == nil {
			var err error
			if f, err = s.openFeed(ctx); err != nil {
				f = nil
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if s.closed.Load() {
					return wrap(name, errClosed)
				}
				t := time.NewTimer(backoff)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-s.closing:
					t.Stop()
					return wrap(name, errClosed)
				case <-t.C:
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			backoff = minBackoff
			stale()
		}

		var err error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return wrap(name, errClosed)
		case <-wake:
		case <-tick:
			var changed bool
			if changed, err = f.changed(ctx); err == nil && !changed {
				continue
			}
		}
		var (
			ids []int64
			gap bool
		)
		if err == nil {
			ids, gap, err = f.read(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.close()
			f = nil
			stale() // the feed is lost: reconnect, then stale again
			continue
		}
		if gap {
			stale()
		}
		for _, id := range ids {
			revoked(id)
		}
	}
}

// subscribe returns a channel that receives a value when this Store
// commits a revocation, until unsubscribe.
func (s *Store) subscribe() chan struct{} {
	c := make(chan struct{}, 1)
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs == nil {
		s.subs = make(map[chan struct{}]struct{})
	}
	s.subs[c] = struct{}{}
	return c
}

func (s *Store) unsubscribe(c chan struct{}) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	delete(s.subs, c)
}

// notifyRevoked wakes the Watch calls on this Store.
func (s *Store) notifyRevoked() {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// feed is Watch's way to the revocation log.
type feed struct {
	s       *Store
	db      *sql.DB   // opened for the feed, closed with it; or nil
	conn    *sql.Conn // the connection it reads on, or nil: through s.r
	ask     *sql.Stmt // PRAGMA data_version, prepared on conn
	version int64     // its result at the last look
	last    int64     // the seq of the last revocation read
}

// openFeed opens a feed placed after the newest revocation of the log.
func (s *Store) openFeed(ctx context.Context) (_ *feed, err error) {
	f := &feed{s: s}
	defer func() {
		if err != nil {
			f.close() // f, not the nil returned
		}
	}()
	switch {
	case s.path != "":
		if f.db, err = sql.Open("sqlite", dsn(s.path, connRead)); err != nil {
			return nil, err
		}
		f.db.SetMaxOpenConns(1)
		if f.conn, err = f.db.Conn(ctx); err != nil {
			return nil, err
		}
	case s.memory, s.r.db.Stats().MaxOpenConnections == 1:
		// Read through the pool: holding its only connection would stop
		// the Store.
	default:
		if f.conn, err = s.r.db.Conn(ctx); err != nil {
			return nil, err
		}
	}
	if f.conn != nil {
		if f.ask, err = f.conn.PrepareContext(ctx, "PRAGMA data_version"); err != nil {
			return nil, err
		}
		// Before the place in the log: a commit after this look is seen
		// at the next one.
		if f.version, err = f.dataVersion(ctx); err != nil {
			return nil, err
		}
	}
	err = f.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT max(
				coalesce((SELECT max(seq) FROM `+s.q.revocations+`), 0),
				coalesce((SELECT value FROM `+s.q.meta+` WHERE name = ?), 0))`, metaPruned).Scan(&f.last)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (f *feed) close() {
	if f.ask != nil {
		f.ask.Close()
	}
	if f.conn != nil {
		f.conn.Close()
	}
	if f.db != nil {
		f.db.Close()
	}
}

func (f *feed) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := f.ask.QueryRowContext(ctx).Scan(&v)
	return v, err
}

// fault returns the error a test injected, if any.
func (f *feed) fault() error {
	if fn := f.s.pollFault.Load(); fn != nil {
		return (*fn)()
	}
	return nil
}

// changed reports whether another connection may have committed since the
// last look: always when the feed has no connection of its own.
func (f *feed) changed(ctx context.Context) (bool, error) {
	if err := f.fault(); err != nil {
		return false, err
	}
	if f.conn == nil {
		return true, nil
	}
	v, err := f.dataVersion(ctx)
	if err != nil {
		return false, err
	}
	if v == f.version {
		return false, nil
	}
	f.version = v
	return true, nil
}

// read returns the IDs of the tokens revoked since the last read, in the
// order of the log, and whether revocations it had not read were pruned
// from it.
func (f *feed) read(ctx context.Context) (ids []int64, gap bool, err error) {
	if err := f.fault(); err != nil {
		return nil, false, err
	}
	last := f.last
	err = f.inTx(ctx, func(tx *sql.Tx) error {
		ids, gap = nil, false
		var pruned int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM `+f.s.q.meta+` WHERE name = ?), 0)`, metaPruned).Scan(&pruned)
		if err != nil {
			return err
		}
		if pruned > last {
			gap, last = true, pruned
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, token_id FROM `+f.s.q.revocations+` WHERE seq > ? ORDER BY seq`, last)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&last, &id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, false, err
	}
	f.last = last
	return ids, gap, nil
}

// inTx runs fn in a read transaction, on the feed's connection or the
// Store's readers: one snapshot.
func (f *feed) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var (
		tx  *sql.Tx
		err error
	)
	opts := &sql.TxOptions{ReadOnly: true}
	if f.conn != nil {
		tx, err = f.conn.BeginTx(ctx, opts)
	} else {
		tx, err = f.s.r.BeginTx(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer tx.Rollback() // read-only: nothing to commit
	return fn(tx)
}

// pruneOp returns the write that deletes the revocations older than the
// newest s.keep, recording in patkit_meta the highest seq it deleted. It
// writes first, as every write of a batch: in a DEFERRED transaction (a
// caller's DSN without _txlock=immediate) a read first could not always
// be upgraded to a write.
func (s *Store) pruneOp() *writeOp {
	const name = "prune revocations"
	return &writeOp{ctx: bg, name: name, done: make(chan struct{}), run: func(tx *writeTx) (int64, error) {
		res, err := tx.tx.ExecContext(bg, `DELETE FROM `+s.q.revocations+`
			WHERE seq <= (SELECT max(seq) FROM `+s.q.revocations+`) - ?`, s.keep)
		if err != nil {
			return 0, wrap(name, err)
		}
		if deleted, err := affected(res); err != nil {
			return 0, wrap(name, err)
		} else if !deleted {
			return 0, nil
		}
		// The newest revocation is never deleted: max(seq) - keep is what
		// was.
		_, err = tx.tx.ExecContext(bg, `INSERT INTO `+s.q.meta+` (name, value)
			SELECT ?, max(seq) - ? FROM `+s.q.revocations+` WHERE true
			ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`, metaPruned, s.keep)
		if err != nil {
			return 0, wrap(name, err)
		}
		return 0, nil
	}}
}
