// Package sqlitestore is a [patkit.Store] on SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo). It is patkit's embedded default: one
// file holds every token.
//
// # Opening and closing
//
// Every patkit store has one lifecycle. [New] wraps a *sql.DB that the
// caller opened with the driver name "sqlite", does no I/O and leaves the
// database open on [Store.Close]; [Store.Migrate] brings its schema up to
// date. [Open] is New and Migrate in one call, on a database file that it
// opens and owns: Close closes it. After Close every method returns an
// error wrapping [patkit.ErrUnavailable], whoever owns the database. Open
// connects with the DSN that [DSN] returns:
//
//	file:<path>?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)
//	    &_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate
//
// WAL lets reads proceed while a write is in progress. synchronous=FULL
// makes every acknowledged write durable: a commit returns once the
// write-ahead log is on the disk, so a created or revoked token survives a
// power failure or an operating system crash, not only the application
// crashing. [Options].RelaxedDurability trades that for cheaper commits
// (synchronous=NORMAL, which in WAL mode may lose the last acknowledged
// transactions on a power failure, never consistency). busy_timeout
// makes a connection wait up to 10 s for another's write lock, and
// _txlock=immediate makes every write transaction take that lock at BEGIN,
// so concurrent writers wait rather than fail with SQLITE_BUSY when a read
// lock would have to be upgraded.
//
// A database file that Open creates is created with mode 0600, whatever
// the umask, before SQLite opens it, and SQLite gives the -wal and -shm
// files beside it the same mode: they hold token digests, readable by the
// file's owner only. An existing file keeps its mode.
//
// # Concurrency
//
// A Store is safe for concurrent use. Open makes two pools on the file: a
// single connection for writes and up to max(4, GOMAXPROCS) read-only
// connections, which on 64-bit platforms map the file into memory
// (PRAGMA mmap_size, up to about 2 GiB), so that a lookup among millions
// of tokens reads the pages the operating system caches rather than
// copying them into each connection's small page cache. Several Stores, or processes, may open the same file: their
// writes serialize on SQLite's lock under busy_timeout. [Store.Rotate]
// revokes the old token with a conditional UPDATE inside its transaction,
// so of concurrent rotations of one token exactly one succeeds and the
// others get [patkit.ErrTokenRevoked]. [Store.List] reads its page and its
// count in one read transaction, a consistent snapshot.
//
// # Group commit
//
// Every write of a Store (Create, Revoke, Rotate, SetLastUsed and the
// KeyStore methods) is queued to one writer goroutine, which commits the
// writes queued at that moment together, in one transaction, so that one
// wait for the disk serves all of them: while a commit waits, the next
// writes queue for the one after. Each write runs inside a SAVEPOINT of
// its own, so that one that fails (a duplicate digest, a missing token) is
// rolled back alone and fails only its caller; every caller is answered
// once the transaction has committed, with its own result, and if the
// commit fails, every write of it fails and none is made. A write whose
// context ends while it is queued is dropped, and its caller gets the
// context's error at once; once the writer has taken it, the caller waits
// for its outcome (a statement is never interrupted: SQLite would roll
// back the whole transaction).
//
// The writer goroutine is started by the Store's first write, not by New
// or Open, and stopped by [Store.Close], which refuses new writes, waits
// for those already queued to commit, and returns once the goroutine has
// ended. Measured on a 2-vCPU virtual machine with a virtio disk (one
// fsync per commit; BenchmarkDurableCreate and its neighbours, three runs),
// durable creates went from about 600/s, whether 1 or 16 goroutines
// wrote, to 1,600 to 2,600/s for one writer and 7,200 to 8,200/s for 16;
// revocations to 2,200 to 4,100/s and 15,000 to 21,000/s.
//
// # Revocations across processes
//
// A Store is a [patkit.Watcher]: run [patkit.Service.Watch] in every
// process that shares a file, and a token revoked or rotated through any
// of them leaves the others' authentication caches within milliseconds,
// not at the end of [patkit.Options].CacheTTL. A trigger records each
// revocation in the table patkit_revocations, in the transaction that
// revokes; [Store.Watch] asks SQLite every 10 ms, on a connection of its
// own, whether another connection has committed (PRAGMA data_version: no
// file is read), and then reads the new revocations. Measured on a 2-vCPU
// virtual machine, from the start of RevokeToken in one Service (its
// durable commit included) to another Service on the file refusing the
// token it had cached, revoking at random moments of the 10 ms cycle
// (BenchmarkRevocationVisibility, two runs of 200 trials, the watching
// side polling every 200 µs): two Stores in one process, p50 5.7 to 6.0 ms
// and p99 12.6 ms; two processes, p50 5.7 to 6.3 ms and p99 12.7 to
// 13.2 ms; never more than 13.4 ms. That is well within the 100 ms patkit
// aims for.
// While nothing is revoked, Watch costs one 13 µs look every 10 ms (0.13%
// of a core, BenchmarkWatchPoll). Without Watch the bound is CacheTTL. If
// the feed's reads fail, Watch calls stale at once and again once it has
// reconnected, each emptying the cache, so a revocation made meanwhile
// takes effect at the reconnection at the latest, and within CacheTTL in
// any case. Within one Service revocation is immediate, watched or not.
//
// # Schema and migrations
//
// The schema is created and upgraded by versioned SQL migrations embedded
// in the package (migrations/NNNN_name.sql). [Store.Migrate] (and so Open)
// applies, in one EXCLUSIVE transaction, those not yet recorded in the
// table patkit_migrations, so migrating again applies nothing, and
// concurrent Migrates of a new file, from any number of Stores or
// processes, create it once: each waits up to 10 seconds for SQLite's lock
// whatever the DSN's busy_timeout. A database that records a migration
// the package does not have (a newer release migrated it) is refused.
//
// Tokens live in one table, tokens, with [Options.TablePrefix] prepended to
// every table and index name. Times are stored as integer Unix
// microseconds, so they keep microsecond precision and are returned in
// UTC; a never expiring or never used token stores NULL. Scopes and
// last-used addresses are JSON arrays. The digest is unique, and indexes
// serve lookups by owner, resource and previous token and each list order.
//
// The table patkit_meta keeps values about the database as a whole, by
// name: the key check value of [patkit.KeyStore], so that a Service
// started with the wrong instance key refuses to work
// ([patkit.ErrKeyMismatch]) rather than answer every token 401, and the
// highest seq pruned from patkit_revocations, the log [Store.Watch] reads,
// which keeps the newest 10,000 revocations (a feed that falls further
// behind calls stale).
//
// # Counting
//
// [Store.List] returns, with its page, the number of matches: exact up to
// [patkit.MaxCount], and MaxCount+1 for any number above (the Service
// reports -1, and the API omits X-Total). A query whose filters do not
// depend on time, that is filters only on the owner (UserID), the project
// or group (ResourceType and ResourceID), Impersonation and Revoked,
// whatever its sort, is counted exactly and in constant time from the
// table token_counts: one row for all tokens, one per user and one per
// project or group, each with four counters, impersonation token or not
// by revoked or not; the count adds up the counters the query keeps of
// one row. Any other query (a state, a time bound, a search, a previous
// token, or an owner together with a resource) counts its matching
// tokens, and stops after MaxCount+1 of them.
//
// Triggers on tokens keep the counters, in the statement that changes a
// token and so in its transaction, whoever changes it: the Store's Create,
// Revoke and Rotate, and the host's own INSERT, UPDATE and DELETE. A write
// rolled back (a failed write in its savepoint, the host's ROLLBACK) rolls
// its counts back with it. An UPDATE that leaves a token's owner,
// resource, impersonation and revocation as they were (SetLastUsed,
// revoking a revoked token) fires none of them. A new token adds to two
// or three counter rows (all, its owner, its resource), a revocation
// changes the same rows. The migration that created the table counted the
// tokens already there, in the same transaction as it created the
// triggers.
//
// Measured on a loaded 2-vCPU virtual machine: the count of all of
// 1,000,000 tokens takes 25 µs instead of 0.4 to 0.6 ms for the walk of
// 10,001 rows, and a List of the first page 0.11 to 0.17 ms. Durable
// writes kept their rates within the noise of three runs each
// (BenchmarkDurableCreate, 1 and 16 writers: 1,800 to 4,000/s and 10,600
// to 18,000/s, against 1,800 to 2,300/s and 9,800 to 11,700/s without
// counters; BenchmarkDurableRevoke: 3,400 to 6,100/s and 7,400 to
// 24,500/s, against 3,000 to 6,600/s and 12,000 to 30,800/s). Where the
// disk does not set the pace, the triggers show: relaxed revocations from
// 16 writers went from 48,000 to 100,000/s to 34,000 to 42,000/s, about
// 10 µs more each, and benchtable's bulk load of 1,000,000 tokens took 28
// to 33 s instead of 19 to 25 s.
//
// # Errors
//
// Every error names the operation ("sqlitestore: rotate token 7: ...") and
// wraps the driver's error, if any. Missing tokens give errors wrapping
// [patkit.ErrNotFound], duplicate digests [patkit.ErrConflict], the
// rotation of a revoked token [patkit.ErrTokenRevoked].
//
// A method called with a done context returns an error wrapping
// ctx.Err() (context.Canceled or context.DeadlineExceeded), never
// ErrUnavailable, and changes nothing.
//
// [patkit.ErrUnavailable] means that the database cannot be reached for
// now, and that the same call may succeed later: the Store is closed (or
// the *sql.DB given to New is); the file cannot be opened
// (SQLITE_CANTOPEN: a missing directory, no permission); reading or
// writing it failed (SQLITE_IOERR) or the disk is full (SQLITE_FULL); or
// another connection, of this process or another, held the write lock for
// longer than the busy timeout (SQLITE_BUSY, after 10 s with the DSN of
// Open). That last one is a judgment call: the database is there, but for
// the caller it is as unreachable as a PostgreSQL server that does not
// answer, and as transient, so patkit's HTTP layer answers 503 rather
// than 500.
//
// Anything else (a constraint, a database never migrated, a corrupt file,
// a schema newer than the package) is a fault, wrapped as it is. The
// Store never logs.
package sqlitestore
