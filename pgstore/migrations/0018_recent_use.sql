-- patkit pgstore migration 0018: indexes of recent use, of the tokens
-- that were used: the day of the last use (whole days from 1970-01-01
-- UTC), then the key of an order and id.
--
-- A list of all tokens used after a time (the last week, say) sorted by
-- another key had two plans, both slow where the tokens in use are
-- spread over the order, as they are wherever old tokens are still in
-- use: walk the index of the order until the page is full, or read the
-- bound's range of tokens_last_used_idx and sort it (sqlq.BoundPlan). At
-- 1,000,000 tokens (benchtable's dataset: the last week's 21,068 uses, a
-- thousand of them one in every zone of token_zones) a first page of 20
-- took 6.4 to 11.4 ms in order of ID, creation, expiry or name.
--
-- With these indexes the list reads, for each day from the bound's to
-- today's, that day's first entries in the order, up to the end of the
-- page, and merges them (sqlq.RecentDays; a Merge Append): eight seeks of
-- a few entries each for a week. Each INCLUDEs the columns the filters
-- read, as the other indexes of all tokens do (0014), so that the walks
-- are index-only scans.
--
-- Partial: a token that was never used is in none, so a create writes
-- none of them. A SetLastUsed, and a revocation of a token that was used,
-- writes an entry in each: neither is a HOT update (last_used_at and
-- revoked are in other indexes), so every index of the token gets one
-- already. The builds lock writes out of tokens (CREATE INDEX takes a
-- SHARE lock) until the migration commits; reads, authentication among
-- them, go on: each took 0.6 to 0.7 s at 1,000,000 tokens.
--
-- Measured on benchtable's schema (1,000,000 tokens, 666,667 of them
-- used): the first page of the last week's, in turns with the plans
-- before, took 1.37 to 2.34 ms in the four orders (5.87 to 14.9 ms
-- before), most of it the count, as in the order of last use (1.52 to
-- 1.79 ms); the indexes took 210 MB (48 to 60 MB each; the table 237
-- MB).
--
-- The planner considers every index of tokens for each statement on it,
-- and proves or refutes each partial index's predicate: planning a page
-- and a count of one owner's tokens took 0.01 to 0.02 ms longer a
-- statement with these four (EXPLAIN (SUMMARY) of 600 statements, three
-- times in turns, on an empty schema: medians 0.107 to 0.121 ms against
-- 0.087 to 0.107 ms).
CREATE INDEX IF NOT EXISTS tokens_used_day_idx ON tokens
    (((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_used_day_created_idx ON tokens
    (((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), created_at, id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at)
    WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_used_day_expiry_idx ON tokens
    (((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), (coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS tokens_used_day_name_idx ON tokens
    (((last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE last_used_at IS NOT NULL;
