-- 0013: the indexes of one owner's and one resource's names hold the
-- folded name too.
--
-- A search by words (each a substring of name_folded) is counted over every
-- token of its scope until MaxCount+1 match. For one owner or one project
-- or group, the count walked the scope's index and read each token's
-- name_folded from the table: one table read per token, which at
-- 1,000,000 tokens (an owner's 9,990 tokens spread over the whole table)
-- took about 16 ms of a first page's 16 to 19 ms. With name_folded in
-- tokens_user_name and tokens_resource_name, the count reads the names
-- from the index alone (SEARCH ... USING COVERING INDEX), as the count of
-- all tokens already does from tokens_name_folded. The key columns and
-- their order are kept: each index serves the same orders as before.
--
-- Measured with benchtable's list-shapes-sqlite (1,000,000 tokens, each
-- shape the median of 7 runs of Store.List): a first page of the heavy
-- owner's tokens named with "deploy" (9,990 of its 9,990), with its
-- count, took 15 to 19 ms before, 1.5 to 2.0 ms after, and 1.3 to 1.5 ms
-- once the search was an instr rather than a LIKE (sqlitestore's
-- dialect), in eight of the nine orders (2.3 ms in one).
--
-- The cost is on writes and space: every entry of the two indexes is
-- wider by the folded name (name_folded never changes after a create,
-- but a SetLastUsed rewrites those entries, which hold the last-used
-- key). On a copy of that file at migration 0012 (sqlite3 3.40.1), the
-- migration rebuilt the two indexes in 3.6 s and committed in 0.8 s,
-- holding the write lock meanwhile, and the file grew from 741 MB to
-- 759 MB.
DROP INDEX IF EXISTS {{prefix}}tokens_user_name;
CREATE INDEX {{prefix}}tokens_user_name ON {{prefix}}tokens (user_id, name, id, coalesce(expires_at, 9223372036854775807), impersonation,
	created_at, coalesce(last_used_at, 9223372036854775807), name_folded);
DROP INDEX IF EXISTS {{prefix}}tokens_resource_name;
CREATE INDEX {{prefix}}tokens_resource_name ON {{prefix}}tokens (resource_type, resource_id, name, id,
	coalesce(expires_at, 9223372036854775807), impersonation, created_at, coalesce(last_used_at, 9223372036854775807), name_folded)
	WHERE resource_type IS NOT NULL;
