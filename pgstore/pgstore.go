package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/internal/sqlq"
)

// Options configures a Store. A nil *Options means the defaults.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables, "public" when
	// empty. Migrate creates it if it does not exist. Giving patkit a schema
	// of its own ("patkit") keeps its tables apart from the host's.
	Schema string

	// ListenDSN, if set, is where Watch opens its listening connection,
	// instead of using the pool's configuration: a DSN that reaches the
	// primary in a session of its own, for a pool that goes through
	// PgBouncer in transaction mode, which does not deliver notifications.
	ListenDSN string

	// NoSearchIndex stops Migrate from creating the trigram index of token
	// names, and the pg_trgm extension it needs, which it otherwise
	// attempts after the migrations (see the package documentation). Set
	// it where creating extensions, or building an index that holds
	// writes for a few seconds on a large existing table, is a DBA's
	// business: the DBA then creates both with the SQL of the package
	// documentation (CREATE INDEX CONCURRENTLY), or decides against it.
	// Search works either way; without the index, a search by words
	// across all tokens reads every name.
	NoSearchIndex bool
}

// Store is a patkit.Store on PostgreSQL. It is safe for concurrent use by
// many goroutines and by many processes sharing one database.
type Store struct {
	pool          *pool
	owned         bool // Close closes pool
	schema        string
	channel       string          // the NOTIFY channel of revocations in schema
	listenCfg     *pgx.ConnConfig // Options.ListenDSN parsed, or nil for the pool's
	noSearchIndex bool            // Options.NoSearchIndex
	q             queries
	bounds        sqlq.Budgets // of List's BoundPlans: the defaults but in tests
	wordsEvery    int64        // a create whose ID is a multiple counts the new words (catchUpWords)

	closeOnce sync.Once
	closed    chan struct{} // closed by Close; ends Watch
	timings   watchTimings
	listener  atomic.Uint32 // backend PID of Watch's connection while it listens, for tests
}

var _ patkit.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string, as pgxpool.ParseConfig accepts, including
// pool_max_conns and the other pool_ parameters) and returns a Store
// owning the pool, after New and Migrate: Close closes the pool, as Open
// does itself if Migrate fails.
//
// Open fails if dsn does not parse, or with an error wrapping
// patkit.ErrUnavailable if the database cannot be reached.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	s, err := New(p, opts)
	if err != nil {
		p.Close()
		return nil, err
	}
	s.owned = true
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store using the caller's pool, which Close leaves open. New
// does no I/O and does not migrate: call Migrate, or apply MigrationSQL with
// the host's own migration tooling, before using the Store.
func New(p *pgxpool.Pool, opts *Options) (*Store, error) {
	if p == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	schema := "public"
	if opts != nil && opts.Schema != "" {
		schema = opts.Schema
	}
	s := &Store{schema: schema, channel: channelName(schema), q: newQueries(schema),
		closed: make(chan struct{}), timings: defaultWatchTimings, wordsEvery: wordsEvery}
	s.pool = &pool{p: p, closed: s.closed}
	if opts != nil {
		s.noSearchIndex = opts.NoSearchIndex
	}
	if opts != nil && opts.ListenDSN != "" {
		cfg, err := pgx.ParseConfig(opts.ListenDSN)
		if err != nil {
			return nil, fmt.Errorf("pgstore: ListenDSN: %w", err)
		}
		s.listenCfg = cfg
	}
	return s, nil
}

// Close releases the Store: it ends Watch and closes the pool if Open
// created it; a pool given to New stays open. Every method called after
// Close returns an error wrapping patkit.ErrUnavailable, whoever owns the
// pool. Close returns nil, also when called again.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.owned {
			s.pool.p.Close()
		}
	})
	return nil
}

// errClosed is the cause of the errors of a closed Store.
var errClosed = errors.New("store closed")

// pool is the Store's way to the database. Every call goes through it, and
// it refuses once ctx is done or the Store is closed, even on a pool that
// the host owns and keeps open.
type pool struct {
	p      *pgxpool.Pool
	closed <-chan struct{} // the Store's
}

func (p *pool) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-p.closed:
		return errClosed
	default:
		return nil
	}
}

func (p *pool) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := p.check(ctx); err != nil {
		return nil, err
	}
	return p.p.Begin(ctx)
}

func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := p.check(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return p.p.Exec(ctx, sql, args...)
}

func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := p.check(ctx); err != nil {
		return failed{err}
	}
	return p.p.QueryRow(ctx, sql, args...)
}

func (p *pool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := p.check(ctx); err != nil {
		return failed{err}
	}
	return p.p.SendBatch(ctx, b)
}

// Config returns a copy of the pool's configuration.
func (p *pool) Config() *pgxpool.Config { return p.p.Config() }

// failed is the row, or the batch, of a call that pool refused.
type failed struct{ err error }

func (f failed) Scan(...any) error                { return f.err }
func (f failed) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failed) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failed) QueryRow() pgx.Row                { return f }
func (f failed) Close() error                     { return f.err }
func (f failed) Tx() pgx.Tx                       { return nil }

// columns lists the tokens columns in the order scanToken reads them.
const columns = lookupColumns + `, digest`

// lookupColumns is columns less the digest, which GetByDigest is given: 36
// bytes fewer on the wire, and a value fewer to decode, on the path of
// every uncached authentication.
const lookupColumns = `id, user_id, name, description, scopes, impersonation, resource_type,
	resource_id, access_level, created_at, expires_at, revoked, last_used_at,
	last_used_ips, previous_id, revoked_at, rotated, allowed_cidrs, ` + noticeColumns

// noticeColumns are the times of the expiry notices (Token.Notices), in
// the order of the patkit.Notice values.
const noticeColumns = `sixty_days_notification_sent_at, thirty_days_notification_sent_at,
	seven_days_notification_sent_at, after_expiry_notification_sent_at`

// queries holds the SQL of a Store, its table names qualified once.
type queries struct {
	tokens   string // the qualified table names
	settings string
	// tables are those List's count and bounds read: the counters, the
	// zones (migration 0015), the tokens by the day of their last use
	// (0019) and by word (0020).
	tables       sqlq.Tables
	zonesNamed   string // the zones joined with each zone's least name (0017)
	catchUpWords string // counts the words of the tokens created since the last time (0020)
	insert       string
	get          string
	getByDigest  string
	revoke       string // revokes $1 at $3 and notifies the channel $2 at commit
	rotate       string // insert's, after revoking $24 by rotation and notifying $25
	setLastUsed  string
}

func newQueries(schema string) queries {
	t := pgx.Identifier{schema, "tokens"}.Sanitize()
	zones := pgx.Identifier{schema, "token_zones"}.Sanitize()
	insertColumns := `(user_id, name, description, scopes, impersonation,
			resource_type, resource_id, access_level, created_at, expires_at, revoked,
			last_used_at, last_used_ips, previous_id, revoked_at, rotated, allowed_cidrs, digest, notice, ` + noticeColumns + `)`
	insertValues := `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23`
	q := queries{
		tokens:      t,
		settings:    pgx.Identifier{schema, "settings"}.Sanitize(),
		zonesNamed:  zones + " JOIN " + pgx.Identifier{schema, "token_zone_names"}.Sanitize() + " USING (zone)",
		insert:      `INSERT INTO ` + t + ` ` + insertColumns + ` VALUES (` + insertValues + `) RETURNING id`,
		get:         `SELECT ` + columns + ` FROM ` + t + ` WHERE id = $1`,
		getByDigest: `SELECT ` + lookupColumns + ` FROM ` + t + ` WHERE digest = $1`,
		// One statement, so one transaction: the notification is sent
		// when the UPDATE commits, and only then. The rows returned are
		// the token found, then the ancestors whose grace it ends (up:
		// the predecessor, and further ones while each is rotated, towards
		// smaller IDs only), each notified. A revoked token keeps its
		// revoked_at (SET reads the row as it was).
		revoke: `WITH RECURSIVE up(id) AS (
				SELECT previous_id FROM ` + t + ` WHERE id = $1 AND previous_id < $1
				UNION ALL
				SELECT p.previous_id FROM ` + t + ` p JOIN up ON p.id = up.id
				WHERE p.rotated AND p.previous_id < p.id
			), r AS (
				UPDATE ` + t + ` SET revoked_at = CASE WHEN revoked THEN revoked_at ELSE $3 END,
					revoked = true, rotated = false
				WHERE id = $1 RETURNING id
			), g AS (
				UPDATE ` + t + ` SET rotated = false WHERE id IN (SELECT id FROM up) AND rotated RETURNING id
			)
			SELECT pg_notify($2, r.id::text) FROM r
			UNION ALL SELECT pg_notify($2, g.id::text) FROM g`,
		// One statement, so one transaction, as revoke. The UPDATE
		// revokes the old token only if it is not revoked: of concurrent
		// rotations (or a rotation and a revocation), the later one waits
		// for the row's lock, then finds the row revoked (READ COMMITTED
		// rechecks the condition on the committed row) and changes nothing,
		// so exactly one wins. The new token is inserted only with the
		// revocation; the notification is sent at commit. The row says
		// what happened: the new ID, or NULL and whether the old token
		// existed (in the statement's snapshot: then it was revoked).
		rotate: `WITH r AS (
				UPDATE ` + t + ` SET revoked = true, revoked_at = $9, rotated = true
				WHERE id = $24 AND NOT revoked RETURNING id
			), n AS (
				INSERT INTO ` + t + ` ` + insertColumns + ` SELECT ` + insertValues + ` FROM r RETURNING id
			), notified AS (
				SELECT pg_notify($25, r.id::text) FROM r
			)
			SELECT (SELECT id FROM n), (SELECT count(*) FROM notified),
				EXISTS (SELECT FROM ` + t + ` WHERE id = $24)`,
		setLastUsed: `UPDATE ` + t + ` SET last_used_at = $2, last_used_ips = $3 WHERE id = $1`,
	}
	q.tables = sqlq.Tables{Tokens: t, Counts: pgx.Identifier{schema, "token_counts"}.Sanitize(),
		Expiries: pgx.Identifier{schema, "token_expiry_counts"}.Sanitize(), Zones: zones,
		Uses: pgx.Identifier{schema, "token_use_counts"}.Sanitize(), Words: pgx.Identifier{schema, "token_words"}.Sanitize()}
	q.catchUpWords = "SELECT " + pgx.Identifier{schema, "token_words_catch_up"}.Sanitize() + "()"
	return q
}

// Create saves t and sets t.ID. A digest already stored returns an error
// wrapping patkit.ErrConflict.
func (s *Store) Create(ctx context.Context, t *patkit.Token) error {
	var id int64
	if err := s.pool.QueryRow(ctx, s.q.insert, insertArgs(t)...).Scan(&id); err != nil {
		return wrap("create", err)
	}
	t.ID = id
	s.catchUpWords(ctx, id)
	return nil
}

// wordsEvery is how many token IDs apart the creates are that count the
// words of the names of the tokens created since the last time in
// token_words (migration 0020), which the count of a search of all
// tokens by a word reads: at most about that many tokens, and those
// committed late, go uncounted, which only lowers its bound.
const wordsEvery = 256

// catchUpWords counts the words of the tokens created since the last
// time in token_words (token_words_catch_up, migration 0020), if id, a
// token just created, is a multiple of wordsEvery. It runs after the
// create's commit, in a statement of its own, so that creates do not
// queue on the table's rows; its error is not the create's, and is
// dropped: the count stays exact (it reads the names where the table's
// bound says too little), and the next catch-up counts the same tokens.
func (s *Store) catchUpWords(ctx context.Context, id int64) {
	if id%s.wordsEvery == 0 {
		_, _ = s.pool.Exec(context.WithoutCancel(ctx), s.q.catchUpWords)
	}
}

// insertArgs are the arguments $1 to $23 of the insert of t.
func insertArgs(t *patkit.Token, more ...any) []any {
	scopes := make([]string, len(t.Scopes))
	for i, sc := range t.Scopes {
		scopes[i] = string(sc)
	}
	ips := t.LastUsedIPs
	if ips == nil {
		ips = []string{}
	}
	digest := t.Digest
	if digest == nil {
		digest = []byte{}
	}
	cidrs := make([]string, len(t.AllowedCIDRs))
	for i, p := range t.AllowedCIDRs {
		cidrs[i] = p.String()
	}
	return append([]any{
		t.UserID, t.Name, t.Description, scopes, t.Impersonation,
		string(t.ResourceType), t.ResourceID, int32(t.AccessLevel), t.CreatedAt,
		nullTime(t.ExpiresAt), t.Revoked, nullTime(t.LastUsedAt), ips,
		nullID(t.PreviousID), nullTime(t.RevokedAt), t.Rotated, cidrs, digest, int16(t.Notices.Last()),
		nullTime(t.Notices.SixtyDays), nullTime(t.Notices.ThirtyDays), nullTime(t.Notices.SevenDays),
		nullTime(t.Notices.Expired),
	}, more...)
}

// Get returns the token with the given ID, or an error wrapping
// patkit.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*patkit.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, s.q.get, id))
	if err != nil {
		return nil, wrap("get", err)
	}
	return t, nil
}

// GetByDigest returns the token whose digest equals digest, or an error
// wrapping patkit.ErrNotFound. It is one unique-index lookup.
func (s *Store) GetByDigest(ctx context.Context, digest []byte) (*patkit.Token, error) {
	if digest == nil {
		digest = []byte{}
	}
	t, err := scanRow(s.pool.QueryRow(ctx, s.q.getByDigest, digest), false)
	if err != nil {
		return nil, wrap("get by digest", err)
	}
	// bytea equality is byte for byte: the row's digest is digest.
	if len(digest) > 0 {
		t.Digest = bytes.Clone(digest)
	}
	return t, nil
}

// Revoke marks the token revoked at the time at, clears rotated on it and
// on its rotated-out ancestors and, in the same statement, notifies the
// watchers of the schema of each (see Watch). Revoking a revoked token
// keeps its revoked_at and returns nil (and notifies again); a missing one
// returns an error wrapping patkit.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, s.q.revoke, id, s.channel, at)
	if err != nil {
		return wrap("revoke", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: revoke %d: %w", id, patkit.ErrNotFound)
	}
	return nil
}

// Rotate revokes the token oldID at next.CreatedAt, marking it rotated,
// and creates next, in one statement that revokes oldID only if it is not
// revoked, under its row's lock: of concurrent rotations of one token, from
// any number of goroutines or processes, exactly one succeeds and the
// others return an error wrapping patkit.ErrTokenRevoked. The revocation of
// oldID is notified to the watchers of the schema (see Watch) when the
// statement commits, never if it fails. A missing oldID returns
// patkit.ErrNotFound, an existing next.Digest patkit.ErrConflict; on any
// error nothing changes and next.ID is left alone.
func (s *Store) Rotate(ctx context.Context, oldID int64, next *patkit.Token) error {
	var (
		id       *int64
		notified int64
		found    bool
	)
	err := s.pool.QueryRow(ctx, s.q.rotate, insertArgs(next, oldID, s.channel)...).Scan(&id, &notified, &found)
	switch {
	case err != nil:
		return wrap("rotate", err)
	case id != nil:
		next.ID = *id
		s.catchUpWords(ctx, *id)
		return nil
	case found:
		return fmt.Errorf("pgstore: rotate %d: %w", oldID, patkit.ErrTokenRevoked)
	}
	return fmt.Errorf("pgstore: rotate %d: %w", oldID, patkit.ErrNotFound)
}

// SetLastUsed records the time and client addresses of the token's last
// use, replacing the stored list. A missing token returns an error wrapping
// patkit.ErrNotFound.
func (s *Store) SetLastUsed(ctx context.Context, id int64, at time.Time, ips []string) error {
	if ips == nil {
		ips = []string{}
	}
	tag, err := s.pool.Exec(ctx, s.q.setLastUsed, id, nullTime(at), ips)
	if err != nil {
		return wrap("set last used", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: set last used %d: %w", id, patkit.ErrNotFound)
	}
	return nil
}

// scanToken reads one row of columns.
func scanToken(row pgx.Row) (*patkit.Token, error) { return scanRow(row, true) }

// scanRow reads one row of columns, or of lookupColumns if withDigest is
// false, and leaves the digest nil.
func scanRow(row pgx.Row, withDigest bool) (*patkit.Token, error) {
	var (
		t                                patkit.Token
		scopes, ips, cidrs               []string
		resourceType                     string
		accessLevel                      int32
		expiresAt, lastUsedAt, revokedAt *time.Time
		previousID                       *int64
		notices                          [4]*time.Time
	)
	dest := []any{&t.ID, &t.UserID, &t.Name, &t.Description, &scopes, &t.Impersonation,
		&resourceType, &t.ResourceID, &accessLevel, &t.CreatedAt, &expiresAt, &t.Revoked,
		&lastUsedAt, &ips, &previousID, &revokedAt, &t.Rotated, &cidrs,
		&notices[0], &notices[1], &notices[2], &notices[3], &t.Digest}
	if !withDigest {
		dest = dest[:len(dest)-1]
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if len(scopes) > 0 {
		t.Scopes = make([]patkit.Scope, len(scopes))
		for i, sc := range scopes {
			t.Scopes[i] = patkit.Scope(sc)
		}
	}
	if len(ips) > 0 {
		t.LastUsedIPs = ips
	}
	if len(t.Digest) == 0 {
		t.Digest = nil
	}
	t.ResourceType = patkit.ResourceType(resourceType)
	t.AccessLevel = patkit.AccessLevel(accessLevel)
	t.CreatedAt = t.CreatedAt.UTC()
	if expiresAt != nil {
		t.ExpiresAt = expiresAt.UTC()
	}
	if lastUsedAt != nil {
		t.LastUsedAt = lastUsedAt.UTC()
	}
	if previousID != nil {
		t.PreviousID = *previousID
	}
	if revokedAt != nil {
		t.RevokedAt = revokedAt.UTC()
	}
	if len(cidrs) > 0 {
		t.AllowedCIDRs = make([]netip.Prefix, len(cidrs))
		for i, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("pgstore: token %d: allowed CIDR %q: %w", t.ID, c, err)
			}
			t.AllowedCIDRs[i] = p
		}
	}
	for i, n := range notices {
		if n != nil {
			t.Notices.Set(patkit.Notice(i+1), n.UTC())
		}
	}
	return &t, nil
}

// nullTime maps the zero Time ("never") to NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullID maps ID 0 ("none") to NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// wrap translates a driver error: no rows becomes patkit.ErrNotFound, a
// unique violation patkit.ErrConflict, and a failure to reach or keep the
// server patkit.ErrUnavailable, each wrapped together with the cause. A
// done context is reported as itself.
func wrap(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgstore: %s: %w", op, patkit.ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return fmt.Errorf("pgstore: %s: %w: %w", op, patkit.ErrConflict, err)
	case unavailable(err):
		return fmt.Errorf("pgstore: %s: %w: %w", op, patkit.ErrUnavailable, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// unavailable reports whether err means that the database could not be
// reached or the connection was lost, rather than that the server refused
// the statement or the caller's context ended.
func unavailable(err error) bool {
	var (
		connErr *pgconn.ConnectError
		pgErr   *pgconn.PgError
	)
	switch {
	case errors.As(err, &connErr):
		// The pool connects under a context of its own, which the
		// caller's end does not cancel (the caller then gets ctx.Err()
		// from the pool): a timeout here is the DSN's connect_timeout.
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // the caller's context ended; the database may be fine
	case errors.Is(err, errClosed),
		pgconn.SafeToRetry(err),
		pgconn.Timeout(err),
		errors.Is(err, pgconn.ErrConnClosed),
		strings.Contains(err.Error(), "closed pool"):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down or starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
			pgErr.Code == "53300"
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) {
		return true // a net.Error: the connection broke
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
