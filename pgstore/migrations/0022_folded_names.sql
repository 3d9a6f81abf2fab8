-- patkit pgstore migration 0022: name_folded, the name lower-cased as
-- ILIKE compares it, stored, and held by the indexes of one owner's or
-- resource's names.
--
-- A search by words keeps the tokens whose name contains each word,
-- ignoring case: name ILIKE '%word%'. PostgreSQL's ILIKE lower-cases the
-- name it tests, at every test; within one owner or resource the search
-- and its count test each name of the scope (read from the scope's index
-- of names, tokens_user_name_idx or tokens_resource_name_idx), and the
-- lower-casing was most of the time. name_folded is lower(name), computed
-- by PostgreSQL when a row is written (by the Store or by a host's own
-- SQL alike: a generated column), and List tests name_folded LIKE
-- lower('%word%'), which keeps the same tokens: ILIKE is lower(name) LIKE
-- lower(pattern) under the column's collation. The two indexes of names
-- INCLUDE it, so the test reads it from the entry.
--
-- At 1,000,000 tokens (benchtable's dataset), the count of the 9,990
-- tokens of one owner whose names all hold "deploy" took 4.13 ms with
-- ILIKE on the indexed name and 1.12 ms with LIKE on an INCLUDEd
-- lower-cased copy (pgbench, one client, an AMD EPYC; 0.68 ms counting
-- the entries without a test), in a copy of the names, owners and index.
--
-- The trigram index of names (see The search index in the package
-- documentation), where it exists, is built again on name_folded, which
-- the search now tests, with the operator class of the old one, and the
-- old one dropped. Migrate creates it on name_folded where none exists.
-- Where the role may not use the extension's schema (a DBA made the
-- index), the old one is dropped all the same, and the migration goes on:
-- searches work without it, and SearchIndexed reports false until the
-- DBA builds it on name_folded.
--
-- Adding the column writes the table again, with all its indexes, then
-- the two indexes of names and the trigram index are built again. ALTER
-- TABLE takes tokens exclusively, reads too, until the migration commits:
-- authentication waits meanwhile. At 1,000,000 tokens (benchtable's
-- schema at 0021, psql, two shared CPUs of an AMD EPYC) the ALTER took
-- 19.1 s, the builds 4.4 s and the commit 0.4 s.

ALTER TABLE tokens ADD COLUMN IF NOT EXISTS name_folded text GENERATED ALWAYS AS (lower(name)) STORED;

DO $$
DECLARE
    v_ix    record;
    v_name  text;
    v_stale text[] := '{}';
    v_ops   text;
BEGIN
    FOR v_ix IN SELECT * FROM (VALUES
        ('tokens_user_name_idx', '(user_id, name COLLATE "C", id) INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at, name_folded)'),
        ('tokens_resource_name_idx', '(resource_type, resource_id, name COLLATE "C", id) INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at, name_folded) WHERE resource_type <> ''''')
    ) AS v (name, def)
    LOOP
        IF EXISTS (SELECT FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                   WHERE c.relname = v_ix.name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                   AND NOT (SELECT a.attnum FROM pg_attribute AS a
                            WHERE a.attrelid = i.indrelid AND a.attname = 'name_folded') = ANY (i.indkey::int2[])) THEN
            EXECUTE format('CREATE INDEX %I ON tokens %s', v_ix.name || '_0022', v_ix.def);
            v_stale := v_stale || v_ix.name;
        END IF;
    END LOOP;

    -- The trigram index on name, with its operator class, qualified.
    SELECT format('%I.%I', n.nspname, o.opcname), o.opcamname INTO v_ops, v_name
    FROM (SELECT o.opcname, o.opcnamespace, am.amname AS opcamname
          FROM pg_index AS i
          JOIN pg_class AS c ON c.oid = i.indexrelid
          JOIN pg_opclass AS o ON o.oid = i.indclass[0]
          JOIN pg_am AS am ON am.oid = o.opcmethod
          JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
          WHERE c.relname = 'tokens_name_trgm_idx'
          AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          AND a.attname = 'name') AS o
    JOIN pg_namespace AS n ON n.oid = o.opcnamespace;
    IF v_ops IS NOT NULL THEN
        BEGIN
            EXECUTE format('CREATE INDEX tokens_name_trgm_idx_0022 ON tokens USING %s (name_folded %s)', v_name, v_ops);
            v_stale := v_stale || 'tokens_name_trgm_idx'::text;
        EXCEPTION WHEN insufficient_privilege THEN
            -- The role may not use the extension's schema (a DBA made
            -- the index): the index on name serves no search any more;
            -- Migrate makes one on name_folded once the role may.
            DROP INDEX tokens_name_trgm_idx;
        END;
    END IF;

    FOREACH v_name IN ARRAY v_stale
    LOOP
        EXECUTE format('DROP INDEX %I', v_name);
        EXECUTE format('ALTER INDEX %I RENAME TO %I', v_name || '_0022', v_name);
    END LOOP;
END $$;

-- Where an index of names is missing altogether.
CREATE INDEX IF NOT EXISTS tokens_user_name_idx ON tokens (user_id, name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at, name_folded);
CREATE INDEX IF NOT EXISTS tokens_resource_name_idx ON tokens (resource_type, resource_id, name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at, name_folded)
    WHERE resource_type <> '';
