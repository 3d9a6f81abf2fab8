-- 0001: the tokens table and its indexes.
--
-- Times are integer Unix microseconds, UTC. NULL expires_at means the token
-- never expires, NULL last_used_at that it was never used, NULL resource_type
-- (and resource_id 0) a personal or impersonation token, NULL previous_id a token not created by
-- rotation. name_folded is the name lower-cased by Go's strings.ToLower, so
-- that search folds case exactly as patkit.SearchTerms.Match does.
CREATE TABLE {{prefix}}tokens (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id       INTEGER NOT NULL,
	name          TEXT    NOT NULL,
	name_folded   TEXT    NOT NULL,
	description   TEXT    NOT NULL DEFAULT '',
	scopes        TEXT    NOT NULL DEFAULT '[]',
	impersonation INTEGER NOT NULL DEFAULT 0,
	resource_type TEXT,
	resource_id   INTEGER NOT NULL DEFAULT 0,
	access_level  INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER,
	revoked       INTEGER NOT NULL DEFAULT 0,
	last_used_at  INTEGER,
	last_used_ips TEXT    NOT NULL DEFAULT '[]',
	previous_id   INTEGER,
	digest        BLOB    NOT NULL UNIQUE
);

CREATE INDEX {{prefix}}tokens_user_id ON {{prefix}}tokens (user_id, id);
CREATE INDEX {{prefix}}tokens_resource ON {{prefix}}tokens (resource_type, resource_id, id);
CREATE INDEX {{prefix}}tokens_previous_id ON {{prefix}}tokens (previous_id);
CREATE INDEX {{prefix}}tokens_created_at ON {{prefix}}tokens (created_at, id);
CREATE INDEX {{prefix}}tokens_expires_at ON {{prefix}}tokens (expires_at, id);
CREATE INDEX {{prefix}}tokens_last_used_at ON {{prefix}}tokens (last_used_at, id);
CREATE INDEX {{prefix}}tokens_name ON {{prefix}}tokens (name, id);
