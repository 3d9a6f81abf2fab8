-- patkit pgstore migration 0009: the indexes of one project's or group's
-- tokens hold only project and group tokens.
--
-- The five indexes of 0003 on (resource_type, resource_id, ...) held every
-- token, the personal and impersonation tokens (resource_type '') too,
-- which no list of a project or group reads. Each create wrote their five
-- entries, and so did each revocation, which is not a HOT update (revoked
-- is in the indexes): of the 18 B-tree entries of a personal token, 5 went to
-- these. Each index is now partial, WHERE resource_type <> ''. A list of
-- one resource's tokens filters on resource_type = 'project' (or 'group')
-- and is planned for its arguments (List plans its page and its time
-- bound counts at every execution), so the planner proves the predicate
-- and reads the same index as before, with the same entries. In the
-- server, at 1,000,000 tokens (callgrind of a single-user backend), a
-- create went from 1.25 to 1.16 million instructions and a revocation
-- from 1.71 to 1.56 million; a create writes 31 WAL records instead of
-- 36, a revocation 37 instead of 41 (pg_waldump, a fifth of the tokens
-- revoked being project or group tokens).
--
-- An index without the predicate is dropped and built again with it,
-- under the same name; one that has it already is left alone, so running
-- the migration again does nothing. Building them locks writes out of
-- tokens for the time it takes (a few seconds at a million tokens, of
-- which a fifth are project or group tokens).

DO $$
DECLARE
    v_name text;
BEGIN
    FOREACH v_name IN ARRAY ARRAY['tokens_resource_id_idx', 'tokens_resource_created_idx',
        'tokens_resource_expiry_idx', 'tokens_resource_last_used_idx', 'tokens_resource_name_idx']
    LOOP
        IF EXISTS (SELECT FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                   WHERE c.relname = v_name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                   AND i.indpred IS NULL) THEN
            EXECUTE format('DROP INDEX %I', v_name);
        END IF;
    END LOOP;
END $$;

CREATE INDEX IF NOT EXISTS tokens_resource_id_idx ON tokens (resource_type, resource_id, id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE resource_type <> '';
CREATE INDEX IF NOT EXISTS tokens_resource_created_idx ON tokens (resource_type, resource_id, created_at, id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at)
    WHERE resource_type <> '';
CREATE INDEX IF NOT EXISTS tokens_resource_expiry_idx ON tokens (resource_type, resource_id, (coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE resource_type <> '';
CREATE INDEX IF NOT EXISTS tokens_resource_last_used_idx ON tokens (resource_type, resource_id, (coalesce(last_used_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE resource_type <> '';
CREATE INDEX IF NOT EXISTS tokens_resource_name_idx ON tokens (resource_type, resource_id, name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)
    WHERE resource_type <> '';
