-- patkit pgstore migration 0008: one trigger per kind of write keeps both
-- token_counts (0004) and token_expiry_counts (0007), and a statement that
-- changes one token (Create, Revoke, Rotate) writes that token's counter
-- rows directly.
--
-- The counters and what they count are those of 0004 and 0007. Each
-- trigger runs once per statement, with the changed rows (transition
-- tables), in the transaction that changes tokens. A statement that
-- changes many tokens (the host's bulk INSERT, UPDATE, DELETE or COPY)
-- adds up its changes per counter row, one upsert per table, as the
-- functions of 0004 and 0007 did. One that changes a single token adds
-- the token's own numbers to the rows of its scopes and expiry instead:
-- the grouping queries, planned for any number of rows, two trigger calls
-- instead of one, and the join of the old and new rows of every UPDATE
-- cost more than the counter rows themselves. In the server, a create
-- went from 1.53 to 1.40 million instructions and a revocation from 2.02
-- to 1.44 million (callgrind of a single-user backend, 20,000 tokens).
--
-- Every statement that writes counters writes the row of all tokens of
-- its stripe in token_counts first, and its transaction holds it until it
-- ends: transactions that share a stripe wait for each other there,
-- before any other counter row, and never deadlock over counters, in
-- whatever order they then write the others (the way of one token writes
-- those of token_expiry_counts unsorted).
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0004 and 0007. Running either of those again brings back its own
-- triggers, which this one replaces: run this one again after them
-- (Migrate and MigrationSQL apply them in order).

-- The one trigger function per kind of write. Each starts with the case of
-- one token, then does what the functions of 0004 and 0007 did, one after
-- the other.
CREATE OR REPLACE FUNCTION token_counters_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_stripe smallint := txid_current() % 16;
    v_tok    tokens; -- the one token changed
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
BEGIN
    IF (SELECT count(*) FROM new_tokens) = 1 THEN
        SELECT * INTO v_tok FROM new_tokens;
        v_a1 := (NOT v_tok.impersonation AND NOT v_tok.revoked)::int;
        v_a2 := (NOT v_tok.impersonation AND v_tok.revoked)::int;
        v_a3 := (v_tok.impersonation AND NOT v_tok.revoked)::int;
        v_a4 := (v_tok.impersonation AND v_tok.revoked)::int;
        v_e := (NOT v_tok.revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_tok.resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        IF v_e <> 0 THEN
            INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
            SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                   CASE WHEN v_tok.impersonation THEN 0 ELSE v_e END, CASE WHEN v_tok.impersonation THEN v_e ELSE 0 END
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
                AS k (scope, resource_type, id)
            CROSS JOIN (VALUES (0::smallint, v_tok.expires_at), (1, token_expiry_block(v_tok.expires_at))) AS l (level, expires_at)
            WHERE (k.scope < 2 OR v_tok.resource_type <> '') AND l.expires_at IS NOT NULL
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
    v_tok    tokens; -- the one token changed
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
BEGIN
    IF (SELECT count(*) FROM old_tokens) = 1 THEN
        SELECT * INTO v_tok FROM old_tokens;
        v_a1 := -(NOT v_tok.impersonation AND NOT v_tok.revoked)::int;
        v_a2 := -(NOT v_tok.impersonation AND v_tok.revoked)::int;
        v_a3 := -(v_tok.impersonation AND NOT v_tok.revoked)::int;
        v_a4 := -(v_tok.impersonation AND v_tok.revoked)::int;
        v_e := -(NOT v_tok.revoked)::int;
        INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
        SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
        FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
            AS k (scope, resource_type, id)
        WHERE k.scope < 2 OR v_tok.resource_type <> ''
        ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
            n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
            n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
        IF v_e <> 0 THEN
            INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
            SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                   CASE WHEN v_tok.impersonation THEN 0 ELSE v_e END, CASE WHEN v_tok.impersonation THEN v_e ELSE 0 END
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
                AS k (scope, resource_type, id)
            CROSS JOIN (VALUES (0::smallint, v_tok.expires_at), (1, token_expiry_block(v_tok.expires_at))) AS l (level, expires_at)
            WHERE (k.scope < 2 OR v_tok.resource_type <> '') AND l.expires_at IS NOT NULL
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
    v_tok    tokens; -- the one token changed
    -- What it adds to n, n_revoked, n_imp and n_imp_revoked of its scopes
    -- in token_counts, and to its keys in token_expiry_counts.
    v_a1 bigint; v_a2 bigint; v_a3 bigint; v_a4 bigint;
    v_e      bigint;
    v_old    tokens; -- the token as it was
    v_r      bigint; -- 1 if the UPDATE revoked it, -1 if it revoked it no more
BEGIN
    IF (SELECT count(*) FROM new_tokens) = 1 THEN
        SELECT * INTO v_old FROM old_tokens;
        SELECT * INTO v_tok FROM new_tokens;
        IF (v_old.user_id, v_old.resource_type, v_old.resource_id, v_old.impersonation, v_old.revoked, v_old.expires_at)
            IS NOT DISTINCT FROM (v_tok.user_id, v_tok.resource_type, v_tok.resource_id, v_tok.impersonation, v_tok.revoked, v_tok.expires_at) THEN
            RETURN NULL;
        END IF;
        IF (v_old.user_id, v_old.resource_type, v_old.resource_id, v_old.impersonation, v_old.expires_at)
            IS NOT DISTINCT FROM (v_tok.user_id, v_tok.resource_type, v_tok.resource_id, v_tok.impersonation, v_tok.expires_at) THEN
            v_r := v_tok.revoked::int - v_old.revoked::int;
            v_a1 := CASE WHEN v_tok.impersonation THEN 0 ELSE -v_r END;
            v_a2 := CASE WHEN v_tok.impersonation THEN 0 ELSE v_r END;
            v_a3 := CASE WHEN v_tok.impersonation THEN -v_r ELSE 0 END;
            v_a4 := CASE WHEN v_tok.impersonation THEN v_r ELSE 0 END;
            v_e := -v_r;
            INSERT INTO token_counts AS c (scope, resource_type, id, stripe, n, n_revoked, n_imp, n_imp_revoked)
            SELECT k.scope, k.resource_type, k.id, v_stripe, v_a1, v_a2, v_a3, v_a4
            FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
                AS k (scope, resource_type, id)
            WHERE k.scope < 2 OR v_tok.resource_type <> ''
            ON CONFLICT (scope, resource_type, id, stripe) DO UPDATE SET
                n = c.n + excluded.n, n_revoked = c.n_revoked + excluded.n_revoked,
                n_imp = c.n_imp + excluded.n_imp, n_imp_revoked = c.n_imp_revoked + excluded.n_imp_revoked;
            IF v_e <> 0 THEN
                INSERT INTO token_expiry_counts AS c (scope, resource_type, id, level, expires_at, stripe, n, n_imp)
                SELECT k.scope, k.resource_type, k.id, l.level, l.expires_at, v_stripe,
                       CASE WHEN v_tok.impersonation THEN 0 ELSE v_e END, CASE WHEN v_tok.impersonation THEN v_e ELSE 0 END
                FROM (VALUES (0::smallint, ''::text, 0::bigint), (1, '', v_tok.user_id), (2, v_tok.resource_type, v_tok.resource_id))
                    AS k (scope, resource_type, id)
                CROSS JOIN (VALUES (0::smallint, v_tok.expires_at), (1, token_expiry_block(v_tok.expires_at))) AS l (level, expires_at)
                WHERE (k.scope < 2 OR v_tok.resource_type <> '') AND l.expires_at IS NOT NULL
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

-- From here on, no write to tokens until the migration commits: no
-- statement is counted by both the old triggers and the new, or by
-- neither.
LOCK TABLE tokens IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER IF EXISTS token_counts_insert ON tokens;
DROP TRIGGER IF EXISTS token_counts_delete ON tokens;
DROP TRIGGER IF EXISTS token_counts_update ON tokens;
DROP TRIGGER IF EXISTS token_expiry_counts_insert ON tokens;
DROP TRIGGER IF EXISTS token_expiry_counts_delete ON tokens;
DROP TRIGGER IF EXISTS token_expiry_counts_update ON tokens;
DROP FUNCTION IF EXISTS token_counts_insert(), token_counts_delete(), token_counts_update(),
    token_expiry_counts_insert(), token_expiry_counts_delete(), token_expiry_counts_update();

DROP TRIGGER IF EXISTS token_counters_insert ON tokens;
CREATE TRIGGER token_counters_insert AFTER INSERT ON tokens
    REFERENCING NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counters_insert();
DROP TRIGGER IF EXISTS token_counters_delete ON tokens;
CREATE TRIGGER token_counters_delete AFTER DELETE ON tokens
    REFERENCING OLD TABLE AS old_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counters_delete();
DROP TRIGGER IF EXISTS token_counters_update ON tokens;
CREATE TRIGGER token_counters_update AFTER UPDATE ON tokens
    REFERENCING OLD TABLE AS old_tokens NEW TABLE AS new_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION token_counters_update();
