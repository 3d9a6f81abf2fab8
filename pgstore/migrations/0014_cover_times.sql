-- patkit pgstore migration 0014: the indexes of all tokens INCLUDE
-- created_at and last_used_at, as those of one owner or resource do.
--
-- A list of all tokens bounded on one time and sorted by another (see
-- BoundPlan in internal/sqlq) reads the bound's range of the index of its
-- key and sorts it by the order's key. The four indexes of all tokens of
-- 0003 INCLUDEd revoked, expires_at and impersonation (and
-- tokens_last_used_idx last_used_at), so that read was an index-only scan
-- only where the bound's index held the sort key's column: the tokens
-- expiring after a time sorted by creation, or created after a time sorted
-- by last use, read the table for every token of the range, and so did
-- the walk of one key's index (a time's or the name's) filtered on
-- another time. Each index now
-- INCLUDEs revoked, expires_at, impersonation, created_at and
-- last_used_at, less its own key column (created_at in
-- tokens_created_idx); the keys, names and order are those of 0003.
--
-- At 1,000,000 tokens (benchtable's dataset, EXPLAIN (ANALYZE, BUFFERS),
-- warm cache, after VACUUM): the range of the 62,359 tokens expiring after
-- 180 days, sorted by creation for a page of 20, took 10.8 ms and 587
-- buffers instead of 33.9 ms and 7,690 (a bitmap heap scan of 7,241
-- table pages before); the 123,279 tokens created in the last 90 days,
-- sorted by last use, 20.8 ms and 998 buffers instead of 34.7 ms and
-- 4,602. The walks of one key's index filtered on another time no longer
-- read the table either: on TestExplainMillion's tokens (one run each, so
-- roughly), a page of the tokens used after a time sorted by name took
-- 72 ms instead of 196, sorted by creation 61 instead of 181, and one of
-- those used before a time sorted by expiry, descending, 6.7 ms instead
-- of 94. Of that test's 509 page plans, 20 of all tokens became index-only
-- scans of the index they read before; none other changed, those of one
-- owner or resource read the same indexes. The four indexes grew from 238
-- to 290 MB (tokens_created_idx 55 to 63 MB, tokens_expiry_idx 55 to 72,
-- tokens_last_used_idx 63 to 72, tokens_name_idx 65 to 83).
--
-- A write stores the same index entries as before, a little longer:
-- SetLastUsed was already not a HOT update (last_used_at is in
-- tokens_last_used_idx and the owner's indexes; none of 1,000 was HOT,
-- pg_stat_user_tables, before or after), so every index of the token got
-- an entry already. Measured in WAL (pg_walinspect, the records of the
-- statement's transaction, found by the xmin of the row it wrote; 1,000
-- creates then 1,000 SetLastUsed of personal tokens through the Store,
-- alternating between a schema at 0013 and one at 0014, each with 5,000
-- tokens first): a create wrote 32 records either way, 2,803 and 2,851
-- bytes (median; mean 3,428 and 3,537 with the page splits), a
-- SetLastUsed 15 records, 1,467 and 1,515 bytes (mean 1,596 and 1,665):
-- 48 bytes more a statement, in its four tuples of these indexes (8 for
-- each time added, and 8 for a null bitmap where last_used_at, NULL, is
-- the first NULL of a tuple).
--
-- An index that lacks created_at or last_used_at is built again with
-- them under a new name, and only once all are built is the old one
-- dropped and the new one given its name; one that has them is left
-- alone, so running the migration again (or MigrationSQL, whose 0003 then
-- finds the indexes there) does nothing. The builds lock writes out of
-- tokens (CREATE INDEX takes a SHARE lock, which waits for the
-- transactions that wrote tokens) until the migration commits; reads,
-- authentication among them, go on meanwhile. DROP INDEX then takes tokens
-- exclusively, reads too, for the rest of the transaction, which is short
-- when this is the last migration to apply. Until the old indexes are
-- dropped the disk holds both. At 1,000,000 tokens the builds took 8.6 s
-- (psql, maintenance_work_mem 64MB, on two shared CPUs), the drops,
-- renames and commit 0.1 s.

DO $$
DECLARE
    v_ix    record;
    v_name  text;
    v_stale text[] := '{}';
BEGIN
    FOR v_ix IN SELECT * FROM (VALUES
        ('tokens_created_idx', '(created_at, id) INCLUDE (revoked, expires_at, impersonation, last_used_at)'),
        ('tokens_expiry_idx', '((coalesce(expires_at, ''infinity''::timestamptz)), id) INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)'),
        ('tokens_last_used_idx', '((coalesce(last_used_at, ''infinity''::timestamptz)), id) INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)'),
        ('tokens_name_idx', '(name COLLATE "C", id) INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at)')
    ) AS v (name, def)
    LOOP
        IF EXISTS (SELECT FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                   WHERE c.relname = v_ix.name AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
                   AND NOT ARRAY(SELECT a.attnum FROM pg_attribute AS a
                                 WHERE a.attrelid = i.indrelid AND a.attname IN ('created_at', 'last_used_at'))
                       <@ i.indkey::int2[]) THEN
            EXECUTE format('CREATE INDEX %I ON tokens %s', v_ix.name || '_0014', v_ix.def);
            v_stale := v_stale || v_ix.name;
        END IF;
    END LOOP;
    FOREACH v_name IN ARRAY v_stale
    LOOP
        EXECUTE format('DROP INDEX %I', v_name);
        EXECUTE format('ALTER INDEX %I RENAME TO %I', v_name || '_0014', v_name);
    END LOOP;
END $$;

-- Where an index is missing altogether.
CREATE INDEX IF NOT EXISTS tokens_created_idx ON tokens (created_at, id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_expiry_idx ON tokens ((coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_last_used_idx ON tokens ((coalesce(last_used_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_name_idx ON tokens (name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
