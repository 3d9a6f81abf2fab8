// Package pgstore is a [patkit.Store] on PostgreSQL (13 or later; tested on 15), through
// github.com/jackc/pgx/v5. It is the store to use when several instances
// of a service share one database: every instance sees every committed
// write at once, rotations are serialized by row locks, and the schema
// migrates itself safely when the instances start together.
//
// It is the only package of patkit that imports pgx.
//
// # Opening a Store
//
// Every patkit store has one lifecycle. [New] wraps a *pgxpool.Pool the
// host already has and does no I/O; [Store.Migrate] brings the schema up
// to date (or the host's own tooling does, below); [Open] parses a DSN,
// creates a connection pool it owns, and does both:
//
//	s, err := pgstore.Open(ctx, "postgres://app@db/app?pool_max_conns=20", &pgstore.Options{Schema: "patkit"})
//
// [Store.Close] ends [Store.Watch] and closes the pool if Open created it;
// a pool given to New stays open. Either way every method called after
// Close returns an error wrapping [patkit.ErrUnavailable].
//
// # Schema
//
// Options.Schema names the PostgreSQL schema that holds patkit's two
// tables; the default is "public". A schema of its own ("patkit") keeps
// them apart from the host's tables in a shared database, and lets one
// database hold several independent token stores. Migrate creates the
// schema if it does not exist (the role then needs CREATE on the database;
// a role that may only use an existing schema works too). Names are quoted,
// so any schema name is safe.
//
// The tables are:
//
//   - tokens: one row per token. Nullable columns mean "never": expires_at
//     NULL never expires, last_used_at NULL was never used; previous_id
//     NULL was not made by rotation. resource_type is empty for personal and
//     impersonation tokens, 'project' or 'group' otherwise. digest (the
//     keyed hash of the secret, never the secret) is unique. Times are
//     timestamptz, so a Store returns them in UTC at microsecond precision.
//     revoked_at is when the token was revoked (NULL if it is not, or was
//     revoked before migration 0006), rotated whether rotation revoked it
//     and nothing since (see patkit.Options.RotationGrace), and
//     allowed_cidrs the canonical networks it is bound to ('{}': none).
//     The expiry notices (patkit.Token.Notices) are the columns
//     sixty_days_notification_sent_at, thirty_days_notification_sent_at,
//     seven_days_notification_sent_at and after_expiry_notification_sent_at
//     (GitLab's names; NULL: not sent), and notice, the latest notice
//     claimed (0 none to 4 expired); the partial index tokens_notice_idx on
//     (notice, expires_at) holds the tokens still owed a notice, and
//     [Store.ClaimNotices] claims through it in one UPDATE whose rows other
//     instances skip (FOR UPDATE SKIP LOCKED).
//   - settings: name/value pairs; key_check holds the check value of the
//     instance key the digests are made with (the Store is a
//     patkit.KeyStore), so a Service started with another key fails with
//     patkit.ErrKeyMismatch instead of answering 401 to every token.
//   - token_counts: the number of tokens of every scope, and
//     token_expiry_counts, that of the tokens of every scope by expiry,
//     revoked or not, kept by triggers on tokens (see Counting).
//   - token_zones: for every 1,024 token IDs (id >> 10), bounds of their
//     creation, expiry and last use, never narrower than theirs, and
//     token_zone_names, the least of their names, kept by triggers on
//     tokens; a list of all tokens bounded in time starts its walk from
//     them (see Indexes and EXPLAIN).
//   - token_use_counts: the number of tokens by the day of their last use,
//     and by block of 32 such days, kept by triggers on tokens (see
//     Counting).
//   - token_words: the number of tokens whose lower-cased name holds each
//     word, up to the token ID token_words_mark records, counted by
//     token_words_catch_up() (see Counting).
//   - patkit_migrations: the versions Migrate has applied.
//
// # Migrations
//
// The migrations are embedded, versioned SQL files (see [Migrations]; in
// the source tree, pgstore/migrations/NNNN_name.sql, commented).
// [Store.Migrate] applies those not yet recorded in patkit_migrations, all
// in one transaction that first takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock) keyed by the schema name. So it is idempotent,
// all-or-nothing, and safe when several instances start at once: one
// migrates, the others wait for it and then find nothing to do. A schema
// that records a migration this release does not have, applied by a newer
// one, is refused: Migrate fails and changes nothing, so an instance of an
// older release cannot start on it (instances already running are not
// affected). Then Migrate tries to create the search index, which is not a
// migration (see The search index).
//
// Hosts that keep their schema with their own tooling (goose,
// golang-migrate, Atlas, Flyway, a DBA's script) apply the same SQL: copy
// the files of [Migrations], or [MigrationSQL] as one script, into their
// migrations, and run them with search_path set to the schema:
//
//	CREATE SCHEMA IF NOT EXISTS patkit;
//	SET LOCAL search_path TO patkit;
//	-- the output of pgstore.MigrationSQL()
//
// and use [New], never calling Migrate. Every statement of the migrations
// is IF NOT EXISTS, so switching to Migrate later is safe: it records the
// versions and changes nothing. A release of patkit that adds a migration
// adds a file; the release notes say so. Such hosts add the search index
// with their tooling too, if they want it (see The search index).
//
// A migration that counts the tokens already there holds writes to
// tokens until it commits: 0013, which counts the revoked tokens by
// expiry, took 3.2 s at 1,000,000 tokens (142,713 of them revoked,
// benchtable's dataset, run again in psql). So does one that builds
// indexes: 0014, which builds the four indexes of all tokens again,
// took 8.6 s there; reads go on until it drops the old ones, just
// before it commits. 0016, which computes each zone's greatest expiry
// again from its tokens, took 1.0 s there, and 0017, which computes each
// zone's least name, 0.34 s.
//
// # Indexes and EXPLAIN
//
// Every filter, sort, search and page of [Store.List] is one SQL query
// with positional arguments, and the total is counted by a second query in
// the same round trip: from the counters of token_counts and
// token_expiry_counts when the query filters on nothing but its scope,
// impersonation, revocation, state and expiry bounds (see Counting),
// otherwise by reading the matching rows, stopping after
// [patkit.MaxCount]+1.
//
// Every order is a sort key then id, in the sort's direction. The keys are
// id, created_at, name COLLATE "C" (bytewise, the same on every server
// whatever its locale), and, for the nullable times,
// coalesce(expires_at, 'infinity') and the same of last_used_at: NULL,
// never, is then larger than every time (last ascending, first
// descending), and the filters on those times are ranges of the same key
// (active: NOT revoked and key > now; a bound: key < b, or b <= key <
// 'infinity', which leaves NULL out), which the index of the key serves.
//
// The migrations create, besides the primary key and the unique digest
// index of the authentication lookup, one index per scope and key, read
// forwards for the ascending sorts and backwards for the descending ones:
//
//	scope                   id                       created_at                   expiry key                  last-used key                  name
//	all tokens              tokens_pkey              tokens_created_idx           tokens_expiry_idx           tokens_last_used_idx           tokens_name_idx
//	one owner (user_id)     tokens_user_idx          tokens_user_created_idx      tokens_user_expiry_idx      tokens_user_last_used_idx      tokens_user_name_idx
//	one project or group    tokens_resource_id_idx   tokens_resource_created_idx  tokens_resource_expiry_idx  tokens_resource_last_used_idx  tokens_resource_name_idx
//
// One owner's impersonation tokens, listed by id, have a partial index
// of their own, tokens_user_impersonation_idx (WHERE impersonation, with
// the columns of tokens_user_idx), so that their list and its count do
// not pass over the owner's personal tokens: List writes the predicate
// as the index has it and plans such a list for its arguments (an
// owner's ten impersonation tokens among 10,000: about 2 ms through
// tokens_user_idx, a few hundredths of one through it).
//
// The tokens that were used are in four partial indexes of recent use too
// (migration 0018, WHERE last_used_at IS NOT NULL): the day of the last
// use (((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'),
// whole days), the key of an order (id, created_at, the expiry key,
// name), and id, INCLUDing the columns the filters read:
// tokens_used_day_idx, tokens_used_day_created_idx,
// tokens_used_day_expiry_idx and tokens_used_day_name_idx.
//
// The indexes of one project or group hold its tokens only, not the
// personal and impersonation tokens (their predicate is a resource_type
// that is not empty, migration 0009), which no list of a resource reads: those write five index entries
// fewer when created, and again when revoked (a revocation changes
// revoked, which the indexes include, so it writes a new entry in every
// index that holds the token). A list of a resource is planned for its
// arguments, where the planner proves the predicate from resource_type =
// 'project' (or 'group').
//
// Each INCLUDEs the columns the filters read that are not among its
// keys: revoked, expires_at, impersonation, created_at and last_used_at
// (the indexes of all tokens the last two since migration 0014, so that
// the range of one time, read for a page sorted by another, is an
// index-only scan too), and those of one owner's or resource's names
// name_folded, the lower-cased name a search tests (migration 0022; see
// The search index). With them a page and a count are
// index-only scans: the page query finds the IDs of the page in a
// subquery that reads the index in order and filters its entries, and
// only then joins the 20 rows of the page (a nested loop on the primary
// key keeps the subquery's order, so nothing is sorted), where a plain
// index scan would read the table for every entry it filters out. A page
// that filters on nothing but its scope (every token, or all of one
// owner's or resource's, in any order) has no entry to filter out, and
// reads its rows in the index's order directly: the join would only look
// each row up a second time, and doubles the planning (a page of every
// token by id: 0.046 ms to execute and 0.11 ms to plan, against 0.093 and
// 0.25 with the join, at 1,000,000 tokens). A
// search by words keeps the plain query: the trigram index serves it, and
// an index-only walk of the names in order, which reads every name until
// 20 match, would look cheaper to the planner than it is (49 ms rather
// than 2.5 ms for two rare words sorted by name). An
// index-only scan reads the table for pages the visibility map does not
// mark all-visible: autovacuum sets it after a bulk load or many writes
// (VACUUM sets it at once). tokens_previous_id_idx serves the tokens that
// replaced one, tokens_lower_name_idx the exact name search, and the
// trigram index the search by words (see The search index).
//
// pgx prepares and caches every statement, and after five executions the
// server may switch to a generic plan, planned for an average owner: for
// an owner of 10,000 tokens, such a plan read all of them and sorted them
// (40 ms) rather than read 20 in the order of an index. So the batch of a
// List sets plan_cache_mode to force_custom_plan for itself (SET LOCAL, in
// the batch's implicit transaction): every list is planned for its
// arguments, which costs a fraction of a millisecond of planning.
//
// TestListPlans checks, on a small table with sorts and sequential scans
// disabled, that the page of every scope, sort and filter the Service
// sends reads the index of its scope and key, and never sorts, and that
// the other plans of a bound of all tokens against the order (see below)
// read the bound's range of its index.
// TestExplainMillion fills a table with 1,000,000 tokens (50,000 users,
// 1,000 projects and groups), vacuums and analyzes it, and checks with
// the planner's own choices that no page query sorts (but a search's few
// matches) or reads the table sequentially, and that a search by rare
// words across all tokens uses the trigram index. Some plans, with
// EXPLAIN ANALYZE on PostgreSQL 15, on the 1,000,000 tokens of the
// benchmark command (internal/cmd/benchtable: a user holds 10,000 of
// them), times from a 2-CPU machine under load:
//
//	-- one owner's active personal tokens, expiring first
//	SELECT t.id, ... FROM (SELECT id, coalesce(expires_at, 'infinity'::timestamptz) AS k FROM patkit.tokens
//	WHERE user_id = $1 AND impersonation = $2 AND coalesce(expires_at, 'infinity'::timestamptz) > $3 AND NOT revoked
//	ORDER BY coalesce(expires_at, 'infinity'::timestamptz) ASC, id ASC LIMIT 20 OFFSET 0) AS p
//	JOIN patkit.tokens AS t ON t.id = p.id ORDER BY p.k ASC, p.id ASC
//	Nested Loop (actual time=0.091..2.326 rows=20 loops=1)
//	  ->  Limit (actual time=0.039..0.047 rows=20 loops=1)
//	        ->  Index Only Scan using tokens_user_expiry_idx on tokens (actual time=0.038..0.044 rows=20 loops=1)
//	              Index Cond: ((user_id = 2) AND ((COALESCE(expires_at, 'infinity'::timestamp with time zone)) > '2026-12-01 12:00:00+00'::timestamp with time zone))
//	              Filter: ((NOT impersonation) AND (NOT revoked))
//	              Rows Removed by Filter: 3
//	              Heap Fetches: 0
//	  ->  Index Scan using tokens_pkey on tokens t (actual time=0.113..0.113 rows=1 loops=20)
//	        Index Cond: (id = tokens.id)
//	-- its count: the owner's tokens not revoked that expire after now, from
//	-- the counters (see Counting): 10 expiry dates before the next block
//	-- and 11 blocks
//	SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total
//	FROM (SELECT (n) AS v FROM patkit.token_expiry_counts WHERE scope = $1 AND resource_type = $2 AND id = $3
//	AND level = 0 AND expires_at >= $4 AND expires_at < $5 UNION ALL SELECT (n) AS v FROM patkit.token_expiry_counts
//	WHERE scope = $6 AND resource_type = $7 AND id = $8 AND level = 1 AND expires_at >= $9) AS terms) AS counted
//	Subquery Scan on counted (actual time=0.021..0.022 rows=1 loops=1)
//	  ->  Aggregate (actual time=0.020..0.021 rows=1 loops=1)
//	        ->  Append (actual time=0.009..0.017 rows=21 loops=1)
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts (actual time=0.009..0.010 rows=10 loops=1)
//	                    Index Cond: ((scope = '1'::smallint) AND (id = '2'::bigint) AND (level = 0) AND (expires_at >= '2026-12-02 06:21:00.000001+00'::timestamp with time zone) AND (expires_at < '2026-12-13 00:00:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts token_expiry_counts_1 (actual time=0.003..0.004 rows=11 loops=1)
//	                    Index Cond: ((scope = '1'::smallint) AND (id = '2'::bigint) AND (level = 1) AND (expires_at >= '2026-12-13 00:00:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//
//	-- the same owner's tokens (an administrator's view) that expire before
//	-- 30 days from now, newest first: the page walks the owner's index by
//	-- creation
//	SELECT t.id, ... FROM (SELECT id, created_at AS k FROM patkit.tokens
//	WHERE user_id = $1 AND coalesce(expires_at, 'infinity'::timestamptz) < $2
//	ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0) AS p JOIN patkit.tokens AS t ON t.id = p.id ORDER BY p.k DESC, p.id DESC
//	Nested Loop (actual time=0.020..0.082 rows=20 loops=1)
//	  ->  Limit (actual time=0.015..0.038 rows=20 loops=1)
//	        ->  Index Only Scan Backward using tokens_user_created_idx on tokens (actual time=0.014..0.036 rows=20 loops=1)
//	              Index Cond: (user_id = '2'::bigint)
//	              Filter: (COALESCE(expires_at, 'infinity'::timestamp with time zone) < '2027-01-01 06:21:00+00'::timestamp with time zone)
//	              Rows Removed by Filter: 385
//	              Heap Fetches: 0
//	  ->  Index Scan using tokens_pkey on tokens t (actual time=0.002..0.002 rows=1 loops=20)
//	-- its count, 7,727 tokens: the blocks before that of the bound (level
//	-- 1) and the dates of the bound's block before it (level 0), revoked or
//	-- not; the walk of the 7,727 index entries it replaces took 2.7 ms
//	SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total
//	FROM (SELECT (n + n_revoked + n_imp + n_imp_revoked) AS v FROM patkit.token_expiry_counts
//	WHERE scope = $1 AND resource_type = $2 AND id = $3 AND level = 1 AND expires_at < $4
//	UNION ALL SELECT (n + n_revoked + n_imp + n_imp_revoked) AS v FROM patkit.token_expiry_counts
//	WHERE scope = $5 AND resource_type = $6 AND id = $7 AND level = 0 AND expires_at >= $8 AND expires_at < $9) AS terms) AS counted
//	Subquery Scan on counted (actual time=0.034..0.034 rows=1 loops=1)
//	  ->  Aggregate (actual time=0.033..0.034 rows=1 loops=1)
//	        ->  Append (actual time=0.012..0.028 rows=43 loops=1)
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts (actual time=0.012..0.016 rows=23 loops=1)
//	                    Index Cond: ((scope = '1'::smallint) AND (id = '2'::bigint) AND (level = 1) AND (expires_at < '2026-12-13 00:00:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts token_expiry_counts_1 (actual time=0.006..0.009 rows=20 loops=1)
//	                    Index Cond: ((scope = '1'::smallint) AND (id = '2'::bigint) AND (level = 0) AND (expires_at >= '2026-12-13 00:00:00+00'::timestamp with time zone) AND (expires_at < '2027-01-01 06:21:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//
//	-- the same owner's active tokens, oldest first: 5,498 entries filtered in the index
//	Nested Loop (actual time=2.795..3.168 rows=20 loops=1)
//	  ->  Limit (actual time=2.783..2.831 rows=20 loops=1)
//	        ->  Index Only Scan using tokens_user_created_idx on tokens (actual time=2.782..2.829 rows=20 loops=1)
//	              Index Cond: (user_id = 2)
//	              Filter: ((NOT impersonation) AND (NOT revoked) AND (COALESCE(expires_at, 'infinity'::timestamp with time zone) > '2026-12-01 12:00:00+00'::timestamp with time zone))
//	              Rows Removed by Filter: 5498
//	              Heap Fetches: 0
//
//	-- every active token, newest first
//	Nested Loop (actual time=0.131..0.152 rows=20 loops=1)
//	  ->  Limit (actual time=0.119..0.123 rows=20 loops=1)
//	        ->  Index Only Scan Backward using tokens_created_idx on tokens (actual time=0.118..0.121 rows=20 loops=1)
//	              Filter: ((NOT revoked) AND (COALESCE(expires_at, 'infinity'::timestamp with time zone) > '2026-12-01 12:00:00+00'::timestamp with time zone))
//	              Rows Removed by Filter: 3
//	              Heap Fetches: 0
//	  ->  Index Scan using tokens_pkey on tokens t (actual time=0.001..0.001 rows=1 loops=20)
//	-- its count: the counters of all tokens, 10 rows of expiry dates in the
//	-- block of now and 13 of later blocks and never; the walk of 10,001
//	-- unexpired tokens it replaces took about 1 ms
//	Subquery Scan on counted (actual time=0.027..0.028 rows=1 loops=1)
//	  ->  Aggregate (actual time=0.027..0.027 rows=1 loops=1)
//	        ->  Append (actual time=0.014..0.023 rows=23 loops=1)
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts (actual time=0.013..0.015 rows=10 loops=1)
//	                    Index Cond: ((scope = '0'::smallint) AND (id = '0'::bigint) AND (level = 0) AND (expires_at >= '2026-12-02 06:21:00.000001+00'::timestamp with time zone) AND (expires_at < '2026-12-13 00:00:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts token_expiry_counts_1 (actual time=0.004..0.006 rows=13 loops=1)
//	                    Index Cond: ((scope = '0'::smallint) AND (id = '0'::bigint) AND (level = 1) AND (expires_at >= '2026-12-13 00:00:00+00'::timestamp with time zone) AND (resource_type = ''::text))
//
//	-- every token not revoked, last used first, page 3
//	Nested Loop (actual time=0.262..0.288 rows=20 loops=1)
//	  ->  Limit (actual time=0.242..0.245 rows=20 loops=1)
//	        ->  Index Only Scan Backward using tokens_last_used_idx on tokens (actual time=0.238..0.243 rows=60 loops=1)
//	              Filter: (NOT revoked)
//	              Rows Removed by Filter: 9
//	              Heap Fetches: 0
//	  ->  Index Scan using tokens_pkey on tokens t (actual time=0.002..0.002 rows=1 loops=20)
//
//	-- the count of the inactive tokens of all: every token less the active
//	-- ones (it read up to 10,001 rows sequentially, up to 4 ms)
//	Subquery Scan on counted (actual time=0.088..0.089 rows=1 loops=1)
//	  ->  Aggregate (actual time=0.087..0.088 rows=1 loops=1)
//	        ->  Append (actual time=0.043..0.077 rows=25 loops=1)
//	              ->  Index Scan using token_counts_pkey on token_counts (actual time=0.042..0.045 rows=2 loops=1)
//	                    Index Cond: ((scope = '0'::smallint) AND (id = '0'::bigint) AND (resource_type = ''::text))
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts (actual time=0.016..0.018 rows=10 loops=1)
//	                    Index Cond: (... AND (level = 0) AND (expires_at >= '2026-12-02 06:21:00.000001+00'::timestamp with time zone) AND (expires_at < '2026-12-13 00:00:00+00'::timestamp with time zone))
//	              ->  Index Scan using token_expiry_counts_pkey on token_expiry_counts token_expiry_counts_1 (actual time=0.008..0.010 rows=13 loops=1)
//	                    Index Cond: (... AND (level = 1) AND (expires_at >= '2026-12-13 00:00:00+00'::timestamp with time zone))
//
//	-- the count of every token, or of any scope, impersonation and revocation: counters
//	SELECT CASE WHEN total > 10000 THEN 10001 ELSE total END FROM (SELECT CAST(coalesce(sum(v), 0) AS bigint) AS total
//	FROM (SELECT n + n_revoked + n_imp + n_imp_revoked AS v FROM patkit.token_counts
//	WHERE scope = $1 AND resource_type = $2 AND id = $3) AS terms) AS counted
//	Subquery Scan on counted (actual time=0.018..0.019 rows=1 loops=1)
//	  ->  Aggregate (actual time=0.017..0.018 rows=1 loops=1)
//	        ->  Index Scan using token_counts_pkey on token_counts (actual time=0.011..0.011 rows=1 loops=1)
//	              Index Cond: ((scope = '0'::smallint) AND (id = '0'::bigint) AND (resource_type = ''::text))
//	Execution Time: 0.034 ms
//
// Where an owner or resource has few tokens (20), the planner rightly reads
// them all and sorts them (a Bitmap Heap Scan under a Sort of 20 rows).
//
// It takes a minute, so go test skips it unless the environment variable
// PATKIT_TEST_MILLION is 1; with -v it logs every plan:
//
//	PATKIT_TEST_MILLION=1 PATKIT_TEST_POSTGRES_DSN=postgres://... go test -run TestExplainMillion -v ./pgstore
//
// What a page costs is the index entries it walks before it has the page:
// few when the filters keep most tokens in the walk's direction, up to the
// scope's size when they keep few. Within one owner or resource that is
// bounded (10,000 index entries, about a millisecond). Across all tokens,
// a time bound on one key against the order of another (a lower bound
// with an ascending order, an upper bound with a descending one) can walk
// most of the index, since times are correlated: tokens created in the
// last 90 days, sorted by expiry ascending, come after the old ones in
// that order. No single index serves a range of one key in the order of
// another, and the planner, which cannot tell that the two are
// correlated, chooses the ordered walk: 0.83 s for the tokens used in
// the last week, soonest expiry first, at 1,000,000 tokens. So List finds
// such a page in up to three steps, each of which gives the same page
// (sqlq.BoundPlan). The walks start at a seek: token_zones (migration
// 0015) holds for every 1,024 IDs bounds of their times, never narrower
// than theirs (the greatest expiry exactly, since 0016: a bound on the
// day of the zone's last expiry would otherwise meet it), and
// token_zone_names (0017) the least name of each; the tokens of a zone
// were created together, so their times are close, and the least key and
// ID (ascending; the greatest descending) of the zones whose bounds meet
// the list's are where its first match may be: the walks seek the row
// (key, id) from there, so that in the tie of the tokens that never
// expire, or were never used, they start at the first zone's IDs too.
// Near reads the first 10,000 entries from the seek (500 for each token of
// the page and of those before it; 1,000 entries, 50 a token, in
// descending order of names, for which the zones hold no bounds: the
// greatest name of a zone would change in every create of names that
// grow, and concurrent creates would wait for each other's commit on its
// row) under a LIMIT, and stops where the page is full; if they do
// not fill the page, the planner's estimate of the bound's range (EXPLAIN
// of its count, from the statistics; an expiry bound's range is counted
// from the counters), and if it holds at most 200,000 tokens, the range
// read and sorted (Range); else the whole walk from the seek. For the
// tokens created in the last 90 days, by ID:
//
//	-- Near: the seek skips the first 876,544 IDs, the page is full
//	-- after 189 entries
//	SELECT t.id, ... FROM (SELECT * FROM (SELECT id, created_at >= $1 AS keep FROM patkit.tokens
//	WHERE id >= (SELECT min(zone) * 1024 FROM patkit.token_zones WHERE created_hi >= $1)
//	ORDER BY id ASC LIMIT 10000) AS w WHERE keep ORDER BY id ASC LIMIT 20 OFFSET 0) AS p
//	JOIN patkit.tokens AS t ON t.id = p.id ORDER BY p.id ASC
//	Nested Loop (actual time=0.477..0.513 rows=20 loops=1)
//	  ->  Limit (actual time=0.472..0.484 rows=20 loops=1)
//	        ->  Subquery Scan on w (actual time=0.471..0.482 rows=20 loops=1)
//	              Filter: w.keep
//	              Rows Removed by Filter: 169
//	              ->  Limit (actual time=0.417..0.474 rows=189 loops=1)
//	                    InitPlan 2 (returns $1)
//	                      ->  Result (actual time=0.406..0.406 rows=1 loops=1)
//	                            InitPlan 1 (returns $0)
//	                              ->  Limit (actual time=0.403..0.404 rows=1 loops=1)
//	                                    ->  Index Scan using token_zones_pkey on token_zones (actual time=0.403..0.403 rows=1 loops=1)
//	                                          Index Cond: (zone IS NOT NULL)
//	                                          Filter: (created_hi >= '2026-09-03 21:51:01.721825+00'::timestamp with time zone)
//	                                          Rows Removed by Filter: 856
//	                    ->  Index Scan using tokens_pkey on tokens (actual time=0.417..0.462 rows=189 loops=1)
//	                          Index Cond: (id >= $1)
//	  ->  Index Only Scan using tokens_pkey on tokens t (actual time=0.001..0.001 rows=1 loops=20)
//
// And the tokens created before 600 days ago, by last use, newest first,
// whose walk begins in the tie of the 333,333 tokens never used, at the
// last ID of the zones of that time:
//
//	->  Index Only Scan Backward using tokens_last_used_idx on tokens (actual time=0.122..0.134 rows=51 loops=1)
//	      Index Cond: (ROW((COALESCE(last_used_at, 'infinity'::timestamp with time zone)), id) <= ROW($0, $1))
//
// Without the seek, the Near of tokens created in the last 90 days,
// soonest expiry first, found no match among the first 1,076 entries, and
// the Range read them:
//
//	-- Range: the 123,283 tokens of the bound, sorted (OFFSET 0 keeps the
//	-- planner from walking the order's index for them)
//	SELECT t.id, ... FROM (SELECT id, k FROM (SELECT id, coalesce(expires_at, 'infinity'::timestamptz) AS k
//	FROM patkit.tokens WHERE created_at >= $1 OFFSET 0) AS r ORDER BY k ASC, id ASC LIMIT 20 OFFSET 0) AS p
//	JOIN patkit.tokens AS t ON t.id = p.id ORDER BY p.k ASC, p.id ASC
//	Nested Loop (actual time=18.998..19.064 rows=20 loops=1)
//	  ->  Limit (actual time=18.968..18.972 rows=20 loops=1)
//	        ->  Sort (actual time=18.967..18.969 rows=20 loops=1)
//	              Sort Key: (COALESCE(tokens.expires_at, 'infinity'::timestamp with time zone)), tokens.id
//	              Sort Method: top-N heapsort  Memory: 26kB
//	              ->  Index Only Scan using tokens_created_idx on tokens (actual time=0.012..11.277 rows=123283 loops=1)
//	                    Index Cond: (created_at >= '2026-09-03 09:16:45.532956+00'::timestamp with time zone)
//	  ->  Index Scan using tokens_pkey on tokens t (actual time=0.004..0.004 rows=1 loops=20)
//
// The estimate takes a fraction of a millisecond where counting those
// tokens took 23 ms; where it is wrong (statistics older than a bulk
// load), it picks the slower plan, never another page. A bound with the
// order (created before a day, oldest expiry first) finds its matches
// among the first tokens it walks, and keeps the walk. Since the indexes of
// all tokens INCLUDE every time (migration 0014), the range and the walk
// read only their index. On the benchmark command's bounds, which keep
// 21,000 to 319,000 of 1,000,000 tokens, the slowest such pages went from
// 0.83 s to 4.7 ms (used in the last week, soonest expiry first), 0.73 s
// to 16 ms (created in the last 90 days, the same order), 0.25 s to 31 ms
// (the same bound by name, which the range reads from the table) and
// 0.13 s to 32 ms (used before a year ago, newest first: 319,000 tokens,
// walked) with the range. With the seek, in one run on an AMD EPYC with
// 2 vCPUs, the second took 3.3 ms (18.7 ms before the seek), the fourth
// 3.4 ms (34.9 ms), those created in the last 90 days by ID 4.1 ms (12.8
// ms) and those expiring from 180 days on, by creation, 3.4 ms (10.2 ms).
// Near's first form walked up to a cutoff, the key of its 10,000th entry,
// which a subquery found first (1 ms), and from the first entry of a tie:
// with the LIMIT and the seek by key and ID, on the same machine and
// data, those created in the last 90 days by ID took 2.1 ms (3.8 ms
// with the cutoff), the same by expiry 2.3 ms (4.4 ms), and the three
// descending orders that begin in a tie 1.7 to 2.4 ms (7.8 to 25.5 ms).
// Where the zones cannot skip, Near costs that much more before the range
// is read: tokens used in the last week include old tokens still in use,
// whose zones' times are early in any order (8.5 to 10.7 ms, against 5.2
// to 5.9 ms before the seek). Those lists, of all tokens used after a
// time of the last 31 days (sqlq.RecentDays), bounded on no other time,
// in another order than last use's, read the indexes of recent use
// instead, day by day: for each day from the bound's to today's, an
// index-only scan of the day's first
// entries in the order, up to the end of the page, merged (Merge Append);
// the tokens used after today (none, unless a clock ran ahead) are a
// range of tokens_last_used_idx. Such a page is planned once, generic
// (its plan is the same whatever its arguments), where planning it for
// its arguments took 1 to 2.5 ms of a list whose walks took 0.1 to 0.3
// ms:
//
//	-- used in the last week, by name (a generic plan)
//	Nested Loop
//	  ->  Limit
//	        ->  Merge Append
//	              Sort Key: ((tokens.name)::text) COLLATE "C", tokens.id
//	              ->  Limit
//	                    ->  Index Only Scan using tokens_used_day_name_idx on tokens
//	                          Index Cond: (((((last_used_at AT TIME ZONE 'UTC'::text))::date - '1970-01-01'::date)) = $2)
//	                          Filter: ((COALESCE(last_used_at, 'infinity'::timestamp with time zone) < 'infinity'::timestamp with time zone) AND (COALESCE(last_used_at, 'infinity'::timestamp with time zone) >= $1))
//	              ... seven more days ...
//	              ->  Sort
//	                    Sort Key: ((tokens_8.name)::text) COLLATE "C", tokens_8.id
//	                    ->  Bitmap Heap Scan on tokens tokens_8
//	                          ->  Bitmap Index Scan on tokens_last_used_idx
//	  ->  Index Scan using tokens_pkey on tokens t
//
// On the benchmark command's 1,000,000 tokens (the last week's 21,068
// uses), Store.List of the first page, in turns with the walk and range
// (an ad hoc test, three runs of 20 each, their 25th percentiles): by ID
// 1.39 to 2.34 ms (5.96 to 12.6 before), by creation 1.37 to 2.28 (5.87
// to 9.78), by expiry 1.46 to 1.85 (6.01 to 6.82), by name 1.71 to 2.14
// (12.3 to 14.9); the descending orders, whose walk met the week's tokens
// at once, the same as before (1.29 to 1.79 ms against 1.40 to 1.94), as
// did the order of last use (1.52 to 1.79 ms), whose plan is unchanged:
// most of each is the count, up to 10,001 entries of
// tokens_last_used_idx. The four indexes took 210 MB (48 to 60 MB each,
// of the 666,667 tokens that were used; the table 237 MB).
//
// OFFSET pages cost in proportion to their depth, as in GitLab: page 500
// of 20 reads 10,000 index entries.
//
// The indexes cost space and writes: 15 indexes besides the primary key,
// the digest's and previous_id's, each written by a Create (the five of
// one resource's tokens for project and group tokens only), and
// tokens_user_impersonation_idx for impersonation tokens; and as
// revoked and last_used_at are indexed, a Revoke or a SetLastUsed is
// never a HOT update: it writes a new entry in every index of the table,
// the four of recent use among them once the token has been used (a
// Create writes none of those).
//
// # The search index
//
// Search by words keeps the tokens whose name contains each word, ignoring
// case, as GitLab's name ILIKE '%word%' does. ILIKE lower-cases both sides
// (lower(name) LIKE lower(pattern), under the column's collation), and
// lower-cased every name it tested: the tokens table stores lower(name)
// as name_folded (a generated column, migration 0022, which PostgreSQL
// computes for the Store's writes and a host's own alike), and List tests
// name_folded LIKE lower('%word%'), which keeps the same tokens. The
// indexes of one owner's and one resource's names INCLUDE name_folded:
// within a user, project or group a search, and its count, test the
// scope's entries of that index and read no row (the count of the 9,990
// tokens of one owner whose names all hold "deploy" took 1.1 ms, against
// 4.1 ms with ILIKE on the names of the same index; pgbench on a copy of
// benchtable's names and owners, an AMD EPYC).
//
// Search by words cannot use a B-tree index. Across
// all tokens a common word fills a page at once (0.05 ms for "deploy",
// one name in five, with 20 ms for its count); but a rare word across all
// tokens reads every name, for the page and again for the count: 0.31 s
// and 0.33 s at 1,000,000 tokens on a 2-CPU server, 0.5 to 0.9 s for
// List. A trigram index of the names (the extension pg_trgm, part of
// PostgreSQL's contrib and of the usual managed services) serves it from a
// few index entries instead:
//
//	-- every token named with the word "12345": 20 of 1,000,000
//	SELECT ... FROM patkit.tokens WHERE name_folded LIKE lower($1) ESCAPE '\' ORDER BY id ASC LIMIT 20 OFFSET 0
//	Limit (actual time=0.333..0.336 rows=20 loops=1)
//	  ->  Sort (actual time=0.333..0.334 rows=20 loops=1)
//	        Sort Key: id
//	        ->  Bitmap Heap Scan on tokens (actual time=0.304..0.320 rows=20 loops=1)
//	              Recheck Cond: (name_folded ~~ '%12345%'::text)
//	              ->  Bitmap Index Scan on tokens_name_trgm_idx (actual time=0.299..0.299 rows=20 loops=1)
//	                    Index Cond: (name_folded ~~ '%12345%'::text)
//	Execution Time: 0.360 ms
//
//	-- and without the index
//	Limit (actual time=915.770..959.028 rows=20 loops=1)
//	  ->  Gather Merge (actual time=915.769..959.023 rows=20 loops=1)
//	        ->  Parallel Index Scan using tokens_pkey on tokens (actual time=105.118..596.214 rows=7 loops=3)
//	              Filter: (name_folded ~~ '%12345%'::text)
//	              Rows Removed by Filter: 333327
//	Execution Time: 959.084 ms
//
// (the plans on an AMD EPYC with migration 0022; with ILIKE on name, on
// an earlier, faster machine, 0.25 and 313 ms.) The count beside it takes
// 0.22 ms with the index (332 ms without); two
// words ("2345 deploy", 140 matches, sorted by name) take 2.7 ms, both
// words' trigrams looked up in the one index.
//
// So after the migrations have committed, Migrate tries, in a transaction
// of its own:
//
//	CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA patkit; -- if the database has no pg_trgm
//	CREATE INDEX IF NOT EXISTS tokens_name_trgm_idx ON patkit.tokens USING gin (name_folded patkit.gin_trgm_ops);
//
// It is not a numbered migration, which would fail wherever the extension
// cannot be installed. It is best effort: if the server refuses it, the
// transaction rolls back, Migrate succeeds all the same, and search works
// unindexed; a later Migrate, once the cause is fixed, creates the index.
// The usual refusals: the role may not install extensions (pg_trgm is a
// trusted extension since PostgreSQL 13, which the database's owner or any
// role with CREATE on the database may install; before, only a
// superuser), the server lacks contrib, the role may not use the schema
// pg_trgm is installed in, or does not own the tokens table. Migrate fails
// for it only if the connection is lost or its context ends.
// [Store.SearchIndexed] reports whether the table has a trigram index of
// name_folded (any valid one, whatever its name): a host may log a warning at
// startup when it has not.
//
// Where the database has pg_trgm already, in whatever schema, Migrate uses
// it, qualifying the operator class with that schema. Otherwise it
// installs it in the Store's schema, which exists and which the role may
// create in, and where the extension's functions stay off other
// applications' search_path. Dropping that schema with CASCADE then drops
// the extension too, and with it the trigram indexes of any other schema
// that used it (their next Migrate installs it again, in their own); as
// pg_trgm is relocatable, ALTER EXTENSION pg_trgm SET SCHEMA public moves
// it, and the indexes and queries keep working: the index refers to its
// operator class by OID, and LIKE's operator is in pg_catalog.
//
// Instances migrating at once wait for each other under an advisory lock,
// common to every schema of the database (there is one pg_trgm per
// database): one creates, the others find the index there. Building it
// holds a SHARE lock on tokens, so writes wait for it: instantly on a new
// install, 2.5 s at 1,000,000 tokens, once. Migrate waits at most 5 s
// (lock_timeout) for the locks, and gives up rather than make every writer
// queue behind a long transaction. A statement_timeout shorter than the
// build makes each start give up, after holding writes that long. The
// index takes 24 MB at 1,000,000 tokens (the table 189 MB), and each
// Create, Rotate and SetLastUsed writes its entries (GIN's pending list
// keeps that cheap).
//
// Set [Options].NoSearchIndex where installing extensions or holding
// writes is a DBA's decision, and have the DBA run, without blocking
// writes:
//
//	CREATE EXTENSION IF NOT EXISTS pg_trgm;
//	CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_name_trgm_idx ON patkit.tokens USING gin (name_folded gin_trgm_ops);
//
// (qualifying gin_trgm_ops with pg_trgm's schema if the search_path does
// not reach it). A CONCURRENTLY build that fails leaves an invalid index,
// which SearchIndexed does not count and Migrate, finding its name taken,
// does not replace: drop it and build it again. Hosts applying the migrations with their own tooling
// add these statements to it, or do without the index. A trigram index
// of name made before migration 0022 is built again on name_folded by
// it, with the old one's operator class; where the migrating role may not
// use pg_trgm's schema, 0022 drops it instead (no search reads it any
// more), and the DBA builds it again with the statement above.
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
//   - token_counts: a scope (all tokens, one user's, one project's or
//     group's) has four counters, impersonation token or not by revoked
//     or not, kept in up to 16 rows, its stripes. Without a state, the
//     count adds up the counters the query keeps of a scope's rows.
//   - token_expiry_counts counts every token, revoked or not, of the
//     same scopes, by expiry, in the same four counters (n, n_revoked,
//     n_imp, n_imp_revoked; migration 0013 added the revoked ones, which
//     0007 left out), in two levels: per expiry (level 0), and per block
//     of 32 days from the Unix epoch (level 1), where the tokens that
//     never expire count at 'infinity'; each key in up to 16 stripes. So
//     the tokens of a scope that expire after a time (and so those that
//     do not: the scope's tokens less those), with any impersonation and
//     revoked filter, are those of its level-0 keys after that time and
//     before the next block, and those of its level-1 keys from the next
//     block on: at most 31 keys and one per 32 days up to the latest
//     expiry, about 45 when tokens expire within a year (GitLab's
//     default), so at most about 720 rows however many tokens there are,
//     and as many as the stripes that writers used. The active tokens of
//     a scope at now are those not revoked (n, n_imp) that expire after
//     now; the inactive tokens are the others: the scope's tokens in
//     token_counts less its active ones. Nothing is written as time
//     passes; a count at another time reads other rows of the same
//     table.
//   - The same two levels count any range of expiries: the tokens that
//     expire from a to before b are those of the level-0 keys in the
//     parts of [a, b) that cover no whole block (at most two blocks of
//     31 keys), and those of the level-1 keys of the blocks it covers.
//     A bound leaves out the tokens that never expire, as the filter
//     does. With a bound, the active tokens are those not revoked in the
//     range from the microsecond after now, and the inactive ones the
//     revoked tokens of the range and the others of it up to now.
//
// A list of all tokens bounded on creation as well (the tokens created in
// the last 90 days, say) reads those counters first, without the bound,
// and token_zones (migration 0015): every token they count was created
// within the bound but those of the zones whose creation times do not lie
// within it, at most 1,024 tokens each, and where that leaves more than
// MaxCount, MaxCount+1 is the count. At 1,000,000 tokens (benchtable's
// schema, the Intel Xeon, medians of 15 List calls in turns with the
// former count, an ad hoc test), the 18 lists of all tokens created after
// or before a time, in each order, took 0.72 to 2.14 ms where they took
// 1.59 to 3.38 ms: the counters and the zones' 977 rows, 0.3 ms and 0.6
// ms of planning, where 10,001 entries of tokens_created_idx were read.
//
// A list of all tokens bounded on last use (the tokens used in the last
// week, or not since a year ago) is bounded from below the same way, from
// token_use_counts (migration 0019): it counts every token used, revoked
// or not, by the UTC day of its last use (level 0) and by block of 32 of
// those days from 1970-01-01 (level 1; the day divided by 32, rounded
// down), each key in up to 16 stripes. The tokens the other filters keep
// (the counters), less every token, plus those last used on the days
// that lie whole within the bounds (their blocks, and the days of the two
// blocks the bounds cut: at most 62 days and one row per block), is no
// more than the matches; above MaxCount, MaxCount+1 is the count. A
// never-used token counts in no row, so a create writes none. At
// 1,000,000 tokens (benchtable's schema, the AMD EPYC, medians of 9 List
// calls), the 18 lists of all tokens used after or before a time took
// 0.59 to 1.64 ms where they took 1.5 to 3.5 ms, the count 0.05 to 0.14
// ms in EXPLAIN ANALYZE where the walk of 10,001 entries of
// tokens_last_used_idx took 1.7 to 2.6 ms (1.3 to 1.8 ms without
// EXPLAIN).
//
// A search of all tokens by one word (with or without other filters) is
// bounded from below the same way, from token_words (migration 0020): the
// number of tokens whose name, lower-cased as ILIKE compares it and split
// at spaces, has the word among its words (of 3 characters or more, each
// counted once per token), every one of which holds it. The table counts
// the tokens up to the ID token_words_mark records (upto), which
// token_words_catch_up() moves to the highest ID, counting the words of
// the tokens between; Migrate calls it, and the Store after every create
// whose ID is a multiple of 256, in a statement of its own after the
// create's commit, so that creates write no row of it and do not queue on
// the rows of common words. Tokens it has not counted yet, or never will
// (committed after a catch-up that counted beyond them), only lower the
// bound. A host's DELETE, or an UPDATE of a token's name or ID, takes
// the counted words of the tokens it changes away (triggers on tokens),
// the UPDATE counts the new name's words where the new ID is counted
// (migration 0021), and TRUNCATE empties the table and counts again from
// the first ID: the bound never counts a word a token no longer holds,
// and a token renamed stays counted. Those triggers and a
// catch-up take token_words_mark's row FOR UPDATE before any row of
// token_words (migration 0021): a token deleted while a catch-up counts
// it is taken away after that catch-up commits, and two transactions
// that delete or rename tokens sharing words wait for each other there
// rather than deadlock over the words' rows (in 0020, which took the row
// FOR SHARE, two renames of such tokens in opposite orders did). A
// catch-up that finds the row held counts nothing (SKIP LOCKED) and
// leaves those tokens to the next, so that a create never waits for a
// host's transaction that deleted tokens. At 1,000,000 tokens
// (benchtable's schema, where "deploy" is a word of 200,000 names), the
// first page of a search of all tokens for "deploy" took 0.52 to 0.91 ms
// in the nine orders, where it took 21 to 36 ms reading 50,000 names
// until 10,001 matched; the table held 999,904 words in 64 MB, a
// catch-up of 256 tokens took 4.6 ms and one of nothing 0.4 ms, and the
// migration's catch-up of the 1,000,000 tokens 12 s, during which writes
// to tokens wait for the migration's triggers. A trigger that counted
// each create's words instead cost 60 to 150 µs per single-row insert on
// a scratch table (pgbench), a fifth of a create.
//
// Otherwise, and for any other query (any other search, a previous
// token, an owner or a resource bounded on creation or last use, or an
// owner together with a resource), it reads its matching rows, and stops
// after MaxCount+1 of them.
//
// Triggers on tokens keep the counters in the transaction that changes
// tokens, whoever changes them: the Store's Create, Revoke and Rotate, and
// the host's own INSERT, UPDATE, DELETE, COPY and TRUNCATE. A transaction
// rolled back rolls its counts back with it. One trigger per kind of
// write (migration 0008) runs once per statement, with the statement's
// changed rows (transition tables), and adds to each counter row of both
// tables in one upsert per table what the statement added to it or took
// from it: a COPY of a million tokens writes each counter row once. A
// statement that changes one token (every write of the Store) adds that
// token's numbers to its rows without grouping them first. The UPDATE
// trigger runs after every UPDATE of tokens (PostgreSQL gives no
// transition tables to a trigger on some columns only), and writes nothing
// when no token's owner, resource, impersonation, revocation or expiry
// changed (SetLastUsed, a revocation of a revoked token). A revocation
// moves the token between the counters of the rows it counts in, in both
// tables, and writes no other row. Rows of token_expiry_counts are never
// deleted (one stripe may hold the +1 of a token, another its -1): the
// table keeps up to 16 rows for every expiry date and block that a scope
// ever had, which counts after that date no longer read, and which only
// cost space. The keys of both tables end with resource_type (migration
// 0011), so that the lookups of a write's 6 to 9 counter rows compare the
// columns of fixed width first.
//
// A transaction writes only the stripe of its transaction ID modulo 16, so
// that concurrent writers, even for one user, update different rows
// rather than queue for one row's lock until each commits: with one row
// per scope, every write of the instance would wait for the commits, and
// their flushes to disk, of all the writes before it (most tokens created
// on a day expire on the same date, so token_expiry_counts is striped
// the same way). Each statement writes the row of all tokens of its
// stripe in token_counts before any other counter row (locking it when
// only expiries changed), and its transaction holds it until it ends, so
// transactions that share a stripe wait at that row and never deadlock
// over counters.
//
// token_use_counts is kept by row triggers instead, whose WHEN clause
// leaves out every write but an INSERT or DELETE of a used token and a
// change of last_used_at: Create, Revoke and Rotate never call them, and
// a SetLastUsed writes when the day of the last use changed, once a day
// per token at most (a use is written once per 10 minutes at most). Such
// a write takes the row of all tokens of its stripe in token_counts
// first, as every writer of counters does, then adds -1 to the old day
// and block and +1 to the new, in key order. Measured at 1,000,000 tokens
// (pgbench, 16 clients, 8 s runs in turns with the triggers disabled): an
// UPDATE of a random token's last use to a random day 1,296 to 1,304 a
// second against 1,576 to 1,602 without; to now, 1,326 to 1,385 against
// 1,374 to 1,481.
//
// The zones (migrations 0015 to 0017, and 0023) are widened by row
// triggers: a token outside its zone's bounds widens the zone's row with
// an upsert that PL/pgSQL plans once per connection, in the order
// of the statement's rows, and its transaction holds the row until it
// ends. Every write of the Store changes one token per statement, so it
// widens one zone at most. Two statements of a host's that each widen
// several zones, in opposite orders, can wait for each other, and
// PostgreSQL aborts one of them (deadlock detected, SQLSTATE 40P01;
// nothing is lost, the aborted transaction rolls back whole): an UPDATE
// of times joined to a list of IDs that is not sorted by ID, say, run
// twice at once with tokens of the same two zones in the two lists.
// Sort such lists by ID, as a statement that reads tokens by an index of
// IDs does, or retry on that error.
//
// What it costs, measured on a loaded 2-core machine with PostgreSQL 15:
// counting all of 1,000,000 tokens takes 0.05 ms instead of about 2 ms
// for the walk of 10,001 rows, and the same at 1,000 tokens. A statement
// that creates or revokes a token takes about 0.1 to 0.25 ms more server
// time (pgbench, one client, synchronous_commit off), an UPDATE that
// changes no counted column about 0.07 ms more; a durable commit costs
// more than either (with the triggers of 0004 and 0007; those of 0008
// cost less, see below). Sixteen goroutines creating tokens for one user
// (BenchmarkCreate/Parallel, -cpu 16, durable) took 0.36 to 1.0 ms a
// create over five runs, within the spread of the runs without counters
// (0.2 to 1.3 ms). With a single row per scope instead of stripes they
// took 1.0 to 3.6 ms in three runs on the busy machine, and 0.42 to 0.45
// ms, as the others did then, in two runs once it was quieter and the
// processors rather than the disk set the pace: the stripes matter when
// commits wait for the disk. One INSERT of
// 1,000,000 tokens takes about a quarter longer. A transaction that changes tokens in many separate statements
// updates the same counter rows in each, and each update passes the row
// versions the transaction made before it: 4,000 single-row UPDATEs in
// one transaction took 1.8 s instead of 0.3 s, so change many tokens in
// one statement (200,000 revocations by one UPDATE took 12 s in all).
//
// A transaction left open elsewhere in the database (a pg_dump, a long
// report, a session idle in a transaction) keeps every version of the
// counters' rows written after it began, and a count reads them all
// until it ends and a VACUUM removes them (autovacuum's, on so small a
// table, soon after). On a schema of 50,000 tokens, after 6,013 creates
// (pgbench, one client) during a REPEATABLE READ transaction, the count
// of all tokens read 2,005 buffers of token_counts and took 0.34 ms
// instead of 5 buffers and 0.025 ms (the fifth run in one session;
// the first reader sets the versions' hint bits, and took 6.6 to 7.5 ms
// after 8,002 creates); 875 buffers and 0.22 ms once the transaction had
// ended, 5 after a VACUUM. Keep such transactions short or on a replica,
// or set idle_in_transaction_session_timeout.
//
// The counters of expiry (migration 0007), measured on the same machine:
// at 1,000,000 tokens (TestExplainMillion), the count of the active
// tokens of all takes 0.065 ms in EXPLAIN ANALYZE (29 rows), that of the
// inactive ones 0.08 ms, where the walks they replace took about 1 ms and
// up to 4 ms. A durable Create, of a token that expires, took 0.77 to
// 0.78 ms instead of 0.68 to 0.70 ms one at a time, and 0.48 to 0.50 ms
// instead of 0.44 to 0.46 ms from 16 goroutines (BenchmarkCreate -cpu 16,
// three interleaved runs each, with and without the counters of expiry):
// about a tenth more.
//
// The one trigger per write of migration 0008, counted in instructions
// of the server process (callgrind of a single-user backend, 20,000
// tokens, each statement in its own transaction): the triggers of a
// create took 0.55 million instructions instead of 0.68 million (the
// whole statement 1.40 million instead of 1.53 million), those of a
// revocation 0.70 million instead of 1.27 million (1.45 instead of 2.02),
// and those of an UPDATE that changes no counted column 0.12 million
// instead of 0.21 million. Migration 0010 reads the one token changed,
// and how many there are, in one query (an UPDATE's old row in a second)
// where 0008 made two (three), and reads only the counted columns: at
// 1,000,000 tokens, with the indexes of 0009, a revocation took 1.54 to
// 1.56 million instructions instead of 1.58 to 1.60 million, and a create
// stayed within the spread of the runs (1.18 to 1.23 million).
// Migration 0013, which counts revoked tokens by expiry too, writes the
// same WAL records for a create and a revocation (34.1 and 32.8 a
// statement, 5,000 tokens, pg_walinspect); a revocation's updates of its
// expiry rows log 16 bytes more each, about 64 bytes of its 2.8 kB.
//
// Writes made with triggers disabled (session_replication_role = replica,
// ALTER TABLE ... DISABLE TRIGGER) are not counted: apply migrations
// 0004, 0007, 0008, 0010 and 0013 again, in that order (their files of
// [Migrations], in one transaction, with search_path set to the schema):
// 0004 and 0007 count the tokens afresh (0007 the tokens not revoked),
// and put back triggers of their own that 0008 replaces, whose functions
// 0010 replaces, and 0013 again, after counting the revoked tokens by
// expiry. Nor do such writes widen the zones, and a list of all tokens
// bounded in time may then miss the tokens they wrote: apply 0015, 0016
// and 0017 again, in that order, which bound every token from its zone's
// aggregates (0.3 to 1 s each at 1,000,000 tokens), then 0023, whose
// trigger functions replace those they put back, and 0019, which
// counts the tokens by their last use afresh (1.6 s there). Writes
// without triggers do not take the words of deleted or renamed tokens
// away from token_words: empty it (DELETE FROM token_words; UPDATE
// token_words_mark SET upto = 0) and apply 0020 again, which counts them
// all, then 0021, whose functions replace those 0020 puts back.
//
// Migrations 0004 and 0007 created the tables, their functions and
// triggers, and counted the tokens already there, each in one transaction
// that holds a SHARE ROW EXCLUSIVE lock on tokens meanwhile: writes wait
// for it, once (at 1,000,000 tokens, 3 s for 0004; 24 s for 0007 on the
// loaded machine, which wrote 1,139,836 rows for tokens of 50,000 users
// expiring over two years: roughly a row per token, fewer where
// tokens share their dates); reads do not. Migration 0008 takes the same
// lock only to replace the triggers, and counts nothing (0.4 s at
// 1,000,000 tokens). Migration 0013 takes it too, first, to add the
// counters of revoked tokens to token_expiry_counts and count those
// already there.
//
// Migration 0022 adds name_folded, a stored generated column, which
// writes the table again with every index, and builds the indexes of
// names and the trigram index again: it holds tokens exclusively, reads
// too, until it commits, so authentication waits for it, once (24 s at
// 1,000,000 tokens on two shared CPUs: 19 s for the ALTER TABLE, 4.4 s
// for the builds). Apply it where a pause of that length is acceptable.
//
// # Pool sizing
//
// Every Store method holds one connection for the duration of one
// statement, except List (one round trip with two queries); Watch holds one more, outside the pool (see
// Several instances). Authentication is one unique-index lookup
// (GetByDigest, about a tenth of a millisecond in the server), so a small
// pool serves many requests: start with pool_max_conns at two to four
// times the CPUs of the database server divided by the number of
// instances, and keep the sum over all instances, plus every other client,
// below the server's max_connections minus superuser_reserved_connections.
// A request that finds the pool exhausted waits for a connection until its
// context ends. Set connect_timeout in the DSN (for example 5 seconds) so
// that an unreachable server fails a call with [patkit.ErrUnavailable]
// within that time rather than at the request's deadline, and
// pool_max_conn_lifetime and pool_health_check_period to taste.
//
// Behind PgBouncer in transaction mode before version 1.21, named prepared
// statements (pgx's default statement cache) do not work: add
// default_query_exec_mode=exec (or cache_describe) to the DSN.
//
// # Errors
//
// Every error names the operation ("pgstore: rotate: ...") and wraps:
//
//   - [patkit.ErrNotFound]: no token has that ID or digest.
//   - [patkit.ErrConflict]: Create or Rotate with a digest that exists (a
//     reused secret; with random secrets, a bug), nothing saved.
//   - [patkit.ErrTokenRevoked]: Rotate of a revoked token, which includes
//     losing a race with a concurrent rotation of the same token.
//   - [patkit.ErrUnavailable], together with the driver's error: the
//     server could not be reached (refused, DNS, TLS, authentication, or
//     no answer within the DSN's connect_timeout), the connection broke,
//     the server is shutting down or starting (57P01-57P03), refused the
//     connection (class 08, 53300 too many connections), or the Store is
//     closed. It is transient: the pool reconnects by itself, and patkit's
//     HTTP layer answers 503 until it does. No partial rotation is ever
//     committed.
//   - context.Canceled or context.DeadlineExceeded, never ErrUnavailable,
//     when the caller's context ended. A method called with a done context
//     changes nothing. One whose context ends during the call reports it
//     the same way; a write may then have committed or not (Rotate is
//     still all or nothing). A request's deadline that passes while the
//     server does not answer is reported that way too: set connect_timeout
//     below the requests' deadlines so that an unreachable server gives
//     ErrUnavailable instead (see Pool sizing).
//
// Anything else wraps the *pgconn.PgError unchanged and points at the
// deployment: SQLSTATE 42P01 (undefined table) means the migrations were
// not applied to that schema, 42501 that the role lacks a privilege.
//
// # Several instances
//
// A Store keeps no state but its pool: every instance reads what every
// other has committed. Rotate revokes the old token only if it is not
// revoked yet, under its row's lock, and inserts its successor only with
// that revocation, in one statement: of concurrent rotations of one token,
// from any number of goroutines or processes, the later ones wait for the
// row, find it revoked and change nothing, so exactly one commits and the
// others return ErrTokenRevoked.
//
// What delays a revocation is the Service's authentication cache
// ([patkit.Options] CacheSize and CacheTTL, 10 seconds by default): an
// instance that has a token cached does not ask the database. A revocation
// or rotation drops the token from the cache of the instance that made it
// at once; the other instances learn of it through [patkit.Service.Watch],
// which a host runs beside its server, for the life of the process:
//
//	store, err := pgstore.Open(ctx, dsn, &pgstore.Options{Schema: "patkit"})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	svc, err := patkit.New(store, dir, key, nil)
//	if err != nil {
//		return err
//	}
//	go func() {
//		// Returns only when ctx ends or store is closed; it retries an
//		// unreachable database by itself.
//		if err := svc.Watch(ctx); ctx.Err() == nil {
//			log.Printf("patkit: revocation feed stopped: %v", err)
//		}
//	}()
//	// serve with svc
//
// Revoke, Rotate and RevokeDescendants send each revoked token's ID with
// pg_notify on a channel of the schema ("patkit_revoked_" and a hash of
// the schema name, so schemas sharing a database do not hear each other),
// in the transaction that revokes: PostgreSQL delivers it at commit, never
// for a transaction rolled back. [Store.Watch] LISTENs on a connection of its own and
// drops each notified token from the cache. The bound on how long another
// instance keeps accepting a revoked token is:
//
//   - With Watch running: the time the notification takes, about a
//     millisecond. TestTwoInstancesRevocation revokes (and rotates) on one
//     Service and polls a second one, which has the token cached for an
//     hour, every millisecond until it refuses it; with both on PostgreSQL
//     15 on one shared 2-CPU machine, 20 rounds each, across seven runs
//     (five with -race): revocation median 0.17 to 1.7 ms, max 0.55 to
//     3.2 ms; rotation median 0.12 to 1.7 ms, max 1.5 to 6.2 ms. The 1 ms
//     polling interval is the resolution: a refusal comes at the first
//     poll (0.08 to 0.5 ms) or the next (1.2 to 1.9 ms). Between machines,
//     add the network's latency to the listener.
//   - While the feed is down: when the listening connection drops, Watch
//     empties the cache at once, reconnects (backing off from 50 ms to 2 s)
//     and empties it again once it listens again, so nothing cached before
//     or during the gap outlives it: a token is trusted at most until the
//     reconnection or CacheTTL, whichever comes first
//     (TestWatchReconnects: a token revoked as the listener was killed
//     was refused after about 0.5 ms, the drop having emptied the cache). A
//     connection lost without a TCP reset is found by a ping after 15
//     seconds without notifications; until then CacheTTL is the bound.
//   - Without Watch, or with a listener that cannot hear (below):
//     CacheTTL, as TestUnwatchedInstanceUsesCacheTTL shows.
//
// Expiry is checked on every request, cached or not. The listener is one
// more connection per instance, outside the pool and not counted in
// pool_max_conns: count it against max_connections. It must be a session
// on the primary: LISTEN fails on a hot standby (Watch keeps retrying),
// and behind PgBouncer in transaction mode notifications are not delivered
// to it: give such hosts [Options.ListenDSN], a DSN that reaches the
// primary directly or through a session-mode pool.
package pgstore
