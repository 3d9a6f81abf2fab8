-- 0002: patkit_meta, values the Store keeps about the database as a whole,
-- by name: 'key_check' is the key check value of patkit.KeyStore, which
-- tells which instance key the tokens' digests are made with.
CREATE TABLE {{prefix}}patkit_meta (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
