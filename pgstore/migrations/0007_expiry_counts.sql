-- patkit pgstore migration 0007: token_expiry_counts, the number of tokens
-- not revoked per scope and expiry, kept by triggers, so that List counts
-- the active and the inactive tokens of a scope (with any impersonation
-- and revoked filter) by adding up a few dozen rows instead of walking up
-- to 10,001 tokens. Nothing is written as time passes: which rows a count
-- reads depends on the time of the query.
--
-- Its scopes are those of token_counts (0 all tokens, 1 a user's, 2 a
-- project's or group's), n counts tokens that are not impersonation
-- tokens, n_imp those that are, and revoked tokens are not counted. Each
-- token counts in two rows of each of its scopes:
--
--   level 0, expires_at: its expires_at, if it expires;
--   level 1, expires_at: the start of its block of 32 days (2764800
--     seconds) from the Unix epoch, token_expiry_block(expires_at), or
--     'infinity', the sort key of never, if it never expires.
--
-- A token is active at now when it is not revoked and its expiry key is
-- after now. Those of a scope are the tokens of its level-0 rows after now
-- and before the next block (at most the 31 days left of the block of
-- now), plus those of its level-1 rows from the next block on (at most one
-- per 32 days up to the latest expiry, and never). The inactive tokens of
-- a scope are the others, its token_counts less its active tokens. See
-- NextBlock in internal/sqlq, which computes the next block as
-- token_expiry_block does.
--
-- As token_counts, each key has up to 16 rows, its stripes: a transaction
-- writes only the stripe of its transaction ID (modulo 16), so that
-- concurrent writers do not queue for one row's lock (most new tokens of a
-- day expire on the same date). A count adds up the stripes of about 45
-- keys when tokens expire within a year: up to 720 rows, however many
-- tokens there are. Rows are never deleted (a stripe may well hold -1 of a
-- token another stripe counted): the table keeps a few rows for every
-- expiry date of every scope there ever was, which a count after that date
-- no longer reads.
--
-- The triggers run once per statement, in the transaction that changes
-- tokens, whoever changes them (Create, Revoke, Rotate, the host's own
-- INSERT, UPDATE, DELETE, COPY or TRUNCATE), after those of token_counts
-- (triggers fire in the order of their names), and add to each key, in one
-- statement, what the changed rows added to it or took from it. An UPDATE
-- that changes neither owner, resource, impersonation, revocation nor
-- expiry of a token that is or was not revoked (SetLastUsed, a revocation
-- of a revoked token) changes no count. A statement writes the rows in key
-- order, after the row of all tokens in token_counts of its stripe (which
-- the triggers of token_counts write first, and the UPDATE trigger here
-- locks when they did not), so transactions that share a stripe wait for
-- each other at that row and never deadlock over counters.
--
-- Names are unqualified, and the functions keep the search_path of the
-- migration (SET search_path FROM CURRENT): run it with search_path set to
-- the schema, in one transaction, after 0004. Running it again rebuilds
-- the counts.

CREATE TABLE IF NOT EXISTS token_expiry_counts (
    scope         smallint    NOT NULL,
    resource_type text        NOT NULL,
    id            bigint      NOT NULL,
    level         smallint    NOT NULL,
    expires_at    timestamptz NOT NULL,
    stripe        smallint    NOT NULL,
    n             bigint      NOT NULL,
    n_imp         bigint      NOT NULL,
    PRIMARY KEY (scope, resource_type, id, level, expires_at, stripe)
);

-- The start of the block of 32 days from the Unix epoch that holds t:
-- the level-1 key of a token that expires at t. NULL (never) and infinity
-- are 'infinity', -infinity stays.
CREATE OR REPLACE FUNCTION token_expiry_block(t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN 'infinity'::timestamptz
        WHEN isfinite(t) THEN to_timestamp(floor(extract(epoch FROM t) / 2764800) * 2764800)
        ELSE t END
$$;

-- The three trigger functions differ only in t, the changed tokens not
-- revoked, each with d, +1 for a token that now counts and -1 for one that
-- no longer does.
CREATE OR REPLACE FUNCTION token_expiry_counts_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    WITH t AS (SELECT 1 AS d, user_id, resource_type, resource_id, impersonation, expires_at FROM new_tokens WHERE NOT revoked)
    INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_expiry_counts_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    WITH t AS (SELECT -1 AS d, user_id, resource_type, resource_id, impersonation, expires_at FROM old_tokens WHERE NOT revoked)
    INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
    RETURN NULL;
END $$;

-- Tokens whose counted columns did not change cancel out, and so do keys
-- a token leaves and another enters. An UPDATE that changed none
-- (SetLastUsed) returns after one join.
CREATE OR REPLACE FUNCTION token_expiry_counts_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM old_tokens AS o FULL JOIN new_tokens AS n ON o.id = n.id
        WHERE o.id IS NULL OR n.id IS NULL
        OR (NOT o.revoked OR NOT n.revoked)
            AND (o.user_id, o.resource_type, o.resource_id, o.impersonation, o.revoked, o.expires_at)
            IS DISTINCT FROM (n.user_id, n.resource_type, n.resource_id, n.impersonation, n.revoked, n.expires_at)
    ) THEN
        RETURN NULL;
    END IF;
    -- The row of all tokens of the stripe in token_counts first, as every
    -- writer of counters takes it: the trigger of token_counts has not,
    -- when only expiries changed.
    PERFORM FROM token_counts WHERE scope = 0 AND resource_type = '' AND id = 0 AND stripe = txid_current() % 16 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO token_counts AS c VALUES (0, '', 0, txid_current() % 16, 0, 0, 0, 0)
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET n = c.n;
    END IF;
    WITH gone AS (
        SELECT user_id, resource_type, resource_id, impersonation, expires_at FROM old_tokens WHERE NOT revoked
        EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, expires_at FROM new_tokens WHERE NOT revoked
    ), came AS (
        SELECT user_id, resource_type, resource_id, impersonation, expires_at FROM new_tokens WHERE NOT revoked
        EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, expires_at FROM old_tokens WHERE NOT revoked
    ), t AS (
        SELECT -1 AS d, * FROM gone UNION ALL SELECT 1, * FROM came
    )
    INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    HAVING sum(t.d) FILTER (WHERE NOT t.impersonation) <> 0 OR sum(t.d) FILTER (WHERE t.impersonation) <> 0
    ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_expiry_counts_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM token_expiry_counts;
    RETURN NULL;
END $$;

-- From here on, no write to tokens until the migration commits: the counts
-- are those of the tokens the triggers will then start from.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER IF EXISTS token_expiry_counts_insert ON tokens;
CREATE TRIGGER token_expiry_counts_insert AFTER INSERT ON tokens
    REFERENCING NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_expiry_counts_insert();
DROP TRIGGER IF EXISTS token_expiry_counts_delete ON tokens;
CREATE TRIGGER token_expiry_counts_delete AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_expiry_counts_delete();
DROP TRIGGER IF EXISTS token_expiry_counts_update ON tokens;
CREATE TRIGGER token_expiry_counts_update AFTER UPDATE ON tokens
    REFERENCING OLD TABLE AS old_tokens NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_expiry_counts_update();
DROP TRIGGER IF EXISTS token_expiry_counts_truncate ON tokens;
CREATE TRIGGER token_expiry_counts_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_expiry_counts_truncate();

-- The counts of the tokens already there, in stripe 0.
DELETE FROM token_expiry_counts;
INSERT INTO token_expiry_counts (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, 0,
       count(*) FILTER (WHERE NOT t.impersonation),
       count(*) FILTER (WHERE t.impersonation)
FROM tokens AS t
CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
    AS k (scope, resource_type, id)
CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
WHERE NOT t.revoked AND (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at;
