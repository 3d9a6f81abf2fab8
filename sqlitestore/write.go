package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patkit/patkit"
)

// Every write of a Store (Create, Revoke, Rotate, SetLastUsed and the
// KeyStore methods) is committed by one goroutine at a time, which commits
// the writes queued at that moment together, in one transaction: group
// commit. A durable commit costs a wait for the disk, and one wait then
// serves all the writers that queued during the previous one. Each write
// runs inside a SAVEPOINT of its own, so that a write that fails (a
// duplicate digest, a missing token) is rolled back alone and fails only
// its caller; the others commit, and every caller is answered once the
// transaction has committed, with its own result.
//
// A write that finds no commit in progress is committed by its caller's
// goroutine, with whatever has queued meanwhile; writes that queue while a
// commit is in progress are committed by the writer goroutine, which the
// committing caller hands them to. A lone writer so commits on its own
// goroutine, with no hand-over to another goroutine and back: on a loaded
// 2-vCPU machine each hand-over cost a wake-up of a sleeping thread.
//
// The writer goroutine is started by the first hand-over, not by New or
// Open, and stopped by Close, which waits for the writes already queued
// to commit.

// maxBatch bounds the writes committed in one transaction.
const maxBatch = 128

// writeOp is one write, queued, then run in a batch.
type writeOp struct {
	ctx     context.Context // the caller's: checked before running, never interrupts a statement
	name    string          // the operation, for errors
	revokes bool            // it may revoke tokens: Watch is woken once it commits
	single  bool            // run runs one statement, through writeTx.exec, and nothing else
	run     func(tx *writeTx) (int64, error)

	state atomic.Int32 // opQueued, then opTaken by the committer or opCanceled by the caller
	id    int64
	err   error
	done  chan struct{} // closed once id and err are final
}

const (
	opQueued int32 = iota
	opTaken
	opCanceled
)

func (o *writeOp) finish(id int64, err error) {
	o.id, o.err = id, err
	close(o.done)
}

// writer is the queue of a Store's writes and the state of their
// committing.
type writer struct {
	mu      sync.Mutex
	queue   []*writeOp
	busy    bool // a goroutine is committing: it alone takes from the queue, until it finds it empty
	running bool // the writer goroutine was started
	closed  bool // no more writes are accepted

	sincePrune int64 // revocations committed since the log was last pruned; the committer's
	sinceNames int64 // tokens inserted since the names were last indexed; the committer's

	wake   chan struct{} // capacity 1: the writer goroutine is handed the queue; closed by stopWriter
	idle   chan struct{} // closed once closed is set and nothing commits
	exited chan struct{} // closed when the writer goroutine returns
}

func newWriter() writer {
	return writer{wake: make(chan struct{}, 1), idle: make(chan struct{}), exited: make(chan struct{})}
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// write queues run as the operation name, waits until it has committed
// (or failed) and returns its result. If ctx ends while the write is still
// queued, it is dropped and write returns ctx.Err() at once; once a
// committer has taken it, write waits for its outcome, which is then
// final: an interrupted statement would roll back every write of the
// batch.
func (s *Store) write(ctx context.Context, name string, run func(tx *writeTx) (int64, error)) (int64, error) {
	return s.submit(ctx, &writeOp{ctx: ctx, name: name, run: run})
}

// writeRevoking is write for a write that may revoke tokens.
func (s *Store) writeRevoking(ctx context.Context, name string, run func(tx *writeTx) (int64, error)) (int64, error) {
	return s.submit(ctx, &writeOp{ctx: ctx, name: name, run: run, revokes: true})
}

// writeStatement is write for a run that runs one statement, through
// writeTx.exec, and nothing else: alone in its batch, it runs without a
// transaction (see runStatement).
func (s *Store) writeStatement(ctx context.Context, name string, run func(tx *writeTx) (int64, error)) (int64, error) {
	return s.submit(ctx, &writeOp{ctx: ctx, name: name, run: run, single: true})
}

func (s *Store) submit(ctx context.Context, o *writeOp) (int64, error) {
	name := o.name
	if err := s.w.check(ctx); err != nil {
		return 0, wrap(name, err)
	}
	o.done = make(chan struct{})
	w := &s.wr
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return 0, wrap(name, errClosed)
	}
	w.queue = append(w.queue, o)
	if !w.busy {
		// Nothing commits: this goroutine does, starting with o, the
		// first in the queue.
		w.busy = true
		w.mu.Unlock()
		s.commit(w.take())
		if w.handOver() {
			s.startWriter()
		}
		<-o.done
		return o.id, o.err
	}
	w.mu.Unlock()

	select {
	case <-o.done:
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCanceled) {
			return 0, wrap(name, ctx.Err())
		}
		<-o.done
	}
	return o.id, o.err
}

// startWriter wakes the writer goroutine, which holds busy and commits
// the queue, starting it first if it is not running.
func (s *Store) startWriter() {
	w := &s.wr
	w.mu.Lock()
	if !w.running {
		w.running = true
		go s.writeLoop()
	}
	w.mu.Unlock()
	w.signal()
}

// stopWriter refuses further writes, lets what is queued commit and waits
// for the writer goroutine, if it was started, to return.
func (s *Store) stopWriter() {
	w := &s.wr
	w.mu.Lock()
	w.closed = true
	if !w.busy {
		close(w.idle)
	}
	w.mu.Unlock()
	<-w.idle
	// Nothing commits, nor can again: nothing hands the writer goroutine
	// the queue any more.
	w.mu.Lock()
	running := w.running
	w.mu.Unlock()
	if running {
		close(w.wake)
		<-w.exited
	}
}

// writeLoop is the writer goroutine: it commits the queue each time it is
// handed it, until stopWriter closes wake.
func (s *Store) writeLoop() {
	w := &s.wr
	defer close(w.exited)
	for range w.wake {
		for batch := w.take(); batch != nil; batch = w.take() {
			s.commit(batch)
		}
	}
}

// commit commits batch, the pruning of the revocation log with it when it
// is due, and then again alone each write of it that a broken
// transaction returned.
func (s *Store) commit(batch []*writeOp) {
	if s.wr.sincePrune >= s.pruneEvery {
		s.wr.sincePrune = 0
		batch = append(batch, s.pruneOp())
	}
	if s.wr.sinceNames >= s.namesEvery {
		s.wr.sinceNames = 0
		batch = append(batch, s.indexNamesOp())
	}
	for _, o := range s.runBatch(batch) {
		s.runBatch([]*writeOp{o}) // alone, it gets its own error
	}
}

// take returns up to maxBatch queued writes, those their callers have not
// given up, or, when none is queued, nil, once it has given up busy. Only
// the goroutine that holds busy calls it.
func (w *writer) take() []*writeOp {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n := min(len(w.queue), maxBatch); n > 0; n = min(len(w.queue), maxBatch) {
		batch := make([]*writeOp, 0, n)
		for _, o := range w.queue[:n] {
			if o.state.CompareAndSwap(opQueued, opTaken) {
				batch = append(batch, o)
			}
		}
		rest := copy(w.queue, w.queue[n:])
		clear(w.queue[rest:])
		w.queue = w.queue[:rest]
		if len(batch) > 0 {
			return batch
		}
	}
	w.release()
	return nil
}

// handOver ends a caller's commit: it reports whether writes have queued
// meanwhile, which the writer goroutine must then commit (busy stays
// held for it), or gives up busy.
func (w *writer) handOver() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		return true
	}
	w.release()
	return false
}

// release gives up busy; w.mu is held.
func (w *writer) release() {
	w.busy = false
	if w.closed {
		close(w.idle)
	}
}

// writeTx is the transaction of a batch.
type writeTx struct {
	s     *Store
	tx    *sql.Tx                 // nil for a single write alone: its statement is its transaction
	stmts map[*lazyStmt]*sql.Stmt // bound to tx
	alone bool                    // the batch has one write: it runs without a savepoint
}

// bg is the context of every statement of a batch: it is never canceled,
// because interrupting a write inside a transaction rolls the whole
// transaction back, and with it the other callers' writes.
var bg = context.Background()

// exec runs the prepared statement l in the transaction.
func (tx *writeTx) exec(l *lazyStmt, args ...any) (sql.Result, error) {
	if tx.tx == nil {
		return l.stmt.Load().ExecContext(bg, args...)
	}
	st, ok := tx.stmts[l]
	if !ok {
		st = tx.tx.StmtContext(bg, l.stmt.Load())
		tx.stmts[l] = st
	}
	return st.ExecContext(bg, args...)
}

// runBatch runs ops in one transaction and answers them, except those it
// returns: the transaction broke (SQLite rolled it back) while they were
// in it, for a reason that may be theirs, and each must run again alone.
func (s *Store) runBatch(ops []*writeOp) (again []*writeOp) {
	if err := s.prepareWrites(); err != nil {
		for _, o := range ops {
			o.finish(0, wrap(o.name, err))
		}
		return nil
	}
	if len(ops) == 1 && ops[0].single {
		s.runStatement(ops[0])
		return nil
	}
	sqlTx, err := s.w.db.BeginTx(bg, nil)
	if err != nil {
		for _, o := range ops {
			o.finish(0, wrap(o.name+": begin", err))
		}
		return nil
	}
	tx := &writeTx{s: s, tx: sqlTx, stmts: make(map[*lazyStmt]*sql.Stmt), alone: len(ops) == 1}
	ran := make([]*writeOp, 0, len(ops)+1)
	for i, o := range ops {
		if err := o.ctx.Err(); err != nil {
			o.finish(0, wrap(o.name, err)) // it ran nothing
			continue
		}
		id, err, broken := tx.runOp(o)
		if broken {
			_ = sqlTx.Rollback()
			if len(ops) == 1 {
				o.finish(0, err)
				return nil
			}
			return append(ran, ops[i:]...)
		}
		o.id, o.err = id, err
		ran = append(ran, o)
	}
	if err := sqlTx.Commit(); err != nil {
		for _, o := range ran {
			o.finish(0, wrap(o.name+": commit", err))
		}
		return nil
	}
	revoked := int64(0)
	for _, o := range ran {
		if o.revokes && o.err == nil {
			revoked++
		}
		o.finish(o.id, o.err)
	}
	if revoked > 0 {
		s.wr.sincePrune += revoked
		s.notifyRevoked()
	}
	return nil
}

// runStatement runs o, a single write alone in its batch, without a
// transaction: SQLite makes its statement a transaction of its own,
// committed as it ends, with no BEGIN and COMMIT to run and no statement
// journal to keep (within a transaction, a statement that may fail
// halfway copies every page it changes first, to undo itself alone).
func (s *Store) runStatement(o *writeOp) {
	if err := o.ctx.Err(); err != nil {
		o.finish(0, wrap(o.name, err)) // it ran nothing
		return
	}
	id, err := o.run(&writeTx{s: s, alone: true})
	o.finish(id, err)
}

// runOp runs o inside a savepoint, released if o succeeds and rolled back
// if it fails. broken reports that the transaction is no longer usable
// (SQLite rolls a transaction back on some I/O errors): err is then the
// error that broke it.
func (tx *writeTx) runOp(o *writeOp) (id int64, err error, broken bool) {
	if tx.alone {
		// The transaction is o's alone: rolling it back undoes o and
		// nothing else, and no savepoint has to journal the pages o
		// changes.
		id, err = o.run(tx)
		return id, err, err != nil
	}
	if _, err := tx.tx.ExecContext(bg, "SAVEPOINT write"); err != nil {
		return 0, wrap(o.name, err), true
	}
	id, err = o.run(tx)
	if err == nil {
		if _, err := tx.tx.ExecContext(bg, "RELEASE write"); err != nil {
			return 0, wrap(o.name, err), true
		}
		return id, nil, false
	}
	if _, rerr := tx.tx.ExecContext(bg, "ROLLBACK TO write"); rerr != nil {
		return 0, err, true
	}
	if _, rerr := tx.tx.ExecContext(bg, "RELEASE write"); rerr != nil {
		return 0, err, true
	}
	return 0, err, false
}

// prepareWrites prepares the write statements that are not yet, outside
// any transaction: the in-memory database of Open has one connection,
// which the batch's transaction holds.
func (s *Store) prepareWrites() error {
	for _, l := range s.writeStmts() {
		if err := l.prepare(bg, s.w.db); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) writeStmts() []*lazyStmt {
	return []*lazyStmt{&s.insertStmt, &s.revokeStmt, &s.revokeIfValidStmt, &s.setLastUsedStmt, &s.endGraceStmt}
}

// Create saves t and sets t.ID. A duplicate Digest returns an error wrapping
// patkit.ErrConflict and saves nothing.
func (s *Store) Create(ctx context.Context, t *patkit.Token) error {
	const name = "create token"
	args, err := insertArgs(t)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", name, err)
	}
	id, err := s.writeStatement(ctx, name, func(tx *writeTx) (int64, error) { return tx.insert(args, name) })
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

// insertArgs returns the arguments of the insert statement for t.
func insertArgs(t *patkit.Token) ([]any, error) {
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return nil, fmt.Errorf("encode scopes: %w", err)
	}
	ips, err := json.Marshal(nonNil(t.LastUsedIPs))
	if err != nil {
		return nil, fmt.Errorf("encode last used IPs: %w", err)
	}
	digest := t.Digest
	if digest == nil {
		digest = []byte{}
	}
	return []any{
		t.UserID, t.Name, strings.ToLower(t.Name), t.Description, string(scopes), t.Impersonation,
		nullString(string(t.ResourceType)), t.ResourceID, int64(t.AccessLevel),
		t.CreatedAt.UnixMicro(), nullTime(t.ExpiresAt), t.Revoked, nullTime(t.LastUsedAt),
		string(ips), nullInt(t.PreviousID), nullTime(t.RevokedAt), t.Rotated, encodeCIDRs(t.AllowedCIDRs), digest,
		int64(t.Notices.Last()),
		nullTime(t.Notices.SixtyDays), nullTime(t.Notices.ThirtyDays), nullTime(t.Notices.SevenDays),
		nullTime(t.Notices.Expired),
	}, nil
}

// insert saves a token and returns its new ID; name names the operation in
// errors.
func (tx *writeTx) insert(args []any, name string) (int64, error) {
	res, err := tx.exec(&tx.s.insertStmt, args...)
	if err != nil {
		if isUnique(err) {
			return 0, fmt.Errorf("sqlitestore: %s: digest exists: %w", name, patkit.ErrConflict)
		}
		return 0, wrap(name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, wrap(name+": read id", err)
	}
	tx.s.wr.sinceNames++
	return id, nil
}

// Revoke marks the token revoked at the time at and clears rotated on it
// and on its rotated-out ancestors, in one write. Revoking a revoked token
// keeps its revoked_at and returns nil; a missing token returns an error
// wrapping patkit.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id int64, at time.Time) error {
	name := fmt.Sprintf("revoke token %d", id)
	_, err := s.writeRevoking(ctx, name, func(tx *writeTx) (int64, error) {
		// SQLite counts the rows the WHERE clause matches, changed or not.
		res, err := tx.exec(&tx.s.revokeStmt, id, at.UnixMicro())
		if err := mustAffect(res, err, name); err != nil {
			return 0, err
		}
		if _, err := tx.exec(&tx.s.endGraceStmt, id); err != nil {
			return 0, wrap(name, err)
		}
		return 0, nil
	})
	return err
}

// endGraceQuery is the statement that clears rotated on the ancestors of
// the token ?1: its predecessor, and further predecessors for as long as
// each is rotated, walked towards smaller IDs only (a cycle edited in by
// hand ends the walk).
func endGraceQuery(table string) string {
	return `WITH RECURSIVE up(id) AS (
			SELECT previous_id FROM ` + table + ` WHERE id = ?1 AND previous_id < ?1
			UNION ALL
			SELECT p.previous_id FROM ` + table + ` p JOIN up ON p.id = up.id
			WHERE p.rotated <> 0 AND p.previous_id < p.id
		)
		UPDATE ` + table + ` SET rotated = 0 WHERE id IN (SELECT id FROM up) AND rotated <> 0`
}

// Rotate revokes the token oldID at next.CreatedAt, marking it rotated,
// and creates next, setting next.ID, in one transaction: either both
// happen or neither. It returns an error wrapping
// patkit.ErrNotFound if oldID does not exist, patkit.ErrTokenRevoked if it
// is already revoked, and patkit.ErrConflict if next.Digest exists. Of
// several concurrent rotations of one token, through any number of Stores
// on the database, exactly one succeeds.
func (s *Store) Rotate(ctx context.Context, oldID int64, next *patkit.Token) error {
	name := fmt.Sprintf("rotate token %d", oldID)
	args, err := insertArgs(next)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", name, err)
	}
	id, err := s.writeRevoking(ctx, name, func(tx *writeTx) (int64, error) {
		// The conditional UPDATE decides the race, under SQLite's write
		// lock: one rotation finds the token unrevoked.
		res, err := tx.exec(&tx.s.revokeIfValidStmt, oldID, next.CreatedAt.UnixMicro())
		if err != nil {
			return 0, wrap(name, err)
		}
		if ok, err := affected(res); err != nil {
			return 0, wrap(name, err)
		} else if !ok {
			var revoked bool
			switch err := tx.tx.QueryRowContext(bg, tx.s.q.revokedOf, oldID).Scan(&revoked); {
			case errors.Is(err, sql.ErrNoRows):
				return 0, fmt.Errorf("sqlitestore: %s: %w", name, patkit.ErrNotFound)
			case err != nil:
				return 0, wrap(name, err)
			}
			return 0, fmt.Errorf("sqlitestore: %s: %w", name, patkit.ErrTokenRevoked)
		}
		// A refused insert rolls the revocation back with it: the
		// savepoint of the write.
		return tx.insert(args, name+": create token")
	})
	if err != nil {
		return err
	}
	next.ID = id
	return nil
}

// SetLastUsed sets the token's last use time (NULL for the zero Time) and
// replaces its list of client addresses. A missing token returns an error
// wrapping patkit.ErrNotFound.
func (s *Store) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	name := fmt.Sprintf("set last used of token %d", id)
	b, err := json.Marshal(nonNil(ips))
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: encode last used IPs: %w", name, err)
	}
	_, err = s.writeStatement(ctx, name, func(tx *writeTx) (int64, error) {
		res, err := tx.exec(&tx.s.setLastUsedStmt, nullTime(at), string(b), id)
		return 0, mustAffect(res, err, name)
	})
	return err
}

// affected reports whether the statement changed (or, for an UPDATE,
// matched) a row.
func affected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// mustAffect turns the result of a statement that must match a row into
// an error: the statement's, or patkit.ErrNotFound if it matched none.
func mustAffect(res sql.Result, err error, name string) error {
	if err != nil {
		return wrap(name, err)
	}
	ok, err := affected(res)
	if err != nil {
		return wrap(name, err)
	}
	if !ok {
		return fmt.Errorf("sqlitestore: %s: %w", name, patkit.ErrNotFound)
	}
	return nil
}
