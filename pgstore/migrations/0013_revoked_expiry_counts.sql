-- patkit pgstore migration 0013: token_expiry_counts counts revoked tokens
-- too, in two new columns, n_revoked and n_imp_revoked.
--
-- Until now a key of token_expiry_counts counted only the tokens that are
-- not revoked (n, and n_imp for impersonation tokens), which answers the
-- active tokens of a scope at a time, and nothing else. With every token
-- counted by expiry, revoked or not, in the four counters of token_counts
-- (n neither revoked nor impersonation, n_revoked revoked, n_imp
-- impersonation, n_imp_revoked both), a count bounded by expiry (expires
-- before or after a time, with or without a revoked or state filter) adds
-- up the same few dozen rows as the count of the active tokens instead of
-- walking up to 10,001 tokens. n and n_imp keep their meaning.
--
-- The trigger functions of 0010 are replaced by the same code but for
-- token_expiry_counts: every token counts in its two keys of each of its
-- scopes (its expiry at level 0 if it expires, its block at level 1), in
-- the counter of its impersonation and revocation, as it does in the rows
-- of its scopes in token_counts. A create and a revocation through the
-- Store write the same rows as before, in the same statements: a
-- revocation moves the token from n (n_imp) to n_revoked (n_imp_revoked)
-- of its keys in the one upsert that took it out of n (n_imp); a create
-- of a token not revoked writes the same keys as before, a token created
-- revoked (the host's INSERT) now writes its keys too. Revoking a revoked
-- token, and every other UPDATE that changes no counted column
-- (SetLastUsed), still writes nothing; an UPDATE that changes the expiry,
-- owner or resource of a revoked token now moves it between keys. Each
-- statement still writes the row of all tokens of its stripe in
-- token_counts before any other counter row, so transactions that share a
-- stripe wait for each other there and never deadlock over counters.
-- Measured in WAL (pg_walinspect, the records of the statement's
-- transaction, 1,000 statements of each on 5,000 tokens, alternating with
-- the functions of 0010): a create wrote 34.1 records either way (3.84
-- and 3.80 kB without full-page images), a revocation 32.9 and 32.8
-- records (2.80 and 2.81 kB). Of those, a revocation's four to six
-- updates of expiry rows log 16 bytes more each (282 to 346 bytes in all:
-- n and n_revoked, which both change, are no longer adjacent), and a new
-- expiry row is 16 bytes longer; the rest is within the spread.
--
-- The revoked tokens already there are counted into stripe 0: each key's
-- n_revoked and n_imp_revoked are brought to the number of revoked tokens
-- it holds, whatever its stripes held before, so running the migration
-- again (or after 0007 counted afresh) changes nothing more. It first
-- takes the locks a writer of tokens takes, in the same order: tokens (a
-- SHARE ROW EXCLUSIVE lock, which waits for the transactions that wrote
-- tokens and keeps new writes out until the migration commits), then the
-- row of all tokens of stripe 0 in token_counts, and only then
-- token_expiry_counts (ADD COLUMN takes it exclusively for a moment; no
-- table rewrite, the defaults are constant). Locking token_expiry_counts
-- first could deadlock with a transaction that has written tokens and is
-- about to write its counters. At 1,000,000 tokens the count reads every
-- token and every counter row once, as 0007 did, and writes one row per
-- key with revoked tokens.
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0010 (Migrate and MigrationSQL apply them in order). Running 0007, 0008
-- or 0010 again brings back functions that count only the tokens not
-- revoked by expiry: run this one again after them.

-- The writes of tokens wait from here until the migration commits: no
-- statement is counted by both the old functions and the new, or by
-- neither, and the count below is that of the tokens the new functions
-- start from.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

-- The row of all tokens of stripe 0 in token_counts, which every writer of
-- stripe 0 takes first, before the counter rows of expiry.
INSERT INTO token_counts AS c VALUES (0, '', 0, 0, 0, 0, 0, 0)
ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET n = c.n;

ALTER TABLE token_expiry_counts
    ADD COLUMN IF NOT EXISTS n_revoked     bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS n_imp_revoked bigint NOT NULL DEFAULT 0;

-- The revoked tokens of each key, less what its stripes count of them
-- already (nothing, the first time), added to its stripe 0.
WITH want AS (
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at,
           count(*) FILTER (WHERE NOT t.impersonation) AS n_revoked,
           count(*) FILTER (WHERE t.impersonation) AS n_imp_revoked
    FROM tokens AS t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE t.revoked AND (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
), have AS (
    SELECT scope, resource_type, id, level, expires_at,
           sum(n_revoked)::bigint AS n_revoked, sum(n_imp_revoked)::bigint AS n_imp_revoked
    FROM token_expiry_counts
    GROUP BY scope, resource_type, id, level, expires_at
    HAVING sum(n_revoked) <> 0 OR sum(n_imp_revoked) <> 0
)
INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
SELECT scope, resource_type, id, level, expires_at, 0, 0,
       coalesce(w.n_revoked, 0) - coalesce(h.n_revoked, 0), 0,
       coalesce(w.n_imp_revoked, 0) - coalesce(h.n_imp_revoked, 0)
FROM want AS w FULL JOIN have AS h USING (scope, resource_type, id, level, expires_at)
WHERE coalesce(w.n_revoked, 0) <> coalesce(h.n_revoked, 0)
    OR coalesce(w.n_imp_revoked, 0) <> coalesce(h.n_imp_revoked, 0)
ORDER BY scope, resource_type, id, level, expires_at
ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
    n_revoked = c.n_revoked + excluded.n_revoked, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;

CREATE OR REPLACE FUNCTION token_counters_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts and of its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
BEGIN
    SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at, (SELECT count(*) FROM new_tokens)
    INTO v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at, v_n
    FROM new_tokens LIMIT 1;
    IF v_n = 1 THEN
        v_a1 := (NOT v_impersonation AND NOT v_revoked)::int;
        v_a2 := (NOT v_impersonation AND v_revoked)::int;
        v_a3 := (v_impersonation AND NOT v_revoked)::int;
        v_a4 := (v_impersonation AND v_revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
        WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
        ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        RETURN NULL;
    END IF;
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
    WITH t AS (SELECT 1 AS d, user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM new_tokens)
    INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
        n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION token_counters_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts and of its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
BEGIN
    SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at, (SELECT count(*) FROM old_tokens)
    INTO v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at, v_n
    FROM old_tokens LIMIT 1;
    IF v_n = 1 THEN
        v_a1 := -(NOT v_impersonation AND NOT v_revoked)::int;
        v_a2 := -(NOT v_impersonation AND v_revoked)::int;
        v_a3 := -(v_impersonation AND NOT v_revoked)::int;
        v_a4 := -(v_impersonation AND v_revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
        WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
        ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        RETURN NULL;
    END IF;
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
    WITH t AS (SELECT -1 AS d, user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM old_tokens)
    INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
    SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
           coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
    FROM t
    CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
        AS k (scope, resource_type, id)
    CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
    WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
    GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
    ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
        n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
        n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    RETURN NULL;
END $$;

-- An UPDATE of one token that changes none of the counted columns
-- (SetLastUsed) returns after reading the two rows; one that changes its
-- revocation alone (Revoke) moves it between the counters of its rows, in
-- both tables. Any other takes the way of many tokens, whose EXCEPT ALL
-- pairs the old and new values.
CREATE OR REPLACE FUNCTION token_counters_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts and of its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    -- The same of the token as it was.
    v_old_user_id bigint; v_old_resource_type text; v_old_resource_id bigint;
    v_old_impersonation boolean; v_old_revoked boolean; v_old_expires_at timestamptz;
    v_r      bigint; -- 1 if the UPDATE revoked it, -1 if it revoked it no more
BEGIN
    SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at, (SELECT count(*) FROM new_tokens)
    INTO v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at, v_n
    FROM new_tokens LIMIT 1;
    IF v_n = 1 THEN
        SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at
        INTO v_old_user_id, v_old_resource_type, v_old_resource_id, v_old_impersonation, v_old_revoked, v_old_expires_at
        FROM old_tokens;
        IF (v_old_user_id, v_old_resource_type, v_old_resource_id, v_old_impersonation, v_old_revoked, v_old_expires_at)
            IS NOT DISTINCT FROM (v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at) THEN
            RETURN NULL;
        END IF;
        IF (v_old_user_id, v_old_resource_type, v_old_resource_id, v_old_impersonation, v_old_expires_at)
            IS NOT DISTINCT FROM (v_user_id, v_resource_type, v_resource_id, v_impersonation, v_expires_at) THEN
            v_r := v_revoked::int - v_old_revoked::int;
            v_a1 := CASE WHEN v_impersonation THEN 0 ELSE -v_r END;
            v_a2 := CASE WHEN v_impersonation THEN 0 ELSE v_r END;
            v_a3 := CASE WHEN v_impersonation THEN -v_r ELSE 0 END;
            v_a4 := CASE WHEN v_impersonation THEN v_r ELSE 0 END;
            INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
            SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                AS k (scope, resource_type, id)
            WHERE k.scope < 2 OR v_resource_type <> ''
            ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
                n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
            INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
            SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe, v_a1, v_a2, v_a3, v_a4
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                AS k (scope, resource_type, id)
            CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
            WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
            ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
                n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
            RETURN NULL;
        END IF;
    END IF;
    IF EXISTS (
        SELECT 1 FROM old_tokens AS o FULL JOIN new_tokens AS n ON o.id = n.id
        WHERE o.id IS NULL OR n.id IS NULL
        OR (o.user_id, o.resource_type, o.resource_id, o.impersonation, o.revoked)
            IS DISTINCT FROM (n.user_id, n.resource_type, n.resource_id, n.impersonation, n.revoked)
    ) THEN
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
    END IF;
    -- Every token counts by expiry, revoked or not: any change of a
    -- counted column, the expiry of a revoked token's included, moves it
    -- between counters.
    IF EXISTS (
        SELECT 1 FROM old_tokens AS o FULL JOIN new_tokens AS n ON o.id = n.id
        WHERE o.id IS NULL OR n.id IS NULL
        OR (o.user_id, o.resource_type, o.resource_id, o.impersonation, o.revoked, o.expires_at)
            IS DISTINCT FROM (n.user_id, n.resource_type, n.resource_id, n.impersonation, n.revoked, n.expires_at)
    ) THEN
        -- The row of all tokens of the stripe in token_counts first, as every
        -- writer of counters takes it: the trigger of token_counts has not,
        -- when only expiries changed.
        PERFORM FROM token_counts WHERE scope = 0 AND resource_type = '' AND id = 0 AND stripe = txid_current() % 16 FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO token_counts AS c VALUES (0, '', 0, txid_current() % 16, 0, 0, 0, 0)
            ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET n = c.n;
        END IF;
        WITH gone AS (
            SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM old_tokens
            EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM new_tokens
        ), came AS (
            SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM new_tokens
            EXCEPT ALL SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at FROM old_tokens
        ), t AS (
            SELECT -1 AS d, * FROM gone UNION ALL SELECT 1, * FROM came
        )
        INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, txid_current() % 16,
               coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked), 0),
               coalesce(sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked), 0),
               coalesce(sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked), 0),
               coalesce(sum(t.d) FILTER (WHERE t.impersonation AND t.revoked), 0)
        FROM t
        CROSS JOIN LATERAL (VALUES (0::smallint, ''::text, 0::bigint), (1, '', t.user_id), (2, t.resource_type, t.resource_id))
            AS k (scope, resource_type, id)
        CROSS JOIN LATERAL (VALUES (0::smallint, t.expires_at), (1, token_expiry_block(t.expires_at))) AS l (level, expires_at)
        WHERE (k.scope < 2 OR t.resource_type <> '') AND l.expires_at IS NOT NULL
        GROUP BY k.scope, k.resource_type, k.id, l.level, l.expires_at
        HAVING sum(t.d) FILTER (WHERE NOT t.impersonation AND NOT t.revoked) <> 0
            OR sum(t.d) FILTER (WHERE NOT t.impersonation AND t.revoked) <> 0
            OR sum(t.d) FILTER (WHERE t.impersonation AND NOT t.revoked) <> 0
            OR sum(t.d) FILTER (WHERE t.impersonation AND t.revoked) <> 0
        ORDER BY k.scope, k.resource_type, k.id, l.level, l.expires_at
        ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
    END IF;
    RETURN NULL;
END $$;
