-- patkit pgstore migration 0010: the counter triggers of 0008 read the
-- one token a statement changed, and their number, in one query.
--
-- The functions are those of 0008 but for that query: for a statement
-- that changes one token (Create, Revoke, Rotate, SetLastUsed), 0008 read
-- the transition table twice, its count and then the whole row (into a
-- variable of the row type of tokens, 28 columns), and an UPDATE's old
-- row a third time. Here the first query returns the counted columns of
-- one row and the count, and an UPDATE reads the same columns of the old
-- row in a second. In the server, with the indexes of 0009, a revocation
-- went from 1.58 to 1.60 million instructions to 1.54 to 1.56 million
-- (callgrind of a single-user backend, 1,000,000 tokens, runs of each
-- alternating); a create stayed within the spread of the runs, 1.18 to
-- 1.23 million.
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0008 (Migrate and MigrationSQL apply them in order). Running 0008 again
-- brings back its own functions: run this one after it.

CREATE OR REPLACE FUNCTION token_counters_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
BEGIN
    SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at, (SELECT count(*) FROM new_tokens)
    INTO v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at, v_n
    FROM new_tokens LIMIT 1;
    IF v_n = 1 THEN
        v_a1 := (NOT v_impersonation AND NOT v_revoked)::int;
        v_a2 := (NOT v_impersonation AND v_revoked)::int;
        v_a3 := (v_impersonation AND NOT v_revoked)::int;
        v_a4 := (v_impersonation AND v_revoked)::int;
        v_e := (NOT v_revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        IF v_e <> 0 THEN
            INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
            SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                   CASE WHEN v_impersonation THEN 0 ELSE v_e END, CASE WHEN v_impersonation THEN v_e ELSE 0 END
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                AS k (scope, resource_type, id)
            CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
            WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
            ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
        END IF;
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

CREATE OR REPLACE FUNCTION token_counters_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
BEGIN
    SELECT user_id, resource_type, resource_id, impersonation, revoked, expires_at, (SELECT count(*) FROM old_tokens)
    INTO v_user_id, v_resource_type, v_resource_id, v_impersonation, v_revoked, v_expires_at, v_n
    FROM old_tokens LIMIT 1;
    IF v_n = 1 THEN
        v_a1 := -(NOT v_impersonation AND NOT v_revoked)::int;
        v_a2 := -(NOT v_impersonation AND v_revoked)::int;
        v_a3 := -(v_impersonation AND NOT v_revoked)::int;
        v_a4 := -(v_impersonation AND v_revoked)::int;
        v_e := -(NOT v_revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        IF v_e <> 0 THEN
            INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
            SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                   CASE WHEN v_impersonation THEN 0 ELSE v_e END, CASE WHEN v_impersonation THEN v_e ELSE 0 END
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                AS k (scope, resource_type, id)
            CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
            WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
            ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
        END IF;
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

-- An UPDATE of one token that changes none of the counted columns
-- (SetLastUsed) returns after reading the two rows; one that changes its
-- revocation alone (Revoke) moves it between the counters of its rows.
-- Any other takes the way of many tokens, whose EXCEPT ALL pairs the old
-- and new values.
CREATE OR REPLACE FUNCTION token_counters_update() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_n      bigint; -- the number of tokens changed
    -- The counted columns of the one token changed.
    v_user_id bigint; v_resource_type text; v_resource_id bigint;
    v_impersonation boolean; v_revoked boolean; v_expires_at timestamptz;
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
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
            v_e := -v_r;
            INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
            SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                AS k (scope, resource_type, id)
            WHERE k.scope < 2 OR v_resource_type <> ''
            ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
                n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
            IF v_e <> 0 THEN
                INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
                SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                       CASE WHEN v_impersonation THEN 0 ELSE v_e END, CASE WHEN v_impersonation THEN v_e ELSE 0 END
                FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_user_id), (2, v_resource_type, v_resource_id))
                    AS k (scope, resource_type, id)
                CROSS JOIN (VALUES (0::smallint, v_expires_at), (1, token_expiry_block(v_expires_at))) AS l (level, expires_at)
                WHERE (k.scope < 2 OR v_resource_type <> '') AND l.expires_at IS NOT NULL
                ON CONFLICT (scope, resource_type, id, level, expires_at, stripe) DO UPDATE SET
                    n = c.n + excluded.n, n_imp = c.n_imp + excluded.n_imp;
            END IF;
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
    IF EXISTS (
        SELECT 1 FROM old_tokens AS o FULL JOIN new_tokens AS n ON o.id = n.id
        WHERE o.id IS NULL OR n.id IS NULL
        OR (NOT o.revoked OR NOT n.revoked)
            AND (o.user_id, o.resource_type, o.resource_id, o.impersonation, o.revoked, o.expires_at)
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
    END IF;
    RETURN NULL;
END $$;
