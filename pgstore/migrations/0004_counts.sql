-- patkit pgstore migration 0004: token_counts, the number of tokens per
-- scope, kept by triggers, so that List counts the matches of a query that
-- does not depend on time (filters on owner, resource, impersonation and
-- revocation only) by summing a few rows instead of walking up to 10,001
-- tokens.
--
-- A scope is every token (scope 0, resource_type '', id 0), the tokens of
-- one user (1, '', the user's id), or those of one project or group (2, its
-- resource_type, its id). Its four counters split them by impersonation
-- and revocation: n neither, n_revoked revoked, n_imp impersonation, and
-- n_imp_revoked both. A scope's count is the sum of its rows: each has up
-- to 16 stripes, and a transaction writes only the stripe of its
-- transaction ID (modulo 16), so that concurrent writers update different
-- rows instead of queueing for one row's lock until each commits.
--
-- The triggers run once per statement, in the transaction that changes
-- tokens, whoever changes them (Create, Revoke, Rotate, the host's own
-- INSERT, UPDATE, DELETE, COPY or TRUNCATE), and add to each scope, in one
-- statement, what the changed rows added to it or took from it. An UPDATE
-- that leaves the counted columns as they were (SetLastUsed, a revocation
-- of a revoked token) changes no count. Each trigger writes the rows of
-- scope 0 first, then the others in key order, so transactions that share
-- a stripe wait for each other at its first row and never deadlock over
-- counters.
--
-- Names are unqualified, and the functions keep the search_path of the
-- migration (SET search_path FROM CURRENT): run it with search_path set to
-- the schema, in one transaction. Running it again rebuilds the counts.

CREATE TABLE IF NOT EXISTS token_counts (
    scope         smallint NOT NULL,
    resource_type text     NOT NULL,
    id            bigint   NOT NULL,
    stripe        smallint NOT NULL,
    n             bigint   NOT NULL,
    n_revoked     bigint   NOT NULL,
    n_imp         bigint   NOT NULL,
    n_imp_revoked bigint   NOT NULL,
    PRIMARY KEY (scope, resource_type, id, stripe)
);

-- The three trigger functions differ only in t, the changed rows, each
-- with d, +1 for a row that now counts and -1 for one that no longer does.
CREATE OR REPLACE FUNCTION token_counts_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    WITH t AS (SELECT 1 AS d, user_id, resource_type, resource_id, impersonation, revoked FROM new_tokens)
    INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
    SELECT k.scope, k.resource_type, k.id, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    WHERE k.scope < 2 OR t.resource_type <> ''
    GROUP BY k.scope, k.resource_type, k.id
    ORDER BY k.scope, k.resource_type, k.id
    ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
        n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_counts_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    WITH t AS (SELECT -1 AS d, user_id, resource_type, resource_id, impersonation, revoked FROM old_tokens)
    INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
    SELECT k.scope, k.resource_type, k.id, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    WHERE k.scope < 2 OR t.resource_type <> ''
    GROUP BY k.scope, k.resource_type, k.id
    ORDER BY k.scope, k.resource_type, k.id
    ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
        n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    RETURN NULL;
END $$;

-- Rows whose counted columns did not change cancel out. An UPDATE that
-- changed none (SetLastUsed) returns after one join.
CREATE OR REPLACE FUNCTION token_counts_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM old_tokens AS o FULL JOIN new_tokens AS n ON o.id = n.id
        WHERE o.id IS NULL OR n.id IS NULL
        OR (o.user_id, o.resource_type, o.resource_id, o.impersonation, o.revoked)
            IS DISTINCT FROM (n.user_id, n.resource_type, n.resource_id, n.impersonation, n.revoked)
    ) THEN
        RETURN NULL;
    END IF;
    WITH gone AS (
        SELECT user_id, resource_type, resource_id, impersonation, revoked FROM old_tokens
        EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, revoked FROM new_tokens
    ), came AS (
        SELECT user_id, resource_type, resource_id, impersonation, revoked FROM new_tokens
        EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, revoked FROM old_tokens
    ), t AS (
        SELECT -1 AS d, * FROM gone UNION ALL SELECT 1, * FROM came
    )
    INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
    SELECT k.scope, k.resource_type, k.id, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    WHERE k.scope < 2 OR t.resource_type <> ''
    GROUP BY k.scope, k.resource_type, k.id
    ORDER BY k.scope, k.resource_type, k.id
    ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
        n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_counts_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM token_counts;
    RETURN NULL;
END $$;

-- From here on, no write to tokens until the migration commits: the counts
-- are those of the tokens the triggers will then start from.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER IF EXISTS token_counts_insert ON tokens;
CREATE TRIGGER token_counts_insert AFTER INSERT ON tokens
    REFERENCING NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counts_insert();
DROP TRIGGER IF EXISTS token_counts_delete ON tokens;
CREATE TRIGGER token_counts_delete AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counts_delete();
-- Transition tables cannot be given to an UPDATE OF trigger, so this one
-- runs after every UPDATE statement; token_counts_update finds what
-- changed.
DROP TRIGGER IF EXISTS token_counts_update ON tokens;
CREATE TRIGGER token_counts_update AFTER UPDATE ON tokens
    REFERENCING OLD TABLE AS old_tokens NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counts_update();
DROP TRIGGER IF EXISTS token_counts_truncate ON tokens;
CREATE TRIGGER token_counts_truncate AFTER TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counts_truncate();

-- The counts of the tokens already there, in stripe 0.
DELETE FROM token_counts;
INSERT INTO token_counts (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
SELECT k.scope, k.resource_type, k.id, 0,
       count(*) FILTER (WHERE NOT t.impersonation AND NOT t.revoked),
       count(*) FILTER (WHERE NOT t.impersonation AND t.revoked),
       count(*) FILTER (WHERE t.impersonation AND NOT t.revoked),
       count(*) FILTER (WHERE t.impersonation AND t.revoked)
FROM tokens AS t
CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
    AS k (scope, resource_type, id)
WHERE k.scope < 2 OR t.resource_type <> ''
GROUP BY k.scope, k.resource_type, k.id;
