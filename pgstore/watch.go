package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
)

var _ patkit.Watcher = (*Store)(nil)

// watchTimings are the timings of Watch, per Store so that a test can
// shorten them.
type watchTimings struct {
	// minBackoff and maxBackoff bound the wait between two attempts to
	// reconnect the listener: minBackoff after a drop, doubling up to
	// maxBackoff while the server stays unreachable.
	minBackoff, maxBackoff time.Duration
	// connectTimeout bounds one attempt to connect and LISTEN, whatever
	// the DSN's connect_timeout, so that a blackholed server is retried.
	connectTimeout time.Duration
	// heartbeat is how long the listener waits for a notification before
	// checking with a ping that its connection is alive: a connection
	// dropped without a TCP reset otherwise looks idle for many minutes.
	heartbeat time.Duration
	// pingTimeout bounds that ping.
	pingTimeout time.Duration
}

var defaultWatchTimings = watchTimings{
	minBackoff:     50 * time.Millisecond,
	maxBackoff:     2 * time.Second,
	connectTimeout: 10 * time.Second,
	heartbeat:      15 * time.Second,
	pingTimeout:    5 * time.Second,
}

// channelName returns the NOTIFY channel of the revocations in schema:
// "patkit_revoked_" and 16 hex digits of the schema name's SHA-256, so
// that two schemas in one database have channels of their own, and any
// schema name gives a valid identifier (31 bytes; the limit is 63).
func channelName(schema string) string {
	h := sha256.Sum256([]byte(schema))
	return "patkit_revoked_" + hex.EncodeToString(h[:8])
}

// Watch implements patkit.Watcher, for Service.Watch: it reports every token
// revoked by Revoke, Rotate or RevokeDescendants through any Store on the
// same schema of the same database, from any process, for as long as ctx
// lives.
//
// They send each token's ID with pg_notify on the schema's channel, in
// the transaction of the revocation, so PostgreSQL delivers it
// when that transaction commits and never for one rolled back. Watch holds
// one connection of its own (opened with Options.ListenDSN if set, else
// with the pool's configuration, including its BeforeConnect and
// AfterConnect hooks; outside the pool and not counted in pool_max_conns),
// LISTENs on the channel, calls
// stale once listening, then revoked(id) for each notification.
//
// If the connection drops, or fails the ping Watch sends after 15 seconds
// without a notification (a connection lost without a TCP reset would
// otherwise look idle), Watch calls stale at once, reconnects with a
// backoff of 50 ms doubling to 2 s while the server stays unreachable,
// LISTENs again and calls stale once more: whatever was cached before or
// during the gap is distrusted. A payload that is not a token ID also calls
// stale. Calls to revoked and stale are never concurrent.
//
// The listener needs a session of its own on the primary: behind PgBouncer
// in transaction mode, or on a hot standby, notifications do not arrive
// (LISTEN fails on a standby, and Watch keeps retrying), and the bound
// falls back to patkit.Options.CacheTTL; see Options.ListenDSN.
//
// Watch returns ctx.Err() when ctx ends, and an error wrapping
// patkit.ErrUnavailable once the Store is closed (at once if it was closed
// before). It never returns because of the database: an unreachable
// server is retried until ctx ends.
func (s *Store) Watch(ctx context.Context, revoked func(id int64), stale func()) error {
	if revoked == nil || stale == nil {
		return errors.New("pgstore: watch: nil callback")
	}
	done := func() error {
		select {
		case <-s.closed:
			return wrap("watch", errClosed)
		default:
			return ctx.Err()
		}
	}
	if err := done(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // Close ends Watch
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	backoff := s.timings.minBackoff
	for {
		conn, err := s.listen(ctx)
		if err == nil {
			s.listener.Store(conn.PgConn().PID())
			stale() // anything cached before LISTEN took effect may be revoked
			backoff = s.timings.minBackoff
			s.receive(ctx, conn, revoked, stale)
			s.listener.Store(0)
			closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = conn.Close(closeCtx)
			cancelClose()
			if ctx.Err() != nil {
				return done()
			}
			stale() // notifications may be lost until we listen again
		}
		if ctx.Err() != nil {
			return done()
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return done()
		case <-t.C:
		}
		backoff = min(2*backoff, s.timings.maxBackoff)
	}
}

// listen opens the listener's connection and LISTENs on the channel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timings.connectTimeout)
	defer cancel()
	cfg := s.pool.Config() // a copy
	cc := cfg.ConnConfig
	if s.listenCfg != nil {
		cfg = &pgxpool.Config{} // no hooks: they are the pool's
		cc = s.listenCfg.Copy()
	}
	if cfg.BeforeConnect != nil {
		if err := cfg.BeforeConnect(ctx, cc); err != nil {
			return nil, fmt.Errorf("pgstore: watch: before connect: %w", err)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, wrap("watch: connect", err)
	}
	if cfg.AfterConnect != nil {
		err = cfg.AfterConnect(ctx, conn)
	}
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize())
	}
	if err != nil {
		closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancelClose()
		_ = conn.Close(closeCtx)
		return nil, wrap("watch: listen", err)
	}
	return conn, nil
}

// receive delivers the notifications of conn until ctx ends or conn fails.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, revoked func(int64), stale func()) {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, s.timings.heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		timedOut := waitCtx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case n != nil:
			if n.Channel != s.channel {
				continue // not ours; cannot happen, as we LISTEN on one channel
			}
			id, perr := strconv.ParseInt(n.Payload, 10, 64)
			if perr != nil {
				stale() // not from pgstore: something may have been missed
				continue
			}
			revoked(id)
		case err != nil && timedOut && !conn.IsClosed():
			// Idle for heartbeat: check that the connection is alive.
			pingCtx, cancel := context.WithTimeout(ctx, s.timings.pingTimeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return
			}
		default:
			return // the connection is lost
		}
	}
}
