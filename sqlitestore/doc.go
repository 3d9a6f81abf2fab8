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
//	    &_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)
//	    &_pragma=synchronous(FULL)&_txlock=immediate
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
// copying them into each connection's small page cache. GetByDigest, the
// lookup of every uncached authentication, has up to as many read
// connections of its own, opened alike but driven through SQLite's C API
// (modernc.org/sqlite/lib) rather than database/sql and the driver, which
// cost more than half of the lookup and 70 allocations. Each lookup sees
// every commit made before it by any connection, Store or process: it
// reads in its connection's read transaction only while the WAL index
// header, which every commit rewrites in memory shared by all processes,
// has not changed since that transaction began, and begins a new one
// otherwise (a transaction is kept only while the log is shorter than the
// automatic checkpoint, and for 10 ms on an idle connection, so that
// checkpoints go on). [Store.List] reads on a second such pool, so that
// long lists never hold up authentications: through database/sql, a page
// of 20 cost some 700,000 instructions and 480 allocations, against
// 240,000 and 63 (BenchmarkListFirstPage, TestListAllocations). Stores
// from New, and in-memory ones, read through database/sql. Several
// Stores, or processes, may open the same file: their
// writes serialize on SQLite's lock under busy_timeout. [Store.Rotate]
// revokes the old token with a conditional UPDATE inside its transaction,
// so of concurrent rotations of one token exactly one succeeds and the
// others get [patkit.ErrTokenRevoked]. [Store.List] reads its page and its
// count in one read transaction, a consistent snapshot.
//
// # Group commit
//
// Every write of a Store (Create, Revoke, Rotate, SetLastUsed and the
// KeyStore methods) is committed by one goroutine at a time, which commits
// the writes queued at that moment together, in one transaction, so that
// one wait for the disk serves all of them: while a commit waits, the next
// writes queue for the one after. A write that finds no commit in progress
// is committed by its caller's goroutine; writes that queue meanwhile are
// handed to a writer goroutine, which commits them in turn. Each write
// runs inside a SAVEPOINT of its own, so that one that fails (a duplicate
// digest, a missing token) is rolled back alone and fails only its caller;
// every caller is answered once the transaction has committed, with its
// own result, and if the commit fails, every write of it fails and none is
// made. A write whose context ends while it is queued is dropped, and its
// caller gets the context's error at once; once the writer has taken it,
// the caller waits for its outcome (a statement is never interrupted:
// SQLite would roll back the whole transaction).
//
// The writer goroutine is started by the first writes that queue behind a
// commit, not by New or Open, and stopped by [Store.Close], which refuses
// new writes, waits for those already queued to commit, and returns once
// the goroutine has ended. Measured on a 2-vCPU virtual machine with a
// virtio disk (one fsync per commit; BenchmarkDurableCreate and its
// neighbours, three runs), durable creates went from about 600/s, whether
// 1 or 16 goroutines wrote, to 1,600 to 2,600/s for one writer and 7,200
// to 8,200/s for 16; revocations to 2,200 to 4,100/s and 15,000 to
// 21,000/s.
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
// UTC; a never expiring or never used token stores NULL. Scopes,
// last-used addresses and allowed networks (allowed_cidrs, canonical
// prefixes) are JSON arrays. revoked_at is when the token was revoked
// (NULL if it is not, or was revoked before migration 0007), and rotated
// whether rotation revoked it and nothing since (see
// patkit.Options.RotationGrace); a revocation that ends a grace window
// (rotated back to 0) is logged for [Store.Watch] like a revocation. The digest is unique, and indexes
// serve lookups by owner, resource and previous token and each list order.
// The expiry notices ([patkit.Token].Notices) are the columns
// sixty_days_notification_sent_at, thirty_days_notification_sent_at,
// seven_days_notification_sent_at and after_expiry_notification_sent_at
// (GitLab's names; NULL: not sent), and notice, the latest notice claimed
// (0 none to 4 expired); the partial index tokens_notice on (notice,
// expires_at) holds only the tokens still owed a notice, and
// [Store.ClaimNotices] claims through it in one UPDATE, after a read
// through it finds a token due (a sweep that finds none takes no write
// lock).
//
// The table patkit_meta keeps values about the database as a whole, by
// name: the key check value of [patkit.KeyStore], so that a Service
// started with the wrong instance key refuses to work
// ([patkit.ErrKeyMismatch]) rather than answer every token 401, and the
// highest seq pruned from patkit_revocations, the log [Store.Watch] reads,
// which keeps the newest 10,000 revocations (a feed that falls further
// behind calls stale), the highest token ID whose folded name the
// FTS5 table tokens_fts (migration 0014, the trigram index of names that
// searches of all tokens read) holds, and the same of tokens_words
// (migration 0018: the number of tokens whose folded name holds each word,
// which the count of a search of all tokens by a word reads; see
// Counting). The table tokens_zones (migration
// 0015), kept by triggers on tokens, bounds the creation, expiry, last use
// and name of every 1,024 token IDs (see Indexes and EXPLAIN). SQLite's
// FTS5 extension, which
// modernc.org/sqlite includes, is required: a database given to [New]
// through another driver must have it too.
//
// # Indexes and EXPLAIN
//
// [Store.List] is two queries in one read transaction: the page, and the
// count of the matches (it is skipped when a short page shows where the
// matches end), read from counters when the query filters on nothing but
// its scope, impersonation, revocation, state and expiry bounds (see
// Counting), and otherwise counted from an index, stopping after
// [patkit.MaxCount]+1 rows. Both are translated from the Query with
// positional arguments.
//
// Every order is a sort key then id, in the sort's direction. The keys are
// id, created_at, name (the BINARY collation: bytewise), and, for the
// nullable times, coalesce(expires_at, 9223372036854775807) and the same
// of last_used_at: NULL, never, is then larger than every time (last
// ascending, first descending) in the index itself, and the filters on
// those times are ranges of the same key (active: revoked = 0 and key >
// now; a bound: key < b, or b <= key < 9223372036854775807, which leaves
// NULL out).
//
// For every scope and key, one index serves the order, forwards for the
// ascending sorts and backwards for the descending ones:
//
//	scope                   id                created_at               expiry key               last-used key               name
//	all tokens              (the table)       tokens_created           tokens_expiry            tokens_last_used            tokens_name
//	one owner (user_id)     tokens_user       tokens_user_created      tokens_user_expiry       tokens_user_last_used       tokens_user_name
//	one project or group    tokens_resource   tokens_resource_created  tokens_resource_expiry   tokens_resource_last_used   tokens_resource_name
//
// Each is the scope's columns, the key and id, followed by columns the
// filters read: the expiry key and impersonation, and, in the indexes of
// one owner or resource and in those of all tokens by a time (migration
// 0012), created_at and the last-used key; the name indexes of one owner
// or resource end with name_folded (migration 0013). SQLite
// evaluates the conditions on index columns first, from the index entry,
// so a page walks its index past the tokens they reject (an expired
// token, an impersonation token, one used too long ago) without reading
// the table, and stops after the offset and the page. revoked is in the
// expiry indexes only, so that a state is judged from their entries (the
// page sorted by expiry, a count the counters do not answer), and a
// revocation rewrites three entries. tokens_previous_id serves the
// tokens that replaced one (rotation), and tokens_name_folded the exact
// name search. One owner's impersonation tokens, listed by id, have a
// partial index of their own, tokens_user_impersonation (WHERE
// impersonation, with the owner's index's columns), so that their list
// and its count do not pass over the owner's personal tokens; the
// queries repeat its predicate (impersonation) and name it (INDEXED BY),
// since without statistics SQLite rates it the same as tokens_user.
// The tokens that were used are in four partial indexes of recent use too
// (migration 0017, WHERE last_used_at IS NOT NULL): the day of the last
// use (last_used_at / 86400000000, whole days from 1970-01-01 UTC), the key
// of an order (id, created_at, the expiry key, name), id, and the last
// use: tokens_used_day, tokens_used_day_created, tokens_used_day_expiry
// and tokens_used_day_name.
//
// The Store never runs ANALYZE, and without statistics SQLite's planner
// cannot tell a filter that keeps a few rows from one that keeps most. So
// the page query writes every condition but the scope and its sort key as
// +expr, which no index serves: the page always reads the index of its
// scope and key, and never sorts (no USE TEMP B-TREE FOR ORDER BY), for
// every state, revoked value, time bound and page; only a time bound on
// one key against the order of another may be read from the bound's
// range and sorted instead (see below). A count that the
// counters do not answer keeps every condition indexable, and SQLite
// counts a bound on creation or last use on the index that ranges over
// it. TestListPlans
// checks the plan of every scope, sort
// and filter the Service sends; TestListPlansMillion
// (PATKIT_TEST_MILLION=1 go test -run ListPlansMillion -v ./sqlitestore)
// checks them at 1,000,000 tokens, also after ANALYZE, and logs them. Some
// of them:
//
//	-- one owner's active personal tokens, expiring first
//	SELECT ... FROM tokens WHERE user_id = ? AND +impersonation = ?
//	AND coalesce(expires_at, 9223372036854775807) > ? AND NOT revoked
//	ORDER BY coalesce(expires_at, 9223372036854775807) ASC, id ASC LIMIT 20 OFFSET 0
//	SEARCH tokens USING INDEX tokens_user_expiry (user_id=? AND <expr>>?)
//	-- its count: the owner's tokens not revoked that expire after now,
//	-- from the counters (see Counting)
//	SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total
//	FROM (SELECT (n) AS v FROM token_expiry_counts WHERE scope = ? AND resource_type = ? AND id = ?
//	AND level = 0 AND expires_at >= ? AND expires_at < ? UNION ALL SELECT (n) AS v FROM token_expiry_counts
//	WHERE scope = ? AND resource_type = ? AND id = ? AND level = 1 AND expires_at >= ?) AS terms) AS counted
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at>? AND expires_at<?)
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at>?)
//
//	-- every active token, newest first
//	SELECT ... WHERE +coalesce(expires_at, 9223372036854775807) > ? AND NOT revoked
//	ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0
//	SCAN tokens USING INDEX tokens_created
//	-- its count: the same counters, of all tokens
//
//	-- the count of every token that expires before 30 days from now,
//	-- revoked or not, from the counters: the blocks before the bound's
//	-- (level 1), then the dates of its block before it (level 0)
//	... (SELECT (n + n_revoked + n_imp + n_imp_revoked) AS v FROM token_expiry_counts WHERE scope = ? AND resource_type = ? AND id = ?
//	AND level = 1 AND expires_at < ? UNION ALL SELECT ... AND level = 0 AND expires_at >= ? AND expires_at < ?) ...
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at<?)
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at>? AND expires_at<?)
//
//	-- every token not revoked, last used first
//	SELECT ... WHERE +revoked = ? ORDER BY coalesce(last_used_at, 9223372036854775807) DESC, id DESC
//	LIMIT 20 OFFSET 0
//	SCAN tokens USING INDEX tokens_last_used
//
//	-- an owner's active tokens, oldest first (the table's order, by id)
//	SEARCH tokens USING INDEX tokens_user (user_id=?)
//
//	-- a project's inactive tokens by name
//	SELECT ... WHERE +impersonation = ? AND resource_type = ? AND resource_id = ?
//	AND (+coalesce(expires_at, 9223372036854775807) <= ? OR revoked) ORDER BY name ASC, id ASC ...
//	SEARCH tokens USING INDEX tokens_resource_name (resource_type=? AND resource_id=?)
//	-- its count: the project's tokens less its active ones
//	... (SELECT n + n_revoked AS v FROM token_counts WHERE ... UNION ALL SELECT -(n) AS v FROM token_expiry_counts ...)
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=?)
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at>? AND expires_at<?)
//	SEARCH token_counters USING PRIMARY KEY (scope=? AND resource_type=? AND id=? AND level=? AND expires_at>?)
//
//	-- an exact name search: the tokens of that name, sorted
//	SEARCH tokens USING INDEX tokens_name_folded (name_folded=?)
//	USE TEMP B-TREE FOR ORDER BY
//
//	-- every token named with the word "deploy", by id: the table's order
//	SELECT ... FROM tokens WHERE instr(name_folded, ?) > 0 ORDER BY id ASC LIMIT 20 OFFSET 0
//	SCAN tokens
//	-- its count reads the names from their index, not the table
//	SCAN tokens USING COVERING INDEX tokens_name_folded
//	-- and one owner's, from the owner's index of names
//	SEARCH tokens USING COVERING INDEX tokens_user_name (user_id=?)
//
// What a page costs is the index entries it walks before it has the page:
// few when the filters keep most tokens in the walk's direction, up to
// the scope's size when they keep few. Within one owner or resource that
// is bounded (10,000 index entries, about 1.5 ms at 1,000,000 tokens), and
// a time bound against the order (the owner's tokens used in the last
// week, by ID) first counts the bound's range of the scope's index of its
// key, up to 1,001 entries (sqlq.ScopeRangeMax), and reads and sorts it
// where it holds no more, else walks. At 1,000,000 tokens (benchtable's
// file, the owner of 10,000 tokens, an ad hoc test of the 168 time bounds
// of the owner's and a project's lists in turns with the walk alone, the
// best of two medians of 9 each): the last week's tokens by ID 0.18 ms
// (2.41 before), those expiring after 180 days by creation 0.25 ms (1.93),
// the 168 together 45.1 ms (66.5), 1 over 2 ms (6), where the bounds that
// keep more than 1,000 of the owner's tokens and walk cost up to 0.25 ms
// more for the count. Across all
// tokens, a time bound on one key against the order of another (a lower
// bound with an ascending order, an upper bound with a descending one)
// can walk most of the index, since times are correlated: tokens created
// in the last 90 days, sorted by expiry ascending, come after the old
// ones in that order, and the walk read 586,000 entries before its 20th
// match (about a second at 1,000,000 tokens). No single index serves a
// range of one key in the order of another, so List finds such a page in
// up to three steps, each of which gives the same page (sqlq.BoundPlan).
// The walks start at a seek: tokens_zones (migration 0015), kept by
// triggers, holds for every 1,024 IDs (id >> 10) bounds of their times
// and names, never narrower than theirs (the greatest expiry exactly,
// since 0016: a bound on the day of the zone's last expiry would
// otherwise meet it); the tokens of a zone were created together, so
// their times are close, and the least key (ascending) of the zones whose
// bounds meet the list's is where its first match may be.
// With the seek the walk of tokens created in the last 90 days, soonest
// expiry first, reads 3,705 entries instead of 586,000.
//
//	-- Near: the walk from the seek, up to the key of its 10,000th entry
//	-- (500 for each token of the page and of those before it)
//	SELECT ... FROM tokens WHERE +created_at >= ?
//	AND coalesce(expires_at, 9223372036854775807) >= (SELECT min(expires_lo) FROM tokens_zones WHERE created_hi >= ?)
//	AND coalesce(expires_at, 9223372036854775807) <= (SELECT coalesce(expires_at, 9223372036854775807) FROM tokens
//	WHERE coalesce(expires_at, 9223372036854775807) >= (SELECT min(expires_lo) FROM tokens_zones WHERE created_hi >= ?)
//	ORDER BY ... LIMIT 1 OFFSET 10000)
//	ORDER BY coalesce(expires_at, 9223372036854775807) ASC, id ASC LIMIT ? OFFSET ?
//	SEARCH tokens USING INDEX tokens_expiry (<expr>>? AND <expr><?)
//	SCALAR SUBQUERY 1
//	SEARCH tokens_zones
//	SCALAR SUBQUERY 3
//	SEARCH tokens USING INDEX tokens_expiry (<expr>>?)
//	SCALAR SUBQUERY 2
//	SEARCH tokens_zones
//	-- if that does not fill the page, the Probe: the bound's range, counted
//	-- up to 200,000 (an expiry bound's from the counters)
//	SELECT count(*) FROM (SELECT 1 FROM tokens WHERE created_at >= ? LIMIT 200001) AS matches
//	SEARCH tokens USING COVERING INDEX tokens_created (created_at>?)
//	-- Range, if it holds no more: the range, sorted (LIMIT -1 OFFSET 0
//	-- keeps the planner from reading it in the order's index)
//	SELECT t.id, ... FROM (SELECT * FROM (SELECT id, coalesce(expires_at, 9223372036854775807) AS k FROM tokens
//	WHERE created_at >= ? LIMIT -1 OFFSET 0) AS r ORDER BY k ASC, id ASC LIMIT ? OFFSET ?) AS p
//	JOIN tokens AS t ON t.id = p.id ORDER BY p.k ASC, p.id ASC
//	CO-ROUTINE p
//	CO-ROUTINE r
//	SEARCH tokens USING COVERING INDEX tokens_created (created_at>?)
//	SCAN r
//	USE TEMP B-TREE FOR ORDER BY
//	SCAN p
//	SEARCH t USING INTEGER PRIMARY KEY (rowid=?)
//	-- else the whole walk from the seek
//
// A bound with the order (created before a day, oldest expiry first)
// finds its matches among the first tokens it walks, and keeps the walk.
// Since the indexes of all tokens by a time hold the other two (migration
// 0012), the range and the walk read only their index, 0.1 to 0.3 µs an
// entry, for every time but the name. On the benchmark command's 1,000,000
// tokens, whose bounds keep 21,000 to 319,000 tokens, the slowest such
// pages went from 0.87 s to 6 ms (used in the last week, soonest expiry
// first) and 0.79 s to 20 ms (created in the last 90 days, the same
// order) with the range; with the seek, in one run on an AMD EPYC with
// 2 vCPUs, the latter took 1.95 ms (25.5 ms before the seek), those
// expiring from 180 days on by name 0.80 ms (82 ms), by ID 0.73 ms (9.0
// ms), and those used before a year ago, newest first, 1.29 ms (48.8 ms).
// In a descending order of expiry or last use, the tokens that never
// expire, or were never used, come first whatever their zone, all with
// the same key, and SQLite seeks an index on an expression by that key
// only, not by the ID after it: the walk from the seek read that tie from
// its greatest ID. Near now reads the tie alone, from the greatest ID of
// the zones down, within the same 10,000 entries, and the walk to the
// cutoff comes next where the tie does not hold the page:
//
//	-- created before 600 days, by last use, newest first
//	SELECT t.id, ... FROM (SELECT * FROM (SELECT id, coalesce(last_used_at, 9223372036854775807) AS k,
//	+created_at <= ? AS keep FROM tokens
//	WHERE coalesce(last_used_at, 9223372036854775807) = (SELECT max(CASE WHEN used_never THEN 9223372036854775807
//	ELSE used_hi END) FROM tokens_zones WHERE created_lo <= ?)
//	AND id <= (SELECT max(zone) * 1024 + 1023 FROM tokens_zones WHERE created_lo <= ?)
//	ORDER BY id DESC LIMIT 10000) AS w WHERE keep ORDER BY id DESC LIMIT ? OFFSET ?) AS p
//	JOIN tokens AS t ON t.id = p.id ORDER BY p.k DESC, p.id DESC
//	SEARCH tokens USING COVERING INDEX tokens_last_used (<expr>=? AND id<?)
//
// That page went from 45.8 to 0.95 ms, the same bound by expiry from
// 12.3 to 0.96 ms, and those used before a year ago by expiry from 7.3 to
// 2.0 ms (Store.List on the benchmark command's 1,000,000 tokens, medians
// of 7, the better of two runs in turns with the walk from the top of
// the tie). Where the zones cannot skip, the walk reads as much as
// before: tokens used in the last week include old tokens still in use,
// whose zones' key is early in any order (6.6 to 23.6 ms). Those lists,
// of all tokens used after a time of the last 31 days
// (sqlq.RecentDays), bounded on no other time, in another order than
// last use's, read the indexes of recent use instead, day by day: for
// each day from the bound's to today's, the day's first entries in the
// order, up to the end of the
// page, merged; the tokens used after today (none, unless a clock ran
// ahead) are the range of tokens_last_used after it.
//
//	-- used in the last week, by name: eight days and what comes after
//	SELECT t.id, ... FROM (SELECT * FROM (
//	SELECT * FROM (SELECT id, name AS k FROM tokens WHERE +coalesce(last_used_at, 9223372036854775807) < 9223372036854775807
//	AND +coalesce(last_used_at, 9223372036854775807) >= ? AND last_used_at IS NOT NULL
//	AND last_used_at / 86400000000 = ? ORDER BY name ASC, id ASC LIMIT ?) AS d0 UNION ALL ... AS d7 UNION ALL
//	SELECT * FROM (SELECT id, name AS k FROM tokens WHERE ... AND coalesce(last_used_at, 9223372036854775807) >= ?
//	AND coalesce(last_used_at, 9223372036854775807) < 9223372036854775807 LIMIT -1 OFFSET 0) AS later)
//	AS u ORDER BY k ASC, id ASC LIMIT ? OFFSET ?) AS p JOIN tokens AS t ON t.id = p.id ORDER BY p.k ASC, p.id ASC
//	CO-ROUTINE p
//	MERGE (UNION ALL)
//	...
//	CO-ROUTINE d0
//	SEARCH tokens USING COVERING INDEX tokens_used_day_name (<expr>=?)
//	...
//	CO-ROUTINE later
//	SEARCH tokens USING INDEX tokens_last_used (<expr>>? AND <expr><?)
//	SCAN p
//	SEARCH t USING INTEGER PRIMARY KEY (rowid=?)
//
// On the benchmark command's 1,000,000 tokens (the last week's 21,068
// uses), Store.List of the first page, in turns with the walk and range
// (medians of 7, an ad hoc test): by ID 1.70 ms (11.5 ms before), by
// creation 1.19 (9.15), by expiry 1.23 (10.3), by name 1.22 (24.5); the
// descending orders, whose walk met the week's tokens at once, 1.02 to
// 1.28 ms (0.88 to 1.09). Most of each is the count, up to 10,001 entries
// of tokens_last_used (0.85 to 1.3 ms); the days took 0.1 to 0.2 ms.
//
// A search by words (instr(name_folded, word), a plain substring
// search, twice as fast as LIKE '%word%') can neither range over a B-tree
// index nor be ordered by one. Its count reads every name of the scope until
// MaxCount+1 match, from an index that holds them (tokens_name_folded,
// or the scope's index of names), and List counts first: where the
// matches end before the page, it reads nothing more; where they hold at
// most four pages (counting those before the page), it reads them and
// sorts them (a SearchPlan); otherwise its page walks the order index,
// reading each token's name from the table, until the page fills.
// Across all tokens, the matches come from tokens_fts (migration 0014),
// an FTS5 index of the trigrams of the folded names: a GLOB '*word*' on
// it reads the tokens that hold each trigram of the word, which List
// then tests and reads by ID. It counts them first up to four pages'
// worth (Probe); beyond, it counts them all from tokens_fts where they
// are sparser than one token in 16 (else from the index of names), and
// reads them rather than walk the order where that costs less (see
// sqlq.SearchPlan). The Store adds the names of the tokens it creates to
// tokens_fts every 256 creates, in the transaction of a batch of writes,
// and records the highest ID it holds in patkit_meta: a search reads the
// tokens above from the table, by ID; Migrate indexes any others (tokens
// inserted in SQL, say); triggers take a host's deleted or renamed tokens
// out of it (migration 0019: before it, a search of all tokens failed
// after a host's DELETE, reading the deleted token's name for its
// candidates), and put a renamed one's new name in where its new ID is
// indexed (0020: under 0019, a token whose ID a host moved down below
// the highest indexed was never indexed, and searches missed it). A word with GLOB's wildcards (*, ?, [) is read
// from the index of names. A search of all tokens by one word that more
// than MaxCount names hold as a word is counted from tokens_words instead
// (see Counting).
//
// Measured at 1,000,000 tokens (benchtable's file, each the median of
// five List calls, an ad hoc test), across all tokens, against the walk
// of the order before: a word 20 names hold, 0.84 to 0.91 ms (0.18 to
// 0.55 s, depending on the order); a word none holds, 0.13 to 0.20 ms
// (0.18 to 0.56 s); 300 names, 1.6 ms (6.5 to 49 ms); 3,999 names, 6.0 to
// 9.2 ms (77 to 80 ms); "99999", whose trigrams thousands of names hold,
// 7.2 to 7.8 ms; a word one name in five holds, 3.9 to 4.0 ms, its count
// read from tokens_name_folded (3.3 to 3.6 ms without Probe). One owner's
// 9,990 tokens: a word all of them hold 1.4 to 1.5 ms, a word none holds
// 1.1 to 1.2 ms (2.1 to 12.8 ms). Keeping tokens_fts up to date in each
// write, with triggers, cost 27% of the durable creates of one writer
// and 33% of sixteen; every 256 creates, the rates measured the same as
// without it (benchtable's create-sqlite rows, 2.73k/s and 6.87k/s
// against 2.92k/s and 7.14k/s, within their spread from run to run).
// OFFSET pages cost in proportion to their depth.
//
// The indexes cost space and writes: at 1,000,000 tokens the file grows
// from about 320 MB (the table and the indexes of lookups) to about
// 625 MB. A Create writes 11 index entries for a personal token, 16 for a
// project or group token (the indexes of one resource are partial, WHERE
// resource_type IS NOT NULL) and one more for a rotation (previous_id, a
// partial index too), where it wrote 8 before these indexes; a Revoke
// rewrites the 3 entries of the expiry indexes, and a SetLastUsed the
// entries that hold the last-used key, 12 for a personal token and 17 for
// a project or group token (6 and 11 before migration 0012, which added
// the last-used key to tokens_created and tokens_expiry; the times it
// added grew benchtable's file of 1,000,000 tokens by 36 MB, 5%; 8 and 13
// before the four indexes of recent use of migration 0017, which a Create
// does not write and which took 83 MB of that file, whose 666,667 used
// tokens they hold: 785 to 871 MB).
//
// # Counting
//
// [Store.List] returns, with its page, the number of matches: exact up to
// [patkit.MaxCount], and MaxCount+1 for any number above (the Service
// reports -1, and the API omits X-Total). A query that filters only on
// the owner (UserID), the project or group (ResourceType and ResourceID),
// Impersonation, Revoked, State (active or inactive at the query's Now)
// and the expiry bounds (ExpiresBefore, ExpiresAfter), whatever its sort,
// is counted exactly from counters, reading a number of rows that does
// not grow with the number of tokens:
//
//   - token_counts (a view of the table token_counters, its rows of level
//     2) has one row for all tokens, one per user and one per
//     project or group, each with four counters, impersonation token or
//     not by revoked or not. Without a state, the count adds up the
//     counters the query keeps of one row.
//   - token_expiry_counts (a view of token_counters, its rows of levels 0
//     and 1) counts every token, revoked or not, of the same scopes, by
//     expiry, with the same four counters: n and n_imp count the tokens
//     that are not revoked, n_revoked and n_imp_revoked those that are.
//     It has two levels: a row per expiry (level 0), and a row per block
//     of 32 days from the Unix epoch (level 1), where the tokens that
//     never expire count at the largest key. The active tokens of a
//     scope at now are those of its level-0 rows after now and before
//     the next block, and those of its level-1 rows from the next block
//     on (their counters n and n_imp): at most 31 rows and one per 32
//     days up to the latest expiry, about 45 rows when tokens expire
//     within a year (GitLab's default), however many there are. The
//     inactive tokens are the others: the scope's tokens in token_counts
//     less its active ones. Nothing is written as time passes; a count
//     at another time reads other rows of the same table.
//   - The same two levels count any range of expiries: the tokens that
//     expire from a to before b are those of the level-0 rows in the
//     parts of [a, b) that cover no whole block (at most two blocks of
//     31 rows), and those of the level-1 rows of the blocks it covers. A
//     bound leaves out the tokens that never expire, as the filter does.
//     With a bound, the active tokens are those not revoked in the range
//     from the microsecond after now, and the inactive ones the revoked
//     tokens of the range and the others of it up to now.
//
// A list of all tokens bounded on creation as well (the tokens created in
// the last 90 days, say) reads those counters first, without the bound,
// and tokens_zones (migration 0015): every token they count was created
// within the bound but those of the zones whose creation times do not lie
// within it, at most 1,024 tokens each, and where that leaves more than
// MaxCount, MaxCount+1 is the count (a search by one word the same way,
// below). Otherwise, and for any other query (a bound on last use, any
// other search, a previous token, or an owner together with a resource),
// it counts its matching tokens, and stops after MaxCount+1 of them. At 1,000,000 tokens (benchtable's file, medians of
// 9 List calls in turns with the former count, an ad hoc test), the lists
// of all tokens created before a time took 0.08 to 0.38 ms where they
// took 0.75 to 1.52 ms, reading the zones' 977 rows rather than 10,001
// entries of tokens_created; those created after one, whose page is the
// larger part, 0.08 to 2.19 ms where they took 0.37 to 2.42 ms.
//
// A search of all tokens by one word (with or without other filters but
// an owner or a resource) reads those counters too, and tokens_words
// (migration 0018), the number of tokens whose folded name holds each
// word, split at spaces (words of 3 characters or more, each counted once
// per token): every token the other filters keep holds the word but those
// without it among their name's words, so the counters less every token
// plus the word's row bound the count from below, and where that leaves
// more than MaxCount, MaxCount+1 is the count. The Store counts the words
// of the names it created with tokens_fts, every 256 creates, in the
// transaction of a batch of writes, and records the highest ID counted in
// patkit_meta (words_indexed): the tokens above it, uncounted, only lower
// the bound; Migrate counts any others. A counted token that leaves (the
// host's DELETE, or an UPDATE of its folded name or ID) takes its words
// out of their rows, and one whose new ID is counted puts its new name's
// words in (migration 0020's triggers, which split the name with
// json_each, since SQLite allows no recursive query in a trigger): the
// table counts exactly the words of the tokens up to words_indexed. Under
// 0019 each such token added -1 to a row of the empty word, lowering
// every word's bound for good; 0020 has Migrate count such a database
// afresh. At 1,000,000 tokens (benchtable's
// file, where "deploy" is a word of 200,000 names), the first page of a
// search of all tokens for "deploy" took 0.51 to 0.80 ms in the nine
// orders, against 7.6 to 8.3 ms when its count read 50,000 names of
// tokens_name_folded (medians of 9 List calls, an ad hoc test, before and
// after migrating a copy of the file); the table holds 999,904 words in
// 12 MB, counting them in the migration took 8.0 s (Open, the write lock
// held), and counting the words of 256 new names 4 ms (sqlite3 3.40.1);
// since the names are split with json_each rather than a recursive query,
// 3.7 s for 1,000,000 names where the recursive query took 6.4 s, and
// 1.3 to 1.9 ms for 256 where it took 2.5 to 4.4 (sqlite3 3.40.1 on
// another machine, a table of the names alone).
//
// Triggers on tokens keep the counters, in the statement that changes a
// token and so in its transaction, whoever changes it: the Store's Create,
// Revoke and Rotate, and the host's own INSERT, UPDATE and DELETE. A write
// rolled back (a failed write in its savepoint, the host's ROLLBACK) rolls
// its counts back with it. An UPDATE that leaves a token's owner,
// resource, impersonation, revocation and expiry as they were
// (SetLastUsed, revoking a revoked token) fires none of them. A new token
// adds to two or three rows of token_counts (all, its owner, its
// resource) and, revoked or not, to two rows of token_expiry_counts for
// each of them (one if it never expires), in the counter of its
// impersonation and revocation; a revocation moves it from one counter
// to another in the same rows, in place, and a change of expiry, revoked
// or not, moves it to the rows of its new expiry. All of them are rows
// of one table, token_counters (migration 0009), ordered by scope, then
// level, so that a scope's totals sit next to its blocks: a personal
// token's creation changes three of its pages (all tokens' expiry date,
// all tokens' block and totals, its owner's rows) where the two tables
// of 0005 and 0008 had it change five, and each page a commit changes is
// a frame of the write-ahead log. Measured on benchtable's 1,000,000
// tokens, a create through the Service wrote 22.2 frames instead of 24.5
// and a revocation 9.1 instead of 11.1, for 1% more instructions per
// create (675k) and as many per revocation.
// Counting revoked tokens by expiry too (migration 0011; measured on
// 100,000 tokens, a quarter of them revoked) took a create from 22.3 to
// 22.5 frames and from 972 to 1,186 SQLite VM steps, with the same
// statements on the same rows, and a revocation from 9.4 to 9.6 frames
// and from 938 to 1,251 VM steps: the rows are two counters wider, and
// those of the revoked tokens' expiry dates stay. A row of
// token_expiry_counts whose four counters come down to zero is deleted:
// the table holds a row per expiry date and per block of every scope
// that has tokens, revoked or not, expired ones included (a count at an
// earlier time reads them), at most twice as many rows as tokens per
// scope, and far fewer where tokens share their expiry dates. The
// migrations that created the counters (0005 and 0008, and 0011 for the
// revoked tokens by expiry) counted the tokens already there, in the
// same transaction as they created the triggers, which holds the write
// lock meanwhile: 0008 took 6 s at 1,000,000 tokens
// (TestListPlansMillion's, whose owners' tokens share their expiry
// dates: 96,333 rows), and the count of 0011, of the 142,713 revoked
// tokens of benchtable's 1,000,000, 1.9 s (sqlite3 3.40.1, on a copy).
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
// The counters of expiry (migration 0008), measured on the same machine,
// loaded (a load average of 2 to 15 on its 2 vCPUs): at 1,000,000 tokens
// (TestListPlansMillion), a List of the first page of every active token,
// newest first, takes 0.25 ms with its count, the inactive ones 0.13 to
// 0.33 ms, one owner's 0.03 to 0.1 ms; the count of the active tokens
// walked 10,001 index entries before. The triggers cost a revocation
// about 30 µs more SQL time in one transaction on tmpfs, a create about
// 20 µs (an ad hoc measure, 3 runs each, as noisy as the machine). Three
// interleaved runs each, with and without them: BenchmarkDurableCreate
// with 1 writer, 680 to 1,840/s against 770 to 1,500/s, within the noise;
// with 16, 2,600 to 4,000/s against 3,400 to 6,300/s, lower in every run;
// BenchmarkDurableRevoke with 1 and 16 writers, 1,300 to 1,700/s and
// 4,600 to 11,400/s against 1,400 to 3,800/s and 4,300 to 13,700/s.
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
