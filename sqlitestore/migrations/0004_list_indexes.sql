-- 0004: the indexes of list pages and counts, one per scope and order.
--
-- A page of Store.List reads one index in its order and stops after the
-- page: for every scope (all tokens; one owner, user_id; one project or
-- group, resource_type and resource_id) and every sort key (id,
-- created_at, name, and the sort keys of the nullable times,
-- coalesce(expires_at, 9223372036854775807) and the same of last_used_at,
-- under which NULL, never, sorts after every time), an index on the scope,
-- the key and id. Read backwards, the same index serves the descending
-- sort. Across all tokens the table itself (the rowid is id) serves the
-- default order.
--
-- After id, each index holds the columns the filters read: the expiry
-- key (the state filters: active is revoked = 0 AND key > now, a range of
-- the expiry indexes), impersonation, and, for one owner's or resource's
-- tokens, created_at and the last-used key. SQLite evaluates the
-- conditions on them from the index entry, so that walking past the
-- tokens a filter rejects reads no table row. revoked is in the expiry
-- indexes only, so that counting the active or inactive tokens of a scope
-- reads an index alone while a revocation rewrites three index entries; a
-- SetLastUsed rewrites those that hold the last-used key, six for a
-- personal token (at most once per token every ten minutes).

-- The indexes on the plain nullable times are dropped: lists no longer
-- order or filter by those columns. The others are replaced by ones with
-- the filtered columns.
DROP INDEX IF EXISTS {{prefix}}tokens_user_id;
DROP INDEX IF EXISTS {{prefix}}tokens_resource;
DROP INDEX IF EXISTS {{prefix}}tokens_created_at;
DROP INDEX IF EXISTS {{prefix}}tokens_expires_at;
DROP INDEX IF EXISTS {{prefix}}tokens_last_used_at;
DROP INDEX IF EXISTS {{prefix}}tokens_name;
-- Only a rotation sets previous_id: the others need no entry.
DROP INDEX IF EXISTS {{prefix}}tokens_previous_id;
CREATE INDEX {{prefix}}tokens_previous_id ON {{prefix}}tokens (previous_id) WHERE previous_id IS NOT NULL;

-- All tokens; the table itself serves the default order.
CREATE INDEX {{prefix}}tokens_created ON {{prefix}}tokens (created_at, id, coalesce(expires_at, 9223372036854775807), impersonation);
CREATE INDEX {{prefix}}tokens_expiry ON {{prefix}}tokens (coalesce(expires_at, 9223372036854775807), id, revoked, impersonation);
CREATE INDEX {{prefix}}tokens_last_used ON {{prefix}}tokens (coalesce(last_used_at, 9223372036854775807), id, coalesce(expires_at, 9223372036854775807), impersonation);
CREATE INDEX {{prefix}}tokens_name ON {{prefix}}tokens (name, id, coalesce(expires_at, 9223372036854775807), impersonation);

-- One owner's tokens.
CREATE INDEX {{prefix}}tokens_user ON {{prefix}}tokens (user_id, id, coalesce(expires_at, 9223372036854775807), impersonation, created_at, coalesce(last_used_at, 9223372036854775807));
CREATE INDEX {{prefix}}tokens_user_created ON {{prefix}}tokens (user_id, created_at, id, coalesce(expires_at, 9223372036854775807), impersonation, coalesce(last_used_at, 9223372036854775807));
CREATE INDEX {{prefix}}tokens_user_expiry ON {{prefix}}tokens (user_id, coalesce(expires_at, 9223372036854775807), id, revoked, impersonation, created_at, coalesce(last_used_at, 9223372036854775807));
CREATE INDEX {{prefix}}tokens_user_last_used ON {{prefix}}tokens (user_id, coalesce(last_used_at, 9223372036854775807), id, coalesce(expires_at, 9223372036854775807), impersonation, created_at);
CREATE INDEX {{prefix}}tokens_user_name ON {{prefix}}tokens (user_id, name, id, coalesce(expires_at, 9223372036854775807), impersonation, created_at, coalesce(last_used_at, 9223372036854775807));

-- One project's or group's tokens: partial indexes, which the creation of a
-- personal token does not write (resource_type = ? implies IS NOT NULL).
CREATE INDEX {{prefix}}tokens_resource ON {{prefix}}tokens (resource_type, resource_id, id, coalesce(expires_at, 9223372036854775807), impersonation, created_at, coalesce(last_used_at, 9223372036854775807)) WHERE resource_type IS NOT NULL;
CREATE INDEX {{prefix}}tokens_resource_created ON {{prefix}}tokens (resource_type, resource_id, created_at, id, coalesce(expires_at, 9223372036854775807), impersonation, coalesce(last_used_at, 9223372036854775807)) WHERE resource_type IS NOT NULL;
CREATE INDEX {{prefix}}tokens_resource_expiry ON {{prefix}}tokens (resource_type, resource_id, coalesce(expires_at, 9223372036854775807), id, revoked, impersonation, created_at, coalesce(last_used_at, 9223372036854775807)) WHERE resource_type IS NOT NULL;
CREATE INDEX {{prefix}}tokens_resource_last_used ON {{prefix}}tokens (resource_type, resource_id, coalesce(last_used_at, 9223372036854775807), id, coalesce(expires_at, 9223372036854775807), impersonation, created_at) WHERE resource_type IS NOT NULL;
CREATE INDEX {{prefix}}tokens_resource_name ON {{prefix}}tokens (resource_type, resource_id, name, id, coalesce(expires_at, 9223372036854775807), impersonation, created_at, coalesce(last_used_at, 9223372036854775807)) WHERE resource_type IS NOT NULL;

-- The exact name search: the tokens of one name, then sorted.
CREATE INDEX {{prefix}}tokens_name_folded ON {{prefix}}tokens (name_folded);
