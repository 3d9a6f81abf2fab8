-- 0015: zones, bounds of the times and names of every 1,024 tokens by ID,
-- so that a list of all tokens bounded on one time and sorted by another
-- key starts its walk of that key's index where a match may first be.
--
-- A list of all tokens bounded in time against the order of another key
-- (used in the last week, oldest expiry first) walks the index of its
-- order, testing the bound on each entry. Times are correlated (a token
-- is created, used and expires in that order, and its ID grows with its
-- creation), so that walk read up to 660,000 of benchtable's 1,000,000
-- entries before its 20th match, or the list read and sorted the bound's
-- whole range instead: 5 to 83 ms for 16 such shapes (list-shapes-sqlite).
-- The tokens of a zone (id >> 10) were created together, so their times
-- are close: the least key of the zones whose bounds meet the list's is
-- where its walk starts (sqlq.Dialect.Bound), skipping the part of the
-- order that holds no match. From there the walk of tokens created in the
-- last 90 days in order of last use read 971 entries (0.2 ms), of those
-- expiring after 180 days by ID 4,387.
--
-- A zone's bounds are never narrower than its tokens' keys, and may be
-- wider: triggers widen them when a token is created and when its times
-- or name change (its last use, in practice), and never narrow them. The
-- greatest times have an hour of slack, so that tokens created, or used,
-- within the hour leave the row as it is (a write then reads it and no
-- more). expires_lo and used_lo are the least keys, coalesce(time,
-- Never), expires_hi and used_hi the greatest times (NULL when none has
-- one), and expires_never and used_never whether a token has none.
--
-- The rule is written once, in the trigger of the view tokens_zone_keys:
-- a row inserted into it (a token's ID and keys) widens its zone. The
-- triggers of tokens, and this migration for the tokens there are, insert
-- into it.
CREATE TABLE {{prefix}}tokens_zones (
	zone          INTEGER PRIMARY KEY,
	created_lo    INTEGER NOT NULL,
	created_hi    INTEGER NOT NULL,
	expires_lo    INTEGER NOT NULL,
	expires_hi    INTEGER,
	expires_never INTEGER NOT NULL,
	used_lo       INTEGER NOT NULL,
	used_hi       INTEGER,
	used_never    INTEGER NOT NULL,
	name_lo       TEXT    NOT NULL,
	name_hi       TEXT    NOT NULL
);

CREATE VIEW {{prefix}}tokens_zone_keys AS
	SELECT id, created_at, expires_at, last_used_at, name FROM {{prefix}}tokens WHERE 0;

CREATE TRIGGER {{prefix}}tokens_zone_keys_widen INSTEAD OF INSERT ON {{prefix}}tokens_zone_keys
BEGIN
	INSERT INTO {{prefix}}tokens_zones VALUES (NEW.id >> 10, NEW.created_at, NEW.created_at + 3600000000,
		coalesce(NEW.expires_at, 9223372036854775807), NEW.expires_at + 3600000000, NEW.expires_at IS NULL,
		coalesce(NEW.last_used_at, 9223372036854775807), NEW.last_used_at + 3600000000, NEW.last_used_at IS NULL,
		NEW.name, NEW.name)
	ON CONFLICT (zone) DO UPDATE SET
		created_lo = min(created_lo, excluded.created_lo), created_hi = max(created_hi, excluded.created_hi),
		expires_lo = min(expires_lo, excluded.expires_lo),
		expires_hi = coalesce(max(expires_hi, excluded.expires_hi), expires_hi, excluded.expires_hi),
		expires_never = max(expires_never, excluded.expires_never),
		used_lo = min(used_lo, excluded.used_lo),
		used_hi = coalesce(max(used_hi, excluded.used_hi), used_hi, excluded.used_hi),
		used_never = max(used_never, excluded.used_never),
		name_lo = min(name_lo, excluded.name_lo), name_hi = max(name_hi, excluded.name_hi)
	WHERE excluded.created_lo < created_lo OR NEW.created_at > created_hi
		OR excluded.expires_lo < expires_lo OR NEW.expires_at > coalesce(expires_hi, -9223372036854775808)
		OR excluded.expires_never > expires_never
		OR excluded.used_lo < used_lo OR NEW.last_used_at > coalesce(used_hi, -9223372036854775808)
		OR excluded.used_never > used_never
		OR excluded.name_lo < name_lo OR excluded.name_hi > name_hi;
END;

CREATE TRIGGER {{prefix}}tokens_zones_insert AFTER INSERT ON {{prefix}}tokens
BEGIN
	INSERT INTO {{prefix}}tokens_zone_keys VALUES (NEW.id, NEW.created_at, NEW.expires_at, NEW.last_used_at, NEW.name);
END;

CREATE TRIGGER {{prefix}}tokens_zones_update AFTER UPDATE OF created_at, expires_at, last_used_at, name ON {{prefix}}tokens
BEGIN
	INSERT INTO {{prefix}}tokens_zone_keys VALUES (NEW.id, NEW.created_at, NEW.expires_at, NEW.last_used_at, NEW.name);
END;

INSERT INTO {{prefix}}tokens_zone_keys SELECT id, created_at, expires_at, last_used_at, name FROM {{prefix}}tokens;
