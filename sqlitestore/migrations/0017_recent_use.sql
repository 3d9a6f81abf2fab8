-- 0017: indexes of recent use, of the tokens that were used: the day of
-- the last use (whole days from 1970-01-01 UTC), then the key of an order
-- and id, and the last use itself.
--
-- A list of all tokens used after a time (the last week, say) sorted by
-- another key had two plans, both slow where the tokens in use are
-- spread over the order, as they are wherever old tokens are still in
-- use: walk the index of the order until the page is full, or read the
-- bound's range of tokens_last_used and sort it (sqlq.BoundPlan). At
-- 1,000,000 tokens (benchtable's dataset: the last week's 21,068 uses,
-- a thousand of them one in every zone of tokens_zones) a first page of
-- 20 took 8.8 to 23.3 ms in order of ID, creation, expiry or name.
--
-- With these indexes the list reads, for each day from the bound's to
-- today's, that day's first entries in the order, up to the end of the
-- page, and merges them (sqlq.RecentDays): eight seeks of a few entries
-- each for a week. The last use is in each index so that the bound is
-- tested from the index alone on the first day, whose entries before it
-- the walk passes over.
--
-- Partial: a token that was never used is in none, so a create writes
-- none of them; a SetLastUsed writes each (as it writes tokens_last_used
-- and the owner's and resource's indexes of last use already), once per
-- token every ten minutes at most.
--
-- Measured on benchtable's file (1,000,000 tokens, 666,667 of them used):
-- the first page of the last week's, in turns with the plans before, took
-- 1.19 to 1.70 ms in the four orders (9.15 to 24.5 ms before), most of it
-- the count; the indexes took 83 MB (the file 785 to 871 MB). Building
-- them took 1.8 s at 1,000,000 tokens (sqlite3 3.40.1, a copy of that
-- file), holding the write lock; reads go on (WAL).
CREATE INDEX IF NOT EXISTS {{prefix}}tokens_used_day ON {{prefix}}tokens (last_used_at / 86400000000, id, last_used_at)
	WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}tokens_used_day_created ON {{prefix}}tokens (last_used_at / 86400000000, created_at, id, last_used_at)
	WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}tokens_used_day_expiry ON {{prefix}}tokens (last_used_at / 86400000000,
	coalesce(expires_at, 9223372036854775807), id, last_used_at) WHERE last_used_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS {{prefix}}tokens_used_day_name ON {{prefix}}tokens (last_used_at / 86400000000, name, id, last_used_at)
	WHERE last_used_at IS NOT NULL;
