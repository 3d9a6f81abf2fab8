// Package sqlitestore is a [patkit.Store] on SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo). It is patkit's embedded default: one
// file holds every token.
//
// # Opening
//
// [Open] opens (creating it if needed) a database file and owns it; [New]
// wraps a *sql.DB the caller opened with the driver name "sqlite" and leaves
// it open on [Store.Close]. Open connects with the DSN that [DSN] returns:
//
//	file:<path>?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)
//	    &_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate
//
// WAL lets reads proceed while a write is in progress; synchronous=NORMAL
// is durable across application crashes and, in WAL mode, loses at most the
// last transactions on a power failure, never consistency. busy_timeout
// makes a connection wait up to 10 s for another's write lock, and
// _txlock=immediate makes every write transaction take that lock at BEGIN,
// so concurrent writers wait rather than fail with SQLITE_BUSY when a read
// lock would have to be upgraded.
//
// # Concurrency
//
// A Store is safe for concurrent use. Open makes two pools on the file: a
// single connection for writes, on which the Store's writers queue in Go,
// and up to max(4, GOMAXPROCS) read-only connections. Several Stores, or
// processes, may open the same file: their writes serialize on SQLite's
// lock under busy_timeout. [Store.Rotate] revokes the old token with a
// conditional UPDATE inside its transaction, so of concurrent rotations of
// one token exactly one succeeds and the others get
// [patkit.ErrTokenRevoked]. [Store.List] reads its page and its count in one
// read transaction, a consistent snapshot.
//
// SQLite has no notification feed, so the Store is not a [patkit.Watcher]:
// when several processes share one file, a token revoked through one
// process stays in the others' authentication caches until the entry's
// lifetime, [patkit.Options].CacheTTL (10 seconds by default), ends. Lower
// CacheTTL, or set a negative CacheSize to disable the cache, where that
// bound is too long; within one process revocation is immediate.
//
// # Schema and migrations
//
// The schema is created and upgraded by versioned SQL migrations embedded
// in the package (migrations/NNNN_name.sql). Open and New apply, in one
// IMMEDIATE transaction, those not yet recorded in the table
// patkit_migrations, so reopening a database applies nothing, and
// concurrent Opens of a new file create it once. A database whose recorded
// version is newer than the package's is refused.
//
// Tokens live in one table, tokens, with [Options.TablePrefix] prepended to
// every table and index name. Times are stored as integer Unix microseconds,
// so they keep microsecond precision and are returned in UTC; a never
// expiring or never used token stores NULL. Scopes and last-used addresses
// are JSON arrays. The digest is unique, and indexes serve lookups by
// owner, resource and previous token and each list order.
//
// # Errors
//
// Missing tokens give errors wrapping [patkit.ErrNotFound], duplicate
// digests [patkit.ErrConflict]. Other driver errors are returned wrapped
// with context and with [patkit.ErrUnavailable], except that a cancelled or
// expired context is reported as itself. The Store never logs.
package sqlitestore
