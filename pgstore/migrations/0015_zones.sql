-- patkit pgstore migration 0015: zones, bounds of the times of every
-- 1,024 tokens by ID, so that a list of all tokens bounded on one time and
-- sorted by another time or ID starts its walk of that key's index where
-- a match may first be.
--
-- A list of all tokens bounded in time against the order of another key
-- (used in the last week, oldest expiry first) walks the index of its
-- order, testing the bound on each entry, or reads the bound's whole
-- range and sorts it (see BoundPlan in internal/sqlq). Times are
-- correlated (a token is created, used and expires in that order, and
-- its ID grows with its creation), so that walk can read most of the
-- index before its first match. The tokens of a zone (id >> 10) were
-- created together, so their times are close: the least key of the zones
-- whose bounds meet the list's is where its walk starts, skipping the
-- part of the order that holds no match.
--
-- A zone's bounds are never narrower than its tokens' keys, and may be
-- wider: the trigger widens them when a token is created and when its
-- times change (its last use, in practice), and never narrows them. The
-- greatest times have an hour of slack, and the trigger reads the row
-- before it writes it: tokens created, or used, within the hour leave it
-- as it is, unlocked, so that concurrent creates do not wait for each
-- other's commit on it. Unlike SQLite's zones, these hold no names: names
-- that grow with each create ("ci 2026-12-02 16:40:01") widened the zone
-- in every create, and sixteen concurrent creates made 500 a second
-- instead of 1,370 (pgbench at 1,000,000 tokens), each waiting for the
-- commit of the one before. expires_lo and used_lo are the least keys,
-- coalesce(time, 'infinity'), expires_hi and used_hi the greatest times
-- (NULL when none has one), and expires_never and used_never whether a
-- token has none.
--
-- The rule is written once, in token_zones_widen(z): it widens zone
-- z.zone to z's bounds, or adds it. The trigger gives it one token's keys;
-- this migration, for the tokens already there, each zone's least and
-- greatest (1,000 calls at 1,000,000 tokens). Every statement may run
-- again.
--
-- A widened zone is a new version of its row; the table is filled to
-- half its pages (fillfactor 50), so that the new version goes in the
-- same page (a HOT update, the zone's key unchanged) and the old ones are
-- pruned there, and the table stays the size of its rows.
--
-- Run it with search_path set to the schema, in one transaction
-- (Migrate and MigrationSQL do).

CREATE TABLE IF NOT EXISTS token_zones (
    zone          bigint PRIMARY KEY,
    created_lo    timestamptz NOT NULL,
    created_hi    timestamptz NOT NULL,
    expires_lo    timestamptz NOT NULL,
    expires_hi    timestamptz,
    expires_never boolean NOT NULL,
    used_lo       timestamptz NOT NULL,
    used_hi       timestamptz,
    used_never    boolean NOT NULL
) WITH (fillfactor = 50);

CREATE OR REPLACE FUNCTION token_zones_widen(z token_zones) RETURNS void
LANGUAGE sql SET search_path FROM CURRENT AS $$
    INSERT INTO token_zones AS t SELECT (z).*
    ON CONFLICT (zone) DO UPDATE SET
        created_lo = least(t.created_lo, excluded.created_lo), created_hi = greatest(t.created_hi, excluded.created_hi),
        expires_lo = least(t.expires_lo, excluded.expires_lo), expires_hi = greatest(t.expires_hi, excluded.expires_hi),
        expires_never = t.expires_never OR excluded.expires_never,
        used_lo = least(t.used_lo, excluded.used_lo), used_hi = greatest(t.used_hi, excluded.used_hi),
        used_never = t.used_never OR excluded.used_never;
$$;

SELECT token_zones_widen(ROW(id >> 10, min(created_at), max(created_at) + interval '1 hour',
       min(coalesce(expires_at, 'infinity')), max(expires_at) + interval '1 hour', bool_or(expires_at IS NULL),
       min(coalesce(last_used_at, 'infinity')), max(last_used_at) + interval '1 hour', bool_or(last_used_at IS NULL))::token_zones)
FROM tokens GROUP BY id >> 10;

-- The token's keys, unless its zone's bounds hold them already: then
-- the row is only read, not locked.
CREATE OR REPLACE FUNCTION token_zones_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM token_zones AS z
    WHERE z.zone = NEW.id >> 10
      AND NEW.created_at BETWEEN z.created_lo AND z.created_hi
      AND coalesce(NEW.expires_at, 'infinity') >= z.expires_lo
      AND (NEW.expires_at IS NULL AND z.expires_never OR NEW.expires_at <= z.expires_hi)
      AND coalesce(NEW.last_used_at, 'infinity') >= z.used_lo
      AND (NEW.last_used_at IS NULL AND z.used_never OR NEW.last_used_at <= z.used_hi);
    IF NOT FOUND THEN
        PERFORM token_zones_widen(ROW(NEW.id >> 10, NEW.created_at, NEW.created_at + interval '1 hour',
            coalesce(NEW.expires_at, 'infinity'), NEW.expires_at + interval '1 hour', NEW.expires_at IS NULL,
            coalesce(NEW.last_used_at, 'infinity'), NEW.last_used_at + interval '1 hour', NEW.last_used_at IS NULL)::token_zones);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS token_zones_widen ON tokens;
CREATE TRIGGER token_zones_widen AFTER INSERT OR UPDATE OF created_at, expires_at, last_used_at ON tokens
FOR EACH ROW EXECUTE FUNCTION token_zones_trigger();
