-- patkit pgstore migration 0011: the primary keys of token_counts and
-- token_expiry_counts end with resource_type.
--
-- Every write of a token looks up its counter rows in these keys, 6 to 9
-- of them (the check of ON CONFLICT), and a key compared past its text
-- column, resource_type, compares it through the collation's function and
-- then finds each later column by walking the index tuple from its start:
-- the offsets of columns after one of variable length are not cached. Most
-- comparisons went that far, since resource_type is '' in every row of
-- scopes 0 and 1, and a scope's rows share their first three columns. With
-- resource_type last, a comparison reads the fixed-width columns at cached
-- offsets and reaches the text column only to tell apart a project and a
-- group of the same id. The keys are the same sets of columns: the ON
-- CONFLICT clauses of the triggers name them in any order, and a count
-- still reads one range of the index per scope and level, in which it
-- skips the rows of a project or group that shares its resource's id. In
-- the server, at 1,000,000 tokens (callgrind of a single-user backend,
-- three runs of each order, alternating), a create went from 1.12 to 1.20
-- million instructions to 1.09 to 1.13 million, and a revocation from 1.43
-- to 1.46 million to 1.32 to 1.34 million; the WAL records are the same.
--
-- A key in the old order is dropped and built again in the new one, under
-- the same name; one in the new order is left alone, so running the
-- migration again does nothing. Building them locks writes out of tokens
-- for the time it takes (the triggers wait for the counter tables; well
-- under a second for a few hundred thousand counter rows).
--
-- Run it with search_path set to the schema, in one transaction, after
-- 0004 and 0007.

DO $$
BEGIN
    IF (SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'token_counts'::regclass AND contype = 'p')
        IS DISTINCT FROM 'PRIMARY KEY (scope, id, stripe, resource_type)' THEN
        ALTER TABLE token_counts DROP CONSTRAINT IF EXISTS token_counts_pkey,
            ADD CONSTRAINT token_counts_pkey PRIMARY KEY (scope, id, stripe, resource_type);
    END IF;
    IF (SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'token_expiry_counts'::regclass AND contype = 'p')
        IS DISTINCT FROM 'PRIMARY KEY (scope, id, level, expires_at, stripe, resource_type)' THEN
        ALTER TABLE token_expiry_counts DROP CONSTRAINT IF EXISTS token_expiry_counts_pkey,
            ADD CONSTRAINT token_expiry_counts_pkey PRIMARY KEY (scope, id, level, expires_at, stripe, resource_type);
    END IF;
END $$;
