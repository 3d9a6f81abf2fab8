-- 0012: the indexes of all tokens by creation, last use and expiry hold
-- every time the lists sort or filter by, as those of one owner or
-- resource do.
--
-- A list of all tokens bounded on one time and ordered by another
-- (created in the last 90 days, sorted by expiry, say) reads the bound's
-- range of its index and sorts it by the order's key (internal/sqlq's
-- BoundPlan). When the bound's index did not hold the order's key, that
-- read the table for every token of the range: at 1,000,000 tokens, the
-- 62,000 tokens that expire after a date, sorted by creation, took
-- 62,000 table reads. The walk of one time's index filtered on another
-- (a page that the range would not serve faster) read the table per
-- entry too. With created_at and the last-used key in tokens_expiry, the
-- last-used key in tokens_created and created_at in tokens_last_used,
-- the range of any of the three times, with its sort key, is read from
-- its index alone, and so is the walk's filter on another time. The key
-- columns and their order are kept: each index serves the same orders
-- and the same ranges as before. tokens_name is left as it is: a sort by
-- name reads the table for the name anyway.
--
-- Measured on benchtable's 1,000,000 tokens (a copy at migration 0011,
-- sqlite3 3.40.1, reading the file without mmap): the range of the
-- 62,359 tokens that expire 180 days or more after the newest creation,
-- sorted by creation, took 0.025 to 0.032 s instead of 0.23 to 0.31 s;
-- that of the 21,068 used in the last week, sorted by creation, 0.004 s
-- instead of 0.04 to 0.05; the walk of tokens_expiry to the first 20
-- created in the last 90 days, 0.07 to 0.09 s instead of 2.7 to 2.9 s.
-- A first page of Store.List with its count (the best of 5, on the same
-- copy): expiring from 180 days on, sorted by creation, 38 ms instead of
-- 211; used in the last week, sorted by creation, 10 ms instead of 38;
-- created in the last 90 days, sorted by expiry, 49 ms instead of 117,
-- and by last use, 50 ms instead of 74.
--
-- The cost is on writes and space: a SetLastUsed rewrites two more index
-- entries (tokens_created and tokens_expiry; 8 for a personal token, 13
-- for a project or group token), and every entry is wider. On 100,000
-- tokens (a tenth project tokens, a third never used), 1,000 writes each
-- through the Store, counting the frames they add to the write-ahead log
-- (its size, after a checkpoint, with a reader holding its snapshot so
-- that no checkpoint resets it): a SetLastUsed writes 12.6 frames instead
-- of 10.5, a create of a personal token 21.6 instead of 21.4. At
-- 1,000,000 tokens the migration rebuilds the three indexes in 5.2 s and
-- commits in 1.0 s, holding the write lock meanwhile, and the file grows
-- from 715 MB to 752 MB (sqlite3 3.40.1, on a copy).
DROP INDEX IF EXISTS {{prefix}}tokens_created;
CREATE INDEX {{prefix}}tokens_created ON {{prefix}}tokens (created_at, id, coalesce(expires_at, 9223372036854775807), impersonation,
	coalesce(last_used_at, 9223372036854775807));
DROP INDEX IF EXISTS {{prefix}}tokens_last_used;
CREATE INDEX {{prefix}}tokens_last_used ON {{prefix}}tokens (coalesce(last_used_at, 9223372036854775807), id,
	coalesce(expires_at, 9223372036854775807), impersonation, created_at);
DROP INDEX IF EXISTS {{prefix}}tokens_expiry;
CREATE INDEX {{prefix}}tokens_expiry ON {{prefix}}tokens (coalesce(expires_at, 9223372036854775807), id, revoked, impersonation,
	created_at, coalesce(last_used_at, 9223372036854775807));
