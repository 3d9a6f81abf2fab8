-- patkit pgstore migration 0003: the indexes of list pages and counts, one
-- per scope and order.
--
-- A page of Store.List reads one index in its order and stops after the
-- page: for every scope (all tokens; one owner, user_id; one project or
-- group, resource_type and resource_id) and every sort key (id,
-- created_at, name COLLATE "C", and the sort keys of the nullable times,
-- coalesce(expires_at, 'infinity') and the same of last_used_at, under
-- which NULL, never, sorts after every time), an index on the scope, the
-- key and id; read backwards, the same index serves the descending sort.
-- Across all tokens the primary key serves the default order.
--
-- The state filters are ranges of the expiry key (active: NOT revoked and
-- key > now). Every index INCLUDEs the columns the state filters read
-- (revoked, expires_at), impersonation, and, for one owner's or resource's
-- tokens, the times the other filters bound, so that finding a page's IDs
-- (see IDsFirst in internal/sqlq) and counting the matches of a scope are
-- index-only scans: the table is read only for the rows of the page, and
-- for pages not yet all-visible (see VACUUM).
--
-- The indexes on the plain nullable times are dropped: lists no longer
-- order or filter by those columns. Building these locks writes out of
-- tokens for the time it takes (seconds at a million tokens).

DROP INDEX IF EXISTS tokens_user_id_id_idx;
DROP INDEX IF EXISTS tokens_resource_idx;
DROP INDEX IF EXISTS tokens_created_at_id_idx;
DROP INDEX IF EXISTS tokens_expires_at_id_idx;
DROP INDEX IF EXISTS tokens_last_used_at_id_idx;
DROP INDEX IF EXISTS tokens_name_id_idx;

-- All tokens.
CREATE INDEX IF NOT EXISTS tokens_created_idx ON tokens (created_at, id)
    INCLUDE (revoked, expires_at, impersonation);
CREATE INDEX IF NOT EXISTS tokens_expiry_idx ON tokens ((coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation);
CREATE INDEX IF NOT EXISTS tokens_last_used_idx ON tokens ((coalesce(last_used_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_name_idx ON tokens (name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation);

-- One owner's tokens.
CREATE INDEX IF NOT EXISTS tokens_user_idx ON tokens (user_id, id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_user_created_idx ON tokens (user_id, created_at, id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_user_expiry_idx ON tokens (user_id, (coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_user_last_used_idx ON tokens (user_id, (coalesce(last_used_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_user_name_idx ON tokens (user_id, name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);

-- One project's or group's tokens.
CREATE INDEX IF NOT EXISTS tokens_resource_id_idx ON tokens (resource_type, resource_id, id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_resource_created_idx ON tokens (resource_type, resource_id, created_at, id)
    INCLUDE (revoked, expires_at, impersonation, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_resource_expiry_idx ON tokens (resource_type, resource_id, (coalesce(expires_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_resource_last_used_idx ON tokens (resource_type, resource_id, (coalesce(last_used_at, 'infinity'::timestamptz)), id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
CREATE INDEX IF NOT EXISTS tokens_resource_name_idx ON tokens (resource_type, resource_id, name COLLATE "C", id)
    INCLUDE (revoked, expires_at, impersonation, created_at, last_used_at);
