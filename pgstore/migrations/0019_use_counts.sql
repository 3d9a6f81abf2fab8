-- patkit pgstore migration 0019: token_use_counts, the number of tokens
-- by the day of their last use, kept by a trigger, so that List counts a
-- list of all tokens bounded on last use from a few hundred rows where
-- more than 10,000 tokens match, instead of walking 10,001 index entries.
--
-- GitLab's rule needs the count of a list up to 10,001. Tokens used before
-- a year ago, or in the last week, are more than that at 1,000,000 tokens
-- (benchtable's dataset), and counting them walked 10,001 entries of
-- tokens_last_used_idx every time: 1.3 to 1.8 ms of a list whose page
-- took 0.1 ms, so that 18 of the 18 such shapes of benchtable's
-- list-shapes-postgres took 1.5 to 2.9 ms. The zones (0015) cannot bound
-- that count: every zone holds tokens never used.
--
-- Each token that was used counts in two rows, of level 0 and 1: the day
-- of its last use (whole days from 1970-01-01 UTC, as the index of recent
-- use, 0018), and its block of 32 days (the day divided by 32, rounded
-- down). A token never used counts in none, so a create writes none. The
-- tokens last used on the days within a bound are those of the blocks
-- within it and the days of the two blocks it cuts: at most 62 days and
-- one block per 32 days, whatever the number of tokens (sqlq.Count adds
-- them up; it counts every token, whatever its revocation, owner or kind,
-- and takes away the tokens the list's other filters leave out, from
-- token_counts, to bound the count from below).
--
-- As the other counters, each key has up to 16 rows, its stripes: a
-- transaction writes only the stripe of its transaction ID (modulo 16),
-- so that concurrent uses of today do not queue for one row's lock. Rows
-- are never deleted. The trigger takes the row of all tokens of its stripe
-- in token_counts first, as every writer of counters does, and writes its
-- keys in order: transactions that share a stripe wait for each other at
-- that row and never deadlock over counters.
--
-- Row triggers whose WHEN clause leaves out every write but a change of
-- last_used_at: Create, Revoke and Rotate never call the function; a
-- SetLastUsed calls it, and writes when the day of the last use changed
-- (once a day per token in use at most, as a use is written once per 10
-- minutes at most).
--
-- Names are unqualified, and the function keeps the search_path of the
-- migration (SET search_path FROM CURRENT): run it with search_path set to
-- the schema, in one transaction, after 0004. Running it again rebuilds
-- the counts (benchtable loads its tokens with the triggers disabled, then
-- runs it).

CREATE TABLE IF NOT EXISTS token_use_counts (
    level  smallint NOT NULL,
    key    integer  NOT NULL,
    stripe smallint NOT NULL,
    n      bigint   NOT NULL,
    PRIMARY KEY (level, key, stripe)
);

CREATE OR REPLACE FUNCTION token_use_counts_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    s smallint := txid_current() % 16; -- the stripe
    old_day integer;
    new_day integer;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.last_used_at IS NOT NULL THEN
        old_day := (OLD.last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01';
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.last_used_at IS NOT NULL THEN
        new_day := (NEW.last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01';
    END IF;
    IF old_day IS NOT DISTINCT FROM new_day THEN
        RETURN NULL;
    END IF;
    PERFORM FROM token_counts WHERE scope = 0 AND resource_type = '' AND id = 0 AND stripe = s FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO token_counts AS c VALUES (0, '', 0, s, 0, 0, 0, 0)
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET n = c.n;
    END IF;
    INSERT INTO token_use_counts AS c (level, key, stripe, n)
    SELECT d.level, d.key, s, sum(d.n)
    FROM (VALUES (0::smallint, old_day, -1), (1::smallint, floor(old_day / 32.0)::integer, -1),
                 (0::smallint, new_day, 1), (1::smallint, floor(new_day / 32.0)::integer, 1)) AS d (level, key, n)
    WHERE d.key IS NOT NULL
    GROUP BY d.level, d.key
    HAVING sum(d.n) <> 0
    ORDER BY d.level, d.key
    ON CONFLICT (level, key, stripe) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_use_counts_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM token_use_counts;
    RETURN NULL;
END $$;

-- From here on, no write to tokens until the migration commits: the counts
-- are those of the tokens the triggers will then start from.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER IF EXISTS token_use_counts_insert ON tokens;
CREATE TRIGGER token_use_counts_insert AFTER INSERT ON tokens
    FOR EACH ROW WHEN (NEW.last_used_at IS NOT NULL) EXECUTE FUNCTION token_use_counts_trigger();
DROP TRIGGER IF EXISTS token_use_counts_update ON tokens;
CREATE TRIGGER token_use_counts_update AFTER UPDATE OF last_used_at ON tokens
    FOR EACH ROW WHEN (OLD.last_used_at IS DISTINCT FROM NEW.last_used_at) EXECUTE FUNCTION token_use_counts_trigger();
DROP TRIGGER IF EXISTS token_use_counts_delete ON tokens;
CREATE TRIGGER token_use_counts_delete AFTER DELETE ON tokens
    FOR EACH ROW WHEN (OLD.last_used_at IS NOT NULL) EXECUTE FUNCTION token_use_counts_trigger();
DROP TRIGGER IF EXISTS token_use_counts_truncate ON tokens;
CREATE TRIGGER token_use_counts_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_use_counts_truncate();

-- The counts of the tokens already there, in stripe 0.
DELETE FROM token_use_counts;
INSERT INTO token_use_counts (level, key, stripe, n)
SELECT l.level, l.key, 0, count(*)
FROM (SELECT (last_used_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS day FROM tokens WHERE last_used_at IS NOT NULL) AS t
CROSS JOIN LATERAL (VALUES (0::smallint, t.day), (1::smallint, floor(t.day / 32.0)::integer)) AS l (level, key)
GROUP BY l.level, l.key;
